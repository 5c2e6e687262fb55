// The work queue in one process (a real nats-server, TrialWorkers sharing the scheduler's connection):
// successive halving's continued trials over workers, and results delivered twice or from a stale
// attempt are journaled once; a queued trial is in the journal on disk before any worker can take it.
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { encodeMessage, type ResultMessage, workQueueNames } from '../../src/actors/work-queue.js';
import { readFileSync } from 'node:fs';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';
import { JOURNAL_FILE, readJournal } from '../../src/hpo/journal.js';
import { NatsServer } from '../helpers/nats-server.js';
import { replayStudy, syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

describe('the trial work queue', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await NatsServer.start({ jetstream: true });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('runs ASHA with continued trials on workers; duplicate and stale results count once', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({
      strategy: 'asha',
      fidelity: { min_rounds: 1, max_rounds: 9 },
      budget: { trials: 14 },
      parallel: 3,
      trial: { kind: 'synthetic', noise: 0.02, delay_ms: 10 },
    });
    const js = jetstream(nc);
    // A JetStream message outlives the scheduler: the trial it names must be journaled (on disk) before it is queued.
    const notOnDisk: number[] = [];
    const runnerFor: typeof trialRunnerFor = (c) => {
      const inner = trialRunnerFor(c);
      return {
        name: inner.name,
        run: (req) => {
          const asked = readFileSync(join(dir, JOURNAL_FILE), 'utf8')
            .split('\n')
            .filter((l) => l.includes('"kind":"trials.asked"'))
            .some((l) => (JSON.parse(l) as { trials: { id: number }[] }).trials.some((t) => t.id === req.trialId));
          if (!asked) notOnDisk.push(req.trialId);
          return inner.run(req);
        },
        exportAdapter: (cp, d) => inner.exportAdapter(cp, d),
      };
    };
    let injected: Promise<unknown> | undefined;
    const logs: string[] = [];
    const result = await runStudy({
      log: (line) => logs.push(line),
      dir,
      config,
      nats: { servers: [server.url] },
      localWorkers: 2,
      runnerFor,
      onEvent: (e, state) => {
        if (e.kind !== 'trial.finished' || e.id !== 0 || injected) return;
        // A second delivery's result and a result from an attempt that never ran, both "better".
        const names = workQueueNames(state.studyId);
        const fake = (attempt: number, delivery: number): ResultMessage => ({
          study_id: state.studyId,
          trial_id: 0,
          attempt,
          delivery,
          worker: 'impostor',
          outcome: { status: 'complete', metrics: { val_loss: 0.001 }, curve: [], rounds: 1, costs: {} },
        });
        injected = Promise.all([
          js.publish(names.result(0), encodeMessage(fake(1, 2)), { msgID: 'dup-1-2' }),
          js.publish(names.result(0), encodeMessage(fake(5, 1)), { msgID: 'stale-5-1' }),
        ]);
      },
    });
    expect(result).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    expect(notOnDisk).toEqual([]);
    await injected;
    const { events } = await readJournal(dir);
    const state = await replayStudy(dir);
    const finished = events.filter((e) => e.kind === 'trial.finished').map((e) => (e as { id: number }).id);
    expect(finished.sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(logs.filter((l) => /ignored a result of trial 0 \(attempt (1, delivery 2|5, delivery 1)\)/.test(l))).toHaveLength(2);
    expect(state.trials[0]!.worker).not.toBe('impostor');
    expect(state.trials[0]!.values![0]).toBeGreaterThan(0.1);
    expect(state.countByStatus().complete).toBe(14);
    const continued = state.trials.filter((t) => t.parent);
    expect(continued.length).toBeGreaterThan(0);
    for (const t of continued) expect(t.rounds).toBe(t.fidelity - t.parent!.round);
    expect(state.spentRounds).toBe(state.trials.reduce((s, t) => s + t.rounds, 0));
    expect(new Set(state.trials.map((t) => t.worker))).toEqual(new Set(['local-1', 'local-2']));
  }, 120_000);
});
