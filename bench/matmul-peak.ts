// The MatMul peak a benchmark compares its training step with: the best of 8 runs of a 1024^3 MatMul
// through the same engine (same threads, same worker), in GFLOP/s.
import { type Engine, f32 } from '../src/engine/engine.js';
import { Graph } from '../src/engine/graph.js';
import { exportOnnx } from '../src/engine/onnx.js';
import { Rng } from '../src/engine/rng.js';

export async function matmulPeak(engine: Engine): Promise<number> {
  const N = 1024;
  const g = new Graph();
  const y = g.matmul(g.input('a', 'float32', [N, N]), g.input('b', 'float32', [N, N]));
  const model = exportOnnx(g, { y });
  const rng = new Rng(0);
  const a = new Float32Array(N * N);
  rng.fillUniform(a, -1, 1);
  const feeds = { a: f32(a, [N, N]), b: f32(a.slice(), [N, N]) };
  await engine.run(model, feeds);
  let best = Infinity;
  for (let i = 0; i < 8; i++) {
    const t = performance.now();
    await engine.run(model, feeds);
    best = Math.min(best, performance.now() - t);
  }
  return (2 * N * N * N) / (best / 1000) / 1e9;
}
