// Client tasks through the real nats-server at 127.0.0.1:4222: the same FTS study gives the same
// client replies and the same trials in one process (in-process bus), with every client on its own
// NATS connection, and with the clients in two separate `fedhpo clients serve` processes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientTasksFor } from '../../src/actors/client-tasks-for.js';
import { runStudy } from '../../src/actors/study-runner.js';
import { readJournal } from '../../src/hpo/journal.js';
import { parseStudyConfig, type StudyConfig } from '../../src/hpo/study-config.js';
import { type CliProcess, spawnFedhpo } from '../helpers/cli-process.js';

const NATS = 'nats://127.0.0.1:4222';
const root = await mkdtemp(join(tmpdir(), 'fedhpo-ct-nats-'));
const procs: CliProcess[] = [];
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

function rawConfig(scope: string, remote: boolean) {
  return {
    name: 'fts-nats',
    seed: 5,
    space: {
      'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true },
      'lora.r': { type: 'int', low: 2, high: 32, step: 2 },
    },
    fidelity: { rounds: 3 },
    budget: { rounds: 30 },
    strategy: { name: 'fts', options: { startupTrials: 2, features: 30 } },
    client_tasks: { clients: 3, scope, remote, heterogeneity: 0.4, deadline: 30, join_timeout: 30 },
    trial: { kind: 'synthetic', clients: 3 },
  };
}

/** The study's client replies and asked configs, as comparable JSON. */
async function trace(config: StudyConfig, deps: Parameters<typeof clientTasksFor>[1]) {
  const dir = join(root, randomBytes(4).toString('hex'));
  const clientTasks = await clientTasksFor(config, deps);
  try {
    const r = await runStudy({ dir, config, clientTasks });
    expect(r.state).toBe('finished');
  } finally {
    await clientTasks.close();
  }
  const { events } = await readJournal(dir);
  return {
    replies: events.flatMap((e) => (e.kind === 'client-task.finished' ? [e.replies] : [])),
    asked: events.flatMap((e) => (e.kind === 'trials.asked' ? e.trials.map((t) => t.config) : [])),
  };
}

const scope = () => `ct-${randomBytes(4).toString('hex')}`;

describe('client tasks over NATS', () => {
  let reference: Awaited<ReturnType<typeof trace>>;

  it('in-process and with each client on its own NATS connection: the same replies and trials', async () => {
    reference = await trace(parseStudyConfig(rawConfig(scope(), false), 'test'), {});
    expect(reference.replies.length).toBeGreaterThan(2);
    for (const r of reference.replies) expect(r.map((x) => x.client)).toEqual(['c0', 'c1', 'c2']);
    const overNats = await trace(parseStudyConfig(rawConfig(scope(), false), 'test'), { nats: { servers: [NATS] } });
    expect(overNats).toEqual(reference);
  }, 120_000);

  it('with the clients in two separate `fedhpo clients serve` processes: the same again', async () => {
    const s = scope();
    const file = join(root, `${s}.yaml`);
    await writeFile(file, JSON.stringify(rawConfig(s, true)));
    for (const ids of ['c0,c1', 'c2']) {
      const p = spawnFedhpo(['clients', 'serve', file, '--nats', NATS, '--ids', ids, '--max-seconds', '120']);
      procs.push(p);
      await p.waitFor(/serving client tasks/, 60_000);
    }
    const remote = await trace(parseStudyConfig(rawConfig(s, true), 'test'), { nats: { servers: [NATS] } });
    expect(remote).toEqual(reference);
    for (const p of procs) p.kill('SIGTERM');
    const ends = await Promise.all(procs.map((p) => p.exited));
    expect(ends.map((e) => e.code)).toEqual([0, 0]);
    expect(procs.map((p) => /tasks answered: (c\d: \d+(, )?)+/.exec(p.output())?.[0])).toEqual([
      expect.stringMatching(/c0: [1-9]\d*, c1: [1-9]/),
      expect.stringMatching(/c2: [1-9]/),
    ]);
  }, 180_000);
});
