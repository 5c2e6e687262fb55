// FedProx's client side: the proximal hook adds mu (w - w_global) to the gradients. On a quadratic
// (no model) gradient descent lands on the proximal optimum (c + mu w0) / (1 + mu); on a tiny LoRA
// model the hook changes the step-1 gradient by exactly mu (w1 - w0) and keeps the adapter closer
// to where it started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoded } from '../../src/data/batching.js';
import { Engine } from '../../src/engine/engine.js';
import type { Params } from '../../src/engine/optim.js';
import { hooksForTrainConfig, proximalHook } from '../../src/fl/fedprox.js';
import { LocalTrainer, loraTarget, type TrainContext, type TrainerConfig, type TrainerHooks } from '../../src/fl/local-trainer.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights } from '../../src/model/model.js';
import { LoraAdapter } from '../../src/peft/lora.js';

/** Gradient descent on f(w) = 1/2 ||w - c||^2 through the hook, with a stand-in trainer context. */
async function descend(mu: number, c: number[], w0: number[], steps: number, lr: number): Promise<{ w: Float32Array; grads: number[][] }> {
  const params: Params = { w: Float32Array.from(w0) };
  const ctx = { target: { params }, step: 0 } as unknown as TrainContext;
  const hook = proximalHook(mu);
  await hook.beforeRun!(ctx);
  const grads: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const w = params.w!;
    const g: Params = { w: Float32Array.from(w, (x, i) => x - c[i]!) };
    await hook.beforeStep!(ctx, g);
    grads.push([...g.w!]);
    for (let i = 0; i < w.length; i++) w[i]! -= lr * g.w![i]!;
  }
  return { w: params.w!, grads };
}

describe('proximal hook on a quadratic', () => {
  it('adds mu (w - w0): by hand for two steps', async () => {
    // w0 = [0, 0], c = [1, -2], lr 0.1, mu 1.
    // step 0: w = w0, so the term is 0: g = w - c = [-1, 2];  w1 = [0.1, -0.2]
    // step 1: g = (w1 - c) + 1 * (w1 - w0) = [-0.9, 1.8] + [0.1, -0.2] = [-0.8, 1.6]
    const { grads } = await descend(1, [1, -2], [0, 0], 2, 0.1);
    expect(grads[0]).toEqual([-1, 2]);
    expect(grads[1]![0]).toBeCloseTo(-0.8, 6);
    expect(grads[1]![1]).toBeCloseTo(1.6, 6);
  });

  it('converges to (c + mu w0) / (1 + mu) instead of c', async () => {
    const c = [1, -2];
    const w0 = [0.5, 0.5];
    for (const mu of [0, 0.5, 3]) {
      const { w } = await descend(mu, c, w0, 400, 0.1);
      for (let i = 0; i < c.length; i++) expect(w[i]).toBeCloseTo((c[i]! + mu * w0[i]!) / (1 + mu), 5);
    }
  });

  it('uses a given anchor instead of the starting point, and refuses a bad mu or a missing anchor', async () => {
    const params: Params = { w: Float32Array.of(1) };
    const ctx = { target: { params } } as unknown as TrainContext;
    const hook = proximalHook(2, new Map([['w', { shape: [1], data: Float32Array.of(0.25) }]]));
    await hook.beforeRun!(ctx);
    const g: Params = { w: Float32Array.of(0) };
    await hook.beforeStep!(ctx, g);
    expect(g.w![0]).toBe(1.5); // 2 * (1 - 0.25)
    expect(() => proximalHook(-1)).toThrow(/mu must be finite and >= 0/);
    const orphan = proximalHook(1, { other: Float32Array.of(0) });
    expect(() => orphan.beforeStep!(ctx, { w: Float32Array.of(0) })).toThrow(/no anchor of the right size for parameter 'w'/);
  });

  it('the round trainConfig turns into hooks on the client', () => {
    expect(hooksForTrainConfig(undefined)).toEqual([]);
    expect(hooksForTrainConfig({ proximal_mu: 0 })).toEqual([]);
    expect(hooksForTrainConfig({ proximal_mu: 0.1 })).toHaveLength(1);
    expect(() => hooksForTrainConfig({ proximal_mu: '0.1' })).toThrow(/proximal_mu must be a number/);
    expect(() => hooksForTrainConfig({ proximal_mu: -1 })).toThrow(/mu must be finite and >= 0/);
  });
});

describe('proximal hook in the LocalTrainer', () => {
  const cfg = parseLlamaConfig({
    vocab_size: 32,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 64,
  });
  const data: Encoded[] = [];
  for (const d of [1, 2, 3])
    for (let a = 0; a < 32; a++) {
      const ids = Array.from({ length: 16 }, (_, k) => (a + k * d) % 32);
      data.push({ ids, labels: ids.slice(1) });
    }
  const config: TrainerConfig = { steps: 12, batchSize: 8, seqLen: 15, lr: 0.05, optimizer: { kind: 'sgd' }, seed: 1, padId: 0 };
  let engine: Engine;
  let model: LlamaModel;
  beforeAll(async () => {
    engine = new Engine({ threads: 2 });
    model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 1));
  });
  afterAll(async () => {
    await engine?.close();
  });

  /** Trains a fresh adapter; records gradients (after the proximal hook) and parameters per step. */
  async function train(mu: number) {
    const adapter = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 2);
    const w0 = new Map([...adapter.tensors].map(([k, v]) => [k, v.slice()]));
    const grads: Params[] = [];
    const params: Params[] = [];
    const recorder: TrainerHooks = {
      beforeStep(ctx, g) {
        grads.push(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.slice()])));
        params.push(Object.fromEntries(Object.entries(ctx.target.params).map(([k, v]) => [k, v.slice()])));
      },
    };
    const hooks = mu > 0 ? [proximalHook(mu), recorder] : [recorder];
    await new LocalTrainer(model, config, hooks).run(loraTarget(adapter), data);
    let drift = 0;
    for (const [k, v] of adapter.tensors) for (let i = 0; i < v.length; i++) drift += (v[i]! - w0.get(k)![i]!) ** 2;
    return { grads, params, w0, drift: Math.sqrt(drift) };
  }

  it('changes the step-1 gradient by exactly mu (w1 - w0) and keeps the adapter nearer w0', async () => {
    const mu = 5;
    const plain = await train(0);
    const prox = await train(mu);
    // Step 0 starts at w0: no proximal term, identical gradients (training is deterministic).
    for (const k of Object.keys(plain.grads[0]!)) expect(prox.grads[0]![k]).toEqual(plain.grads[0]![k]);
    // Step 1 starts from the same w1 in both runs, so the gradients differ by the proximal term alone.
    let checked = 0;
    let largestTerm = 0;
    for (const [k, g] of Object.entries(plain.grads[1]!)) {
      const w1 = prox.params[1]![k]!;
      expect(w1).toEqual(plain.params[1]![k]);
      for (let i = 0; i < g.length; i++) {
        const term = mu * (w1[i]! - prox.w0.get(k)![i]!);
        largestTerm = Math.max(largestTerm, Math.abs(term));
        const want = g[i]! + term;
        expect(Math.abs(prox.grads[1]![k]![i]! - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        checked++;
      }
    }
    expect(checked).toBe(2 * (4 * 32 + 32 * 4)); // q_proj and v_proj, lora_A [4, 32] and lora_B [32, 4]
    expect(largestTerm).toBeGreaterThan(1e-4);
    expect(prox.drift).toBeLessThan(0.7 * plain.drift);
  });
});
