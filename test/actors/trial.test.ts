// The reference paper's scenarios on a tiny model: fed (N clients), global (one client with all the
// data), local (each client alone); each scored on the same test split, with the outputs written.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrial } from '../../src/actors/trial.js';
import { writeTrialOutputs } from '../../src/actors/trial-outputs.js';
import { type FederatedTask, federatedTask } from '../../src/fl/client-data.js';
import type { OpenedModel } from '../../src/model/source.js';
import { Engine, openTiny, tinyConfig, tinyModelDir } from './fl-fixtures.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let engine: Engine;
let m: OpenedModel;
let task: FederatedTask;
beforeAll(async () => {
  dir = await tinyModelDir();
  engine = new Engine({ threads: 2 });
  m = await openTiny(dir.modelDir, engine);
  const full = federatedTask('arith', 0);
  task = { ...full, clients: full.clients.map((c) => ({ ...c, train: c.train.slice(0, 16) })) };
});
afterAll(async () => {
  await engine?.close();
  await dir?.dispose();
});

describe('scenarios', () => {
  it('splits train, validation and test alike (iid arith: 3 clients)', () => {
    const full = federatedTask('arith', 0);
    expect(full.clients.map((c) => c.id)).toEqual(['c0', 'c1', 'c2']);
    expect(full.clients.every((c) => c.validation.length > 0 && c.train.length > 0)).toBe(true);
    expect(new Set(full.testShare)).toEqual(new Set(['c0', 'c1', 'c2']));
    const code = federatedTask('code', 0);
    expect(code.clients).toHaveLength(9);
    // meta: each client's validation and test share are its own category
    for (const c of code.clients) expect(new Set(c.validation.map((r) => r.category))).toEqual(new Set([c.train[0]!.category]));
  });

  it('fed, global and local run and report; outputs are written', async () => {
    const base = tinyConfig(dir.modelDir, { rounds: 1 });
    const fed = await runTrial({ ...base, scenario: 'fed' }, { model: m, task });
    const global = await runTrial({ ...base, scenario: 'global' }, { model: m, task });
    const local = await runTrial({ ...base, scenario: 'local' }, { model: m, task });

    expect(fed.runs.map((r) => r.name)).toEqual(['fed']);
    expect(fed.runs[0]!.result.history[1]!.accepted).toEqual(['c0', 'c1', 'c2']);
    expect(global.runs.map((r) => r.name)).toEqual(['global']);
    expect(global.runs[0]!.result.history[1]!.accepted).toEqual(['global']);
    expect(local.runs.map((r) => r.name)).toEqual(['c0', 'c1', 'c2']);
    for (const r of [fed, global, local]) {
      expect(r.rounds.map((x) => x.round)).toEqual([0, 1]);
      expect(r.rounds.every((x) => x.valLoss !== null && Number.isFinite(x.valLoss))).toBe(true);
      expect(r.test.samples).toBe(base.eval.test_limit);
      expect(Object.keys(r.test.perClient).sort()).toEqual(['c0', 'c1', 'c2']);
      expect(r.test.worst).toBeLessThanOrEqual(r.test.median);
      expect(r.test.median).toBeLessThanOrEqual(r.test.best);
      expect(r.totals.trainFlops).toBeGreaterThan(0);
      expect(r.totals.uploadBytes).toBeGreaterThan(0);
    }
    // Equal local steps per client per round: global trains one client, fed and local three.
    expect(global.totals.trainTokens).toBeLessThan(fed.totals.trainTokens);
    const localMean = Object.values(local.test.perClient).reduce((a, b) => a + b, 0) / 3;
    expect(local.test.score).toBeCloseTo(localMean, 12);

    const out = join(dir.root, 'out-local');
    await writeTrialOutputs(out, local, { ...base, scenario: 'local' }, dir.modelDir);
    expect((await readdir(join(out, 'adapter'))).sort()).toEqual(['c0', 'c1', 'c2']);
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // per run: 2 rounds x (1 client + 1 server line)
    expect(lines.filter((l) => l.type === 'client')).toHaveLength(6);
    expect(lines.filter((l) => l.type === 'round')).toHaveLength(6);
    const trained = lines.find((l) => l.type === 'client' && l.round === 1);
    for (const k of ['upload_bytes', 'download_bytes', 'compute_s', 'flops', 'tokens', 'train_loss', 'peak_rss_mb', 'val_loss'])
      expect(trained[k], k).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.scenario).toBe('local');
    expect(summary.valLoss).toHaveLength(2);
    expect(Object.keys(summary.local).sort()).toEqual(['c0', 'c1', 'c2']);
  });
});
