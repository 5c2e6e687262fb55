// The engine worker's robustness: a dead worker is replaced on the next call, weight sets come back
// from their reload sources (or fail naming the set), and run inputs marked `transfer` move.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine, EngineError, f32, transferred, type Feeds } from '../../src/engine/engine.js';
import { Graph } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';
import { Rng } from '../../src/engine/rng.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights, lmBatch, saveCheckpoint } from '../../src/model/model.js';
import { LoraAdapter } from '../../src/peft/lora.js';

/** y = x @ w + b, with w and b from a weight set. */
function affine() {
  const g = new Graph();
  const x = g.input('x', 'float32', ['n', 3]);
  const w = g.input('w', 'float32', [3, 2]);
  const b = g.input('b', 'float32', [2]);
  return exportOnnx(g, { y: g.add(g.matmul(x, w), b) });
}
const weights = (): Feeds => ({ w: f32([1, 2, 3, 4, 5, 6], [3, 2]), b: f32([0.5, -0.5], [2]) });
const x = () => f32([1, 0, 2, -1, 1, 1], [2, 3]);

let engine: Engine;
afterEach(async () => {
  await engine?.close();
});

describe('restart after the worker dies', () => {
  it('rejects the pending call, then runs again with the weights reloaded, outputs identical', async () => {
    engine = new Engine();
    const model = affine();
    let reloads = 0;
    await engine.setWeights('affine', weights(), {
      transfer: true,
      reload: async () => {
        reloads++;
        return weights();
      },
    });
    const before = await engine.run(model, { x: x() }, ['affine']);
    expect(Array.from(before.y!.data as Float32Array)).toEqual([11.5, 13.5, 7.5, 7.5]);

    const pending = engine.run(model, { x: x() }, ['affine']);
    // Watched before the kill: the kill rejects it at once, not when the worker has gone.
    const failed = expect(pending).rejects.toThrow(EngineError);
    await engine.killWorker();
    await failed;
    await expect(pending).rejects.toThrow(/worker was killed/);
    expect(reloads).toBe(0);

    const after = await engine.run(model, { x: x() }, ['affine']);
    expect(after.y!.data).toEqual(before.y!.data);
    expect(engine.restarts).toBe(1);
    expect(reloads).toBe(1);
    // The replacement is a normal worker: it can die and be replaced again.
    await engine.killWorker();
    expect((await engine.run(model, { x: x() }, ['affine'])).y!.data).toEqual(before.y!.data);
    expect(engine.restarts).toBe(2);
  });

  it('a weight set without a reload source fails later runs naming it; others come back', async () => {
    engine = new Engine();
    const model = affine();
    await engine.setWeights('kept', weights(), { reload: async () => weights() });
    await engine.setWeights('volatile', weights());
    await engine.killWorker();
    await expect(engine.run(model, { x: x() }, ['volatile'])).rejects.toThrow(
      "weight set 'volatile' was lost when the engine worker restarted: it has no reload source",
    );
    await expect(engine.readWeights('volatile')).rejects.toThrow(/'volatile' was lost/);
    expect((await engine.run(model, { x: x() }, ['kept'])).y!.data).toEqual(Float32Array.of(11.5, 13.5, 7.5, 7.5));
    // Setting the lost set again makes it usable.
    await engine.setWeights('volatile', weights());
    expect((await engine.run(model, { x: x() }, ['volatile'])).y!.data).toEqual(Float32Array.of(11.5, 13.5, 7.5, 7.5));
  });

  it('a reload source that fails or gives other shapes loses the set with the reason', async () => {
    engine = new Engine();
    const model = affine();
    await engine.setWeights('gone', weights(), {
      reload: async () => {
        throw new Error('checkpoint directory removed');
      },
    });
    await engine.setWeights('reshaped', weights(), { reload: async () => ({ ...weights(), b: f32([1, 2, 3], [3]) }) });
    await engine.killWorker();
    await expect(engine.run(model, { x: x() }, ['gone'])).rejects.toThrow(
      "weight set 'gone' was lost when the engine worker restarted and its reload source failed: checkpoint directory removed",
    );
    await expect(engine.run(model, { x: x() }, ['reshaped'])).rejects.toThrow(/'reshaped' was lost .*other tensor names, dtypes or shapes/);
  });

  it('state kept in the worker (a KV cache) is reported lost, not silently empty', async () => {
    engine = new Engine();
    const g = new Graph();
    const acc = g.input('acc', 'float32', [2]);
    const model = exportOnnx(g, { next: g.add(acc, g.scalar(1)) });
    await engine.run(model, { acc: f32([0, 0], [2]) }, [], { stateId: 'st', carry: { next: 'acc' } });
    await engine.killWorker();
    await expect(engine.run(model, {}, [], { stateId: 'st', carry: { next: 'acc' } })).rejects.toThrow("state 'st' was lost");
    await engine.dropState('st');
    await engine.run(model, { acc: f32([0, 0], [2]) }, [], { stateId: 'st', carry: { next: 'acc' } });
  });

  it('a closed engine rejects calls and does not restart', async () => {
    engine = new Engine();
    await engine.close();
    await expect(engine.run(affine(), { x: x() })).rejects.toThrow('engine is closed');
    expect(engine.restarts).toBe(0);
  });
});

describe('LlamaModel after a worker crash', () => {
  const cfg = parseLlamaConfig({
    vocab_size: 32,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-engine-'));
    await saveCheckpoint(dir, cfg, initWeights(cfg, 5));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a model loaded from a checkpoint trains on after the worker is killed mid-use, bit-identically', async () => {
    engine = new Engine({ threads: 1 });
    const model = await LlamaModel.load(dir, engine);
    const adapter = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0.2, targets: ['q_proj', 'v_proj', 'down_proj'] }, 3);
    const rng = new Rng(8);
    const batch = lmBatch(Array.from({ length: 3 }, () => Array.from({ length: 9 }, () => 1 + rng.int(31))));
    const step = () =>
      model.gradients(
        'adapter',
        batch,
        { ...adapter.feeds(), ...adapter.dropoutFeeds(batch.batch, batch.seq, new Rng(2)) },
        adapter.graphSpec,
      );
    const before = await step();
    const lossBefore = await model.loss(batch);

    const pending = step();
    const failed = expect(pending).rejects.toThrow(EngineError);
    await engine.killWorker();
    await failed;

    const after = await step();
    expect(engine.restarts).toBe(1);
    expect(after.lossSum).toBe(before.lossSum);
    expect(after.tokens).toBe(before.tokens);
    for (const [name, g] of before.grads) expect(after.grads.get(name), name).toEqual(g);
    expect((await model.loss(batch)).tokenLoss).toEqual(lossBefore.tokenLoss);
  });

  it('a model made from weights in memory fails clearly after a crash', async () => {
    engine = new Engine({ threads: 1 });
    const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 5));
    const batch = lmBatch([[1, 2, 3, 4]]);
    await model.loss(batch);
    await engine.killWorker();
    await expect(model.loss(batch)).rejects.toThrow(new RegExp(`weight set '${model.weightSet}' was lost`));
  });
});

describe('transfer of run inputs', () => {
  it('moves feeds marked transfer and copies the rest', async () => {
    engine = new Engine();
    await engine.setWeights('affine', weights());
    const moved = x();
    const copied = x();
    const model = affine();
    const a = await engine.run(model, { x: transferred(moved) }, ['affine']);
    const b = await engine.run(model, { x: copied }, ['affine']);
    expect(a.y!.data).toEqual(b.y!.data);
    expect(moved.data.length).toBe(0); // detached: the worker owns it now
    expect(Array.from(copied.data as Float32Array)).toEqual([1, 0, 2, -1, 1, 1]);
  });

  it('refuses to move a buffer that a copied feed also reads', async () => {
    engine = new Engine();
    const g = new Graph();
    const p = g.input('p', 'float32', [2]);
    const q = g.input('q', 'float32', [2]);
    const model = exportOnnx(g, { y: g.add(p, q) });
    const shared = new Float32Array([1, 2, 3, 4]);
    const feeds = { p: transferred(f32(shared.subarray(0, 2), [2])), q: f32(shared.subarray(2), [2]) };
    await expect(engine.run(model, feeds)).rejects.toThrow(/shares its buffer/);
    expect(shared.length).toBe(4);
  });
});
