// FLOP accounting from a graph's own MatMul shapes: 2·m·n·k per output matrix, times batch dims.
import { evalDim } from './dims.js';
import type { Shape } from './graph.js';
import type { ExportedModel } from './onnx.js';

const size = (dims: Shape, b: Readonly<Record<string, number>>): number[] => dims.map((d) => evalDim(d, b));

/** Total MatMul FLOPs of one run of the model for the given symbolic-dim values. */
export function matmulFlops(model: Pick<ExportedModel, 'matmuls'>, bindings: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const { a, b } of model.matmuls) {
    const as = size(a, bindings);
    const bs = size(b, bindings);
    const [m, k] = as.slice(-2) as [number, number];
    const n = bs.at(-1)!;
    const batchA = as.slice(0, -2);
    const batchB = bs.slice(0, -2);
    const rank = Math.max(batchA.length, batchB.length);
    let batch = 1;
    for (let i = 0; i < rank; i++) batch *= Math.max(batchA[batchA.length - rank + i] ?? 1, batchB[batchB.length - rank + i] ?? 1);
    total += 2 * batch * m * n * k;
  }
  return total;
}
