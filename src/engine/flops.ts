// FLOP accounting from a graph's own MatMul shapes: 2·m·n·k per output matrix, times batch dims.
import type { Dim, Shape } from './graph.js';
import type { ExportedModel } from './onnx.js';

/** Value of a (possibly symbolic) dim: 'b*s', 'p+s', '(b*s*8)/(8)' with the given bindings. */
export function evalDim(d: Dim, bindings: Record<string, number>): number {
  if (typeof d === 'number') return d;
  const expr = d.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (name) => {
    const v = bindings[name];
    if (v === undefined) throw new Error(`no value bound for symbolic dim '${name}' in '${d}'`);
    return String(v);
  });
  if (!/^[0-9+\-*/() ]+$/.test(expr)) throw new Error(`cannot evaluate dim '${d}'`);
  return Number(new Function(`return (${expr});`)());
}

const size = (dims: Shape, b: Record<string, number>): number[] => dims.map((d) => evalDim(d, b));

/** Total MatMul FLOPs of one run of the model for the given symbolic-dim values. */
export function matmulFlops(model: Pick<ExportedModel, 'matmuls'>, bindings: Record<string, number>): number {
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
