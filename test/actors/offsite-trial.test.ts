// A study trial with an `offsite` section runs federated offsite-tuning: offsite.drop is a
// hyperparameter like any other; the trial reports val_loss and bytes per round, the plugged-in
// score at the end, and a pruner can stop it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedTrialRunner } from '../../src/actors/federated-runner.js';
import type { JsonObject } from '../../src/hpo/config-paths.js';
import type { Metrics, TrialRequest } from '../../src/hpo/trial-runner.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';

const SIX = parseLlamaConfig({ vocab_size: 260, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 6, num_attention_heads: 2 });
let root: string;
let runner: FederatedTrialRunner;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedhpo-offsite-trial-'));
  await saveCheckpoint(join(root, 'model'), SIX, initWeights(SIX, 3));
  runner = new FederatedTrialRunner();
});
afterAll(async () => {
  await runner.close();
  await rm(root, { recursive: true, force: true });
});

const doc = (drop: number): JsonObject => ({
  kind: 'federated',
  model: join(root, 'model'),
  data: { task: 'arith' },
  seed: 1,
  offsite: { drop },
  train: { local_steps: 2, batch_size: 4, seq_len: 384, lr: 3e-3 },
  eval: { every: 1, test_limit: 3, batch_size: 4, max_new_tokens: 4, valid_limit: 4 },
});

function request(config: JsonObject, fidelity: number, prune = false): { req: TrialRequest; seen: { round: number; metrics: Metrics }[] } {
  const seen: { round: number; metrics: Metrics }[] = [];
  return {
    seen,
    req: {
      trialId: 0,
      attempt: 1,
      config,
      fidelity,
      dir: join(root, 'trial'),
      signal: new AbortController().signal,
      onRound: (round, metrics) => {
        seen.push({ round, metrics });
        return prune ? 'prune' : 'continue';
      },
    },
  };
}

describe('offsite-tuning study trials', () => {
  it('reports per-round val_loss and bytes and the plugged-in score; the drop rate changes the emulator sent', async () => {
    const a = request(doc(0.5), 2);
    const o = await runner.run(a.req);
    expect(o.status, o.reason).toBe('complete');
    expect(a.seen.map((s) => s.round)).toEqual([1, 2]);
    expect(o.curve.map((c) => c.round)).toEqual([1, 2]);
    expect(a.seen[1]!.metrics.bytes_sent).toBeGreaterThan(a.seen[0]!.metrics.bytes_sent!);
    expect(o.metrics.score).toBeGreaterThanOrEqual(0);
    expect(o.metrics.val_loss).toBeGreaterThan(0);
    expect(o.costs.client_rounds).toBe(6);
    const b = await runner.run(request(doc(0), 1).req);
    expect(b.status, b.reason).toBe('complete');
    expect(b.metrics.emulator_bytes).toBeGreaterThan(o.metrics.emulator_bytes!);
    expect(b.metrics.adapter_bytes).toBe(o.metrics.adapter_bytes);
  }, 60_000);

  it('stops when pruned, and fails clearly on a model with no middle to drop', async () => {
    const p = await runner.run(request(doc(0.5), 3, true).req);
    expect(p.status).toBe('pruned');
    expect(p.rounds).toBe(1);
    await saveCheckpoint(join(root, 'four'), { ...SIX, num_hidden_layers: 4 }, initWeights({ ...SIX, num_hidden_layers: 4 }, 3));
    const f = await runner.run(request({ ...doc(0.2), model: join(root, 'four') }, 1).req);
    expect(f.status).toBe('failed');
    expect(f.reason).toMatch(/4 layers/);
  }, 60_000);
});
