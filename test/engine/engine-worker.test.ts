// The engine worker's robustness: run inputs marked `transfer` move, the rest are copied.
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, f32, transferred, type Feeds } from '../../src/engine/engine.js';
import { Graph } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';

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
