// Trial workers over a real nats-server (JetStream): two `fedhpo worker` processes run a random-search
// study queued by `fedhpo study run --nats`; one worker is killed mid-trial and the other re-runs its
// trial once the heartbeats stop. The results equal an in-process run of the same seed.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { TrialWorker } from '../../src/actors/trial-worker.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';
import { readJournal } from '../../src/hpo/journal.js';
import { parseStudyConfig } from '../../src/hpo/study-config.js';
import { spawnFedhpo } from '../helpers/cli-process.js';
import { NatsServer } from '../helpers/nats-server.js';
import { completedSet, replayStudy, syntheticStudyDoc, tempDir, writeStudyYaml } from '../helpers/study-fixtures.js';

describe('trial workers over NATS JetStream', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start({ jetstream: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("two workers finish a study like one in-process run; a killed worker's trial is re-run by the other", async () => {
    const root = await tempDir();
    const doc = syntheticStudyDoc({
      seed: 5,
      fidelity: { rounds: 4 },
      budget: { trials: 8 },
      parallel: 2,
      workers: { ack_wait: 2 },
      trial: { kind: 'synthetic', noise: 0.02, delay_ms: 250 },
    });
    const file = await writeStudyYaml(root, doc);
    const dir = join(root, 'study');
    const w1 = spawnFedhpo(['worker', '--nats', server.url, '--name', 'w1']);
    const w2 = spawnFedhpo(['worker', '--nats', server.url, '--name', 'w2']);
    await Promise.all([w1.waitFor(/waiting for trials/), w2.waitFor(/waiting for trials/)]);
    const study = spawnFedhpo(['study', 'run', file, '--nats', server.url, '--out', dir]);

    // Kill w1 once its first trial has journaled a round: mid-trial, with rounds still to go.
    const line = await w1.waitFor(/trial \d+ \(attempt 1, delivery 1\)/);
    const victim = Number(/trial (\d+)/.exec(line)![1]);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(20)) {
      const events = await readJournal(dir).then(
        (j) => j.events,
        () => [],
      );
      if (events.some((e) => e.kind === 'trial.round' && e.id === victim)) break;
    }
    w1.kill('SIGKILL');

    expect(await study.exited, study.output()).toEqual({ code: 0, signal: null });
    w2.kill('SIGTERM');
    await w2.exited;

    const { events } = await readJournal(dir);
    const state = await replayStudy(dir);
    // The victim's trial: w1 started it, was declared lost, w2 ran it again (delivery 2) and it completed.
    expect(events.some((e) => e.kind === 'trial.started' && e.id === victim && e.delivery === 1 && e.worker === 'w1')).toBe(true);
    expect(events.some((e) => e.kind === 'worker.lost' && e.id === victim && e.worker === 'w1')).toBe(true);
    expect(events.some((e) => e.kind === 'trial.started' && e.id === victim && e.delivery === 2 && e.worker === 'w2')).toBe(true);
    expect(state.trials[victim]).toMatchObject({ status: 'complete', worker: 'w2' });
    // None lost or counted twice.
    const finished = events.filter((e) => e.kind === 'trial.finished').map((e) => (e as { id: number }).id);
    expect(finished.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(state.countByStatus().complete).toBe(8);
    expect(state.spentRounds).toBe(32);

    // The same results as one in-process run of the same seed.
    const clean = join(root, 'clean');
    await runStudy({ dir: clean, config: parseStudyConfig({ ...doc, trial: { kind: 'synthetic', noise: 0.02 } }, 'clean') });
    expect(completedSet(state)).toEqual(completedSet(await replayStudy(clean)));

    // A finished study leaves nothing on the server: its stream is deleted.
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    const streams: string[] = [];
    for await (const s of jsm.streams.list()) streams.push(s.config.name);
    await nc.close();
    expect(streams.filter((s) => s.startsWith('FEDHPO_STUDY_'))).toEqual([]);
  }, 180_000);

  it.each([
    ['bo', { strategy: 'bo', fidelity: { rounds: 3 }, budget: { trials: 10 } }],
    ['asha', { strategy: 'asha', fidelity: { min_rounds: 1, max_rounds: 9 }, budget: { trials: 14 } }],
  ] as const)(
    'two worker processes run a %s study: as many completed trials as in-process, none lost or counted twice',
    async (_name, patch) => {
      const root = await tempDir();
      const doc = syntheticStudyDoc({ seed: 9, parallel: 2, ...patch, trial: { kind: 'synthetic', noise: 0.02, delay_ms: 30 } });
      const file = await writeStudyYaml(root, doc);
      const dir = join(root, 'study');
      const workers = ['a', 'b'].map((n) => spawnFedhpo(['worker', '--nats', server.url, '--name', n]));
      await Promise.all(workers.map((w) => w.waitFor(/waiting for trials/)));
      const study = spawnFedhpo(['study', 'run', file, '--nats', server.url, '--out', dir]);
      expect(await study.exited, study.output()).toEqual({ code: 0, signal: null });
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));

      const { events } = await readJournal(dir);
      const state = await replayStudy(dir);
      const finished = events.filter((e) => e.kind === 'trial.finished').map((e) => (e as { id: number }).id);
      expect(new Set(finished).size).toBe(finished.length);
      expect(state.unfinished).toEqual([]);
      // Every trial ran on one of the two worker processes (which one takes which is up to the queue).
      const by = new Set(events.filter((e) => e.kind === 'trial.started').map((e) => (e as { worker?: string }).worker));
      for (const w of by) expect(['a', 'b']).toContain(w);
      // The budget is the journaled trials' rounds; the same number of completed trials as in one process.
      expect(state.spentRounds).toBe(events.reduce((n, e) => n + (e.kind === 'trial.finished' ? e.rounds : 0), 0));
      const clean = join(root, 'clean');
      await runStudy({ dir: clean, config: parseStudyConfig({ ...doc, trial: { kind: 'synthetic', noise: 0.02 } }, 'clean') });
      expect(state.countByStatus().complete).toBe((await replayStudy(clean)).countByStatus().complete);
    },
    180_000,
  );

  it('a scheduler killed with SIGKILL resumes: results published meanwhile are journaled once, nothing runs twice', async () => {
    const root = await tempDir();
    const doc = syntheticStudyDoc({
      seed: 9,
      budget: { trials: 8 },
      parallel: 2,
      workers: { ack_wait: 1 },
      trial: { kind: 'synthetic', delay_ms: 100 },
    });
    const dir = join(root, 'study');
    const transport = await NatsTransport.connect({ connection: { servers: [server.url] } });
    const worker = new TrialWorker({ transport, runnerFor: (c) => trialRunnerFor(c), name: 'tw' });
    const stopWorker = new AbortController();
    const working = worker.run(stopWorker.signal);
    try {
      const scheduler = spawnFedhpo(['study', 'run', await writeStudyYaml(root, doc), '--nats', server.url, '--out', dir]);
      for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(20)) {
        const events = await readJournal(dir).then(
          (j) => j.events,
          () => [],
        );
        if (events.filter((e) => e.kind === 'trial.finished').length >= 2) break;
      }
      scheduler.kill('SIGKILL');
      await scheduler.exited;
      const before = (await readJournal(dir)).events.filter((e) => e.kind === 'trial.finished').length;
      // The worker finishes what was queued while the scheduler is away (longer than ack_wait: redeliveries find the results).
      await sleep(3000);
      expect(await runStudy({ dir, nats: { servers: [server.url] } })).toMatchObject({ state: 'finished', reason: 'budget: trials' });
      const { events } = await readJournal(dir);
      const finished = events.filter((e) => e.kind === 'trial.finished').map((e) => (e as { id: number }).id);
      expect(finished.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(before).toBeLessThan(8);
      expect(worker.finishedTrials).toBe(8); // no trial ran twice
      expect((await replayStudy(dir)).spentRounds).toBe(32);
    } finally {
      stopWorker.abort();
      await working;
      await transport.close();
    }
  }, 180_000);
});
