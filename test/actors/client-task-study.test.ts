// Studies whose strategies ask clients for work (FTS, FLoRA) on the synthetic objective: the client
// tasks travel as typed messages between a coordinator actor and one client actor per client over
// the in-process transport, their replies are journaled and told to the strategy, and the clients'
// local work is charged to the budget. Privacy: in an FTS study no message a client sends carries one
// of its true losses (captured where the client computes them), searched as decoded JSON numbers and
// as raw float32/float64 bytes; the same search does find them in FLoRA's replies, which share
// (config, loss) pairs by design.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientTasksFor, syntheticObjectiveFor } from '../../src/actors/client-tasks-for.js';
import { decodeEnvelope } from '../../src/actors/envelope.js';
import { runStudy } from '../../src/actors/study-runner.js';
import { readJournal } from '../../src/hpo/journal.js';
import { parseStudyConfig, type StudyConfig } from '../../src/hpo/study-config.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fedhpo-ct-'));
  dirs.push(d);
  return join(d, 'study');
}

function studyConfig(strategy: string, options: Record<string, unknown>, over: Record<string, unknown> = {}): StudyConfig {
  return parseStudyConfig(
    {
      name: `ct-${strategy}`,
      seed: 2,
      space: {
        'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true },
        'lora.r': { type: 'int', low: 2, high: 32, step: 2 },
        'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
      },
      fidelity: { rounds: 4 },
      budget: { rounds: 60 },
      strategy: { name: strategy, options },
      client_tasks: { clients: 3, heterogeneity: 0.4, local_steps_per_round: 10, deadline: 20, join_timeout: 20 },
      trial: { kind: 'synthetic', clients: 3 },
      ...over,
    },
    'test config',
  );
}

async function eventsOf(dir: string) {
  return (await readJournal(dir)).events;
}

describe('FTS study (in-process)', () => {
  it('runs fts.weights on 3 clients before each model-based trial, journals the replies and charges local work', async () => {
    const dir = await tempDir();
    const config = studyConfig('fts', { startupTrials: 2, features: 50 });
    const r = await runStudy({ dir, config });
    expect(r.state).toBe('finished');
    const events = await eventsOf(dir);
    const tasks = events.filter((e) => e.kind === 'client-task.finished');
    const finished = events.filter((e) => e.kind === 'trial.finished');
    expect(tasks.length).toBeGreaterThan(3);
    for (const t of tasks) {
      if (t.kind !== 'client-task.finished') continue;
      expect(t.task).toBe('fts.weights');
      expect(t.replies.map((x) => x.client)).toEqual(['c0', 'c1', 'c2']);
      const weights = t.replies.map((x) => (x.result as { weights: number[] }).weights);
      for (const w of weights) expect(w).toHaveLength(50);
      expect(weights[1]).not.toEqual(weights[0]); // heterogeneous clients, different samples
    }
    // Each new tried config costs every client 1 local round (localRounds 1); cached ones cost nothing.
    const local = tasks.reduce((s, t) => s + (t.kind === 'client-task.finished' ? t.client_rounds : 0), 0);
    const last = tasks.at(-1);
    const configsFitted = last?.kind === 'client-task.finished' ? (last.args as { configs: unknown[] }).configs.length : 0;
    expect(local).toBe(3 * configsFitted);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(summary.budget.rounds.local_client_rounds).toBe(local);
    expect(summary.budget.rounds.local_rounds).toBeCloseTo(local / 3, 9);
    // The budget counts trials' rounds plus local rounds: 60 minus what the last ask could not fit.
    expect(summary.budget.rounds.spent + summary.budget.rounds.local_rounds).toBeGreaterThan(60 - 4);
    expect(finished.length).toBeLessThan(15); // 15 trials of 4 rounds would be the budget without local work
    const metas = events.flatMap((e) => (e.kind === 'trials.asked' ? e.trials.map((t) => t.meta) : []));
    // One task per model-based trial; the last task's local work may have spent the budget before its trial.
    const modelled = metas.filter((m) => (m as { by: string }).by !== 'random').length;
    expect(tasks.length - modelled).toBeGreaterThanOrEqual(0);
    expect(tasks.length - modelled).toBeLessThanOrEqual(1);
  }, 120_000);
});

describe('FLoRA studies (in-process), each surface', () => {
  it.each(['sgm', 'sgm+u', 'mplm', 'aplm'])(
    '%s: one local HPO task, one federated trial at the surface minimum, a report',
    async (surface) => {
      const dir = await tempDir();
      const config = studyConfig('flora', { surface, localTrials: 12, localRounds: 2 });
      const r = await runStudy({ dir, config });
      expect(r).toMatchObject({ state: 'finished', reason: 'strategy done' });
      const events = await eventsOf(dir);
      const tasks = events.filter((e) => e.kind === 'client-task.finished');
      expect(tasks).toHaveLength(1);
      const t = tasks[0]!;
      if (t.kind !== 'client-task.finished') throw new Error('unreachable');
      expect(t.replies.map((x) => (x.result as { pairs: unknown[] }).pairs.length)).toEqual([12, 12, 12]);
      expect(t.client_rounds).toBe(3 * 12 * 2);
      const asked = events.flatMap((e) => (e.kind === 'trials.asked' ? e.trials : []));
      expect(asked).toHaveLength(1);
      expect(asked[0]!.meta).toMatchObject({ flora: surface, by: 'surface', clients: 3 });
      const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
      expect(summary.trials.complete).toBe(1);
      expect(summary.budget.rounds).toMatchObject({ spent: 4, local_client_rounds: 72, local_rounds: 24 });
    },
    120_000,
  );
});

/** Every way a float may sit in a payload: its JSON spelling and its float64 / float32 little-endian bytes. */
function findLoss(bytes: Uint8Array, loss: number): string | undefined {
  const has = (needle: Uint8Array) => {
    outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
      for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  };
  const f64 = new Uint8Array(new Float64Array([loss]).buffer);
  const f32 = new Uint8Array(new Float32Array([loss]).buffer);
  if (has(f64)) return 'float64 bytes';
  if (has(f32)) return 'float32 bytes';
  const header = decodeEnvelope(bytes).header;
  const numbers: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') numbers.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(header);
  if (numbers.some((n) => n === loss || Math.fround(n) === Math.fround(loss))) return 'a JSON number';
  if (new TextDecoder().decode(bytes).includes(String(loss))) return 'its decimal text';
  return undefined;
}

async function capture(strategy: string, options: Record<string, unknown>) {
  const dir = await tempDir();
  const config = studyConfig(strategy, options, { budget: { rounds: 40 } });
  const losses = new Map<string, number[]>();
  const sent: { client: string; subject: string; bytes: Uint8Array }[] = [];
  const clientTasks = await clientTasksFor(config, {
    objectiveFor: (id) => syntheticObjectiveFor(config, id, (loss) => losses.set(id, [...(losses.get(id) ?? []), loss])),
    onClientSend: (client, subject, bytes) => sent.push({ client, subject, bytes: new Uint8Array(bytes) }),
  });
  try {
    await runStudy({ dir, config, clientTasks });
  } finally {
    await clientTasks.close();
  }
  return { losses, sent };
}

describe('privacy of FTS clients', () => {
  it('no message an FTS client sends carries one of its true losses (JSON numbers, text, float32/float64 bytes)', async () => {
    const { losses, sent } = await capture('fts', { startupTrials: 2, features: 40 });
    const total = [...losses.values()].reduce((s, l) => s + l.length, 0);
    expect(total).toBeGreaterThan(10);
    expect(sent.filter((m) => m.subject.endsWith('.update')).length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const m of sent)
      for (const loss of losses.get(m.client) ?? []) {
        const where = findLoss(m.bytes, loss);
        if (where) found.push(`${m.client} sent its loss ${loss} as ${where} on ${m.subject}`);
      }
    expect(found).toEqual([]);
  }, 120_000);

  it('the same search finds the losses FLoRA clients share by design (the search works)', async () => {
    const { losses, sent } = await capture('flora', { localTrials: 5, localRounds: 1 });
    const c0 = losses.get('c0')!;
    expect(c0).toHaveLength(5);
    const hits = c0.filter((loss) => sent.some((m) => m.client === 'c0' && findLoss(m.bytes, loss)));
    expect(hits).toEqual(c0);
  }, 120_000);
});

describe('resume of a study with client tasks', () => {
  it('from a cut just after (or before) a client task, asks what the uninterrupted study did', async () => {
    const full = await tempDir();
    const config = studyConfig('fts', { startupTrials: 2, features: 30 }, { budget: { rounds: 40 } });
    await runStudy({ dir: full, config });
    const text = await readFile(join(full, 'journal.jsonl'), 'utf8');
    const lines = text.split('\n').slice(0, -1);
    const taskLines = lines.map((l, i) => (l.includes('"client-task.finished"') ? i : -1)).filter((i) => i >= 0);
    expect(taskLines.length).toBeGreaterThan(2);
    const reference = await eventsOf(full);
    const asked = (events: typeof reference) => events.flatMap((e) => (e.kind === 'trials.asked' ? e.trials : []));
    const charged = (events: typeof reference) => events.reduce((s, e) => s + (e.kind === 'client-task.finished' ? e.client_rounds : 0), 0);
    // After the second task's line (its replies are only in the journal: resume tells them again), and before it.
    for (const cut of [taskLines[1]! + 1, taskLines[1]!]) {
      const dir = await tempDir();
      await cp(full, dir, { recursive: true });
      await writeFile(join(dir, 'journal.jsonl'), `${lines.slice(0, cut).join('\n')}\n`);
      expect((await runStudy({ dir })).state).toBe('finished');
      const resumed = await eventsOf(dir);
      expect(asked(resumed), `cut at line ${cut}`).toEqual(asked(reference));
      // The resumed session's clients start with an empty cache of local trials: re-fitting the configs
      // already tried costs them local work again, and that is charged too (never less than before).
      expect(charged(resumed), `cut at line ${cut}`).toBeGreaterThanOrEqual(charged(reference));
    }
  }, 120_000);
});
