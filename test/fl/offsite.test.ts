// Offsite-tuning: which layers the emulator keeps, the emulator as an ordinary (loadable, runnable)
// checkpoint, training the adapter layers alone over a frozen emulator (clipping sees only their
// gradients), plugging the adapter back into the full model, and a tiny federated run with its bytes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatches } from '../../src/data/batching.js';
import { loadModelTokenizer } from '../../src/data/tokenizer-io.js';
import type { Tokenizer } from '../../src/data/tokenizer.js';
import { Engine } from '../../src/engine/engine.js';
import { encodeClient, federatedTask } from '../../src/fl/client-data.js';
import { parseFlConfig } from '../../src/fl/fl-config.js';
import { fullTarget, LocalTrainer } from '../../src/fl/local-trainer.js';
import { adapterOf, buildEmulator, emulatorPlan, isAdapterWeight, toFullNames } from '../../src/fl/offsite.js';
import { runOffsite } from '../../src/fl/offsite-run.js';
import { expectedTensorShapes, parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, LlamaModel, loadCheckpoint, saveCheckpoint } from '../../src/model/model.js';

const SIX = parseLlamaConfig({
  vocab_size: 260,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 6,
  num_attention_heads: 2,
  max_position_embeddings: 512,
});

describe('emulatorPlan', () => {
  it('keeps the first and last two layers and drops the middle uniformly', () => {
    const p20 = emulatorPlan(12, 0.2);
    expect(p20.adapter).toEqual([0, 1, 10, 11]);
    expect(p20.dropped).toEqual([3, 7]); // round(0.8 * 8) = 6 of 8 middle layers kept, evenly spread
    expect(p20.kept).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10, 11]);
    expect(emulatorPlan(12, 0.5).dropped).toEqual([2, 4, 6, 8]);
    expect(emulatorPlan(12, 0).dropped).toEqual([]);
    expect(emulatorPlan(6, 0.5).kept).toEqual([0, 1, 3, 4, 5]);
    expect(emulatorPlan(12, 0.5, 3).adapter).toEqual([0, 1, 2, 9, 10, 11]);
  });

  it('refuses a model without a middle and a drop outside [0, 1)', () => {
    expect(() => emulatorPlan(4, 0.2)).toThrow(/4 layers.*fedhpo-base-deep/);
    expect(() => emulatorPlan(12, 1)).toThrow(/offsite.drop must be in \[0, 1\)/);
    expect(() => emulatorPlan(12, -0.1)).toThrow(/offsite.drop/);
  });
});

describe('emulator and adapter on a tiny 6-layer model', () => {
  let engine: Engine;
  let root: string;
  let tok: Tokenizer;
  const weights = initWeights(SIX, 7);
  beforeAll(async () => {
    engine = new Engine({ threads: 1 });
    root = await mkdtemp(join(tmpdir(), 'fedhpo-offsite-'));
    await saveCheckpoint(join(root, 'full'), SIX, weights);
    tok = await loadModelTokenizer(join(root, 'full'), SIX.vocab_size);
  });
  afterAll(async () => {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  });

  it('is a checkpoint of fewer layers, re-indexed, that loads and runs', async () => {
    const plan = emulatorPlan(6, 0.5);
    const emu = buildEmulator(SIX, weights, plan);
    expect(emu.cfg.num_hidden_layers).toBe(5);
    expect(emu.weights.get('model.layers.2.mlp.up_proj.weight')).toBe(weights.get('model.layers.3.mlp.up_proj.weight'));
    expect(emu.weights.get('model.layers.4.self_attn.q_proj.weight')).toBe(weights.get('model.layers.5.self_attn.q_proj.weight'));
    expect(emu.weights.get('model.embed_tokens.weight')).toBe(weights.get('model.embed_tokens.weight'));
    await saveCheckpoint(join(root, 'emu'), emu.cfg, emu.weights);
    const back = await loadCheckpoint(join(root, 'emu'));
    expect(back.cfg.num_hidden_layers).toBe(5);
    expect([...back.weights.keys()].sort()).toEqual([...expectedTensorShapes(emu.cfg).keys()].sort());
    const model = await LlamaModel.fromWeights(engine, back.cfg, back.weights);
    const { nll } = await model.nll([tok.encode('The answer is 42.')]);
    expect(Number.isFinite(nll)).toBe(true);
    await model.dispose();
  });

  it('with nothing dropped, the adapter plugged into the full model scores exactly as on the emulator', async () => {
    const plan = emulatorPlan(6, 0);
    const emu = buildEmulator(SIX, weights, plan);
    const emuModel = await LlamaModel.fromWeights(engine, emu.cfg, new Map([...emu.weights].map(([k, v]) => [k, v.slice()])));
    const fullModel = await LlamaModel.fromWeights(engine, SIX, new Map([...weights].map(([k, v]) => [k, v.slice()])));
    const adapter = adapterOf(plan, emu.weights);
    for (const v of adapter.values()) for (let i = 0; i < v.length; i += 7) v[i]! += 0.05; // a "trained" adapter
    const seq = [tok.encode('Tom has 3 apples and buys 4 more. The answer is 7.')];
    const feeds = (w: Map<string, Float32Array>, shapes: Map<string, number[]>) => ({
      feeds: Object.fromEntries([...w].map(([k, data]) => [k, { dtype: 'float32' as const, dims: shapes.get(k)!, data }])),
    });
    const onEmu = await emuModel.nll(seq, { adapter: feeds(adapter, expectedTensorShapes(emu.cfg)) });
    const plugged = await fullModel.nll(seq, { adapter: feeds(toFullNames(plan, adapter), expectedTensorShapes(SIX)) });
    const base = await fullModel.nll(seq);
    expect(plugged.nll).toBeCloseTo(onEmu.nll, 5);
    expect(Math.abs(plugged.nll - base.nll)).toBeGreaterThan(1e-4);
    await emuModel.dispose();
    await fullModel.dispose();
  });

  it('trains the adapter layers only, clipping over their gradients alone', async () => {
    const plan = emulatorPlan(6, 0.5);
    const emu = buildEmulator(SIX, weights, plan);
    const shapes = expectedTensorShapes(emu.cfg);
    const model = await LlamaModel.fromWeights(engine, emu.cfg, new Map([...emu.weights].map(([k, v]) => [k, v.slice()])));
    const adapter = adapterOf(plan, emu.weights);
    expect([...adapter.keys()].every((k) => isAdapterWeight(plan, k))).toBe(true);
    expect(new Set([...adapter.keys()].map((k) => k.split('.')[2]))).toEqual(new Set(['0', '1', '3', '4']));
    const train = federatedTask('arith', 0)
      .clients[0]!.train.slice(0, 16)
      .map((r) => encodeClient(tok, { id: 'c', train: [r], validation: [] }, 384).train[0]!);
    // The step-0 gradient norm of the adapter alone, computed directly.
    const batch = makeBatches(train, { batchSize: 4, seqLen: 384, shuffle: false, padId: tok.padId })[0]!;
    const target = fullTarget(adapter, shapes);
    const g = await model.gradients('all', batch, target.trainFeeds(batch, undefined as never));
    expect(g.grads.size).toBe(expectedTensorShapes(emu.cfg).size); // the graph gives every weight's gradient
    let sq = 0;
    for (const [k, v] of g.grads) if (adapter.has(k)) for (const x of v) sq += (x / g.tokens) ** 2;
    const before = new Map([...adapter].map(([k, v]) => [k, v.slice()]));
    const trainer = new LocalTrainer(model, {
      steps: 6,
      batchSize: 4,
      seqLen: 384,
      lr: 3e-3,
      optimizer: { kind: 'adamw', weightDecay: 0, beta1: 0.9, beta2: 0.999 },
      seed: 0,
      padId: tok.padId,
    });
    const r = await trainer.run(fullTarget(adapter, shapes), train.slice(0, 4), train.slice(0, 4));
    // The same 4 records make its first batch: the trainer's norm is the adapter's, not every weight's.
    expect(r.history[0]!.gradNorm).toBeCloseTo(Math.sqrt(sq), 4);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
    for (const [k, v] of adapter) expect(v).not.toEqual(before.get(k));
    // The frozen emulator weights in the engine are untouched.
    const after = await model.weights();
    for (const [k, v] of emu.weights) if (!adapter.has(k)) expect(after.get(k)).toEqual(v);
    await model.dispose();
  });

  it('runs a tiny federation (fed and local), metering the emulator once and the adapter per round', async () => {
    const task = federatedTask('arith', 0);
    const small = {
      ...task,
      clients: task.clients.map((c) => ({ ...c, train: c.train.slice(0, 12), validation: c.validation.slice(0, 4) })),
    };
    const config = (scenario: 'fed' | 'local') =>
      parseFlConfig({
        model: join(root, 'full'),
        data: { task: 'arith' },
        scenario,
        seed: 1,
        rounds: 2,
        offsite: { drop: 0.5 },
        train: { local_steps: 3, batch_size: 4, seq_len: 384, lr: 3e-3 },
        eval: { every: 1, test_limit: 3, batch_size: 4, max_new_tokens: 4 },
      });
    const deps = { engine, cfg: SIX, weights, tokenizer: tok, task: small };
    const fed = await runOffsite(config('fed'), deps);
    const n = 3;
    expect(fed.plan.dropped).toEqual([2]);
    expect(fed.params.adapter).toBe(4 * (fed.params.full - fed.params.emulator));
    expect(fed.bytes.down).toBe(n * fed.bytes.emulator + n * 2 * fed.bytes.adapter);
    expect(fed.bytes.up).toBe(n * 2 * fed.bytes.adapter);
    // The emulator sent excludes its adapter layers; together they are less than the full model.
    expect(fed.bytes.emulator + fed.bytes.adapter).toBeLessThan(fed.bytes.fullModel);
    expect(fed.rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(fed.rounds[2]!.valLoss).toBeLessThan(fed.rounds[0]!.valLoss);
    expect(fed.plugged.score).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(fed.plugged.loss) && Number.isFinite(fed.emulator.loss)).toBe(true);
    const local = await runOffsite(config('local'), deps);
    expect(local.rounds[2]!.valLoss).toBeLessThan(local.rounds[0]!.valLoss);
    expect(local.rounds[0]!.valLoss).toBeCloseTo(fed.rounds[0]!.valLoss, 6);
    // Local clients talk to the server only at the start and the end.
    expect(local.bytes.down).toBe(n * (local.bytes.emulator + local.bytes.adapter));
    expect(local.bytes.up).toBe(n * local.bytes.adapter);
  }, 60_000);
});
