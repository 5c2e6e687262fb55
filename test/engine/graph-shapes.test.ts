// Shape inference with symbolic dims in the graph builder, dtype checks, and the dim names the
// ONNX export writes (they feed graph signatures, so they must not depend on build order).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, f32 } from '../../src/engine/engine.js';
import { Graph, ShapeError, dimsEqual } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';

const show = (shape: readonly unknown[]): string[] => shape.map(String);

describe('symbolic shapes', () => {
  it('a concat in either order gives the same dim as a declared p+s', () => {
    for (const order of ['past first', 'new first'] as const) {
      const g = new Graph();
      const past = g.input('past', 'float32', ['b', 'p', 4]);
      const step = g.input('step', 'float32', ['b', 's', 4]);
      const mask = g.input('mask', 'float32', ['b', 'p+s', 1]);
      const joined = g.concat(order === 'past first' ? [past, step] : [step, past], 1);
      expect(show(joined.shape)).toEqual(['b', 'p+s', '4']);
      // Broadcasting and MatMul both need the dims to unify.
      expect(show(g.mul(joined, mask).shape)).toEqual(['b', 'p+s', '4']);
      const scores = g.matmul(g.transposeLast(mask), joined);
      expect(show(scores.shape)).toEqual(['b', '1', '4']);
    }
  });

  it('still refuses dims that differ', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['b', 'p+s']);
    const y = g.input('y', 'float32', ['b', 'p+s+1']);
    expect(() => g.add(x, y)).toThrow(ShapeError);
    const w = g.input('w', 'float32', ['p*s', 3]);
    expect(() => g.matmul(x, w)).toThrow(/inner dims differ/);
  });

  it('matches reordered products (MatMul inner dim s*b against b*s)', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 's*b']);
    const w = g.input('w', 'float32', ['b*s', 3]);
    expect(show(g.matmul(x, w).shape)).toEqual(['2', '3']);
  });

  it('infers Reshape -1 by exact division of symbolic products', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['b', 's', 4, 2]);
    expect(show(g.reshape(x, [-1, 8]).shape)).toEqual(['b*s', '8']);
    expect(show(g.reshape(x, [0, 0, -1]).shape)).toEqual(['b', 's', '8']);
    const flat = g.reshape(x, [-1, 2]);
    expect(show(flat.shape)).toEqual(['4*b*s', '2']);
    // Back to [b, s, 8] through a symbolic total: the b*s cancels whatever the factor order.
    expect(show(g.reshape(g.reshape(x, [0, 0, 8]), [-1, 8]).shape)).toEqual(['b*s', '8']);
    const y = g.input('y', 'float32', ['s', 'b', 3]);
    expect(dimsEqual(g.flattenLeading(y).shape[0]!, g.reshape(x, [-1, 8]).shape[0]!)).toBe(true);
  });

  it('pads and slices symbolic dims', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['s', 4]);
    expect(show(g.pad(x, [1, 0, 2, 0]).shape)).toEqual(['s+3', '4']);
    expect(show(g.slice(x, 0, 1, 3).shape)).toEqual(['(s)[1:3]', '4']);
    expect(show(g.slice(x, 1, 1, 3).shape)).toEqual(['s', '2']);
  });
});

describe('dtype checks', () => {
  it('every operand of an op must share one dtype; int64 arithmetic is allowed', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2]);
    const d = g.input('d', 'float64', [2]);
    const i = g.input('i', 'int64', [2]);
    expect(() => g.add(a, d)).toThrow('Add: dtype mismatch float32 vs float64');
    expect(() => g.matmul(g.unsqueeze(a, [0]), g.unsqueeze(d, [1]))).toThrow('MatMul: dtype mismatch float32 vs float64');
    expect(() => g.concat([a, i], 0)).toThrow('Concat: dtype mismatch float32 vs int64');
    expect(() => g.where(g.less(a, a), a, i)).toThrow('Where: dtype mismatch float32 vs int64');
    expect(g.add(i, i).dtype).toBe('int64');
    expect(g.concat([d, d], 0).dtype).toBe('float64');
  });
});

describe('export', () => {
  const build = (maskDims: string, order: 'ab' | 'ba') => {
    const g = new Graph();
    const x = g.input('x', 'float32', order === 'ab' ? ['b*s', 2] : ['s*b', 2]);
    const m = g.input('m', 'float32', [maskDims, 2]);
    return exportOnnx(g, { y: g.add(g.sumAll(x), g.sumAll(m)) });
  };

  it('writes canonical dim names, so the signature does not depend on how a dim was written', () => {
    const canonical = build('p+s', 'ab');
    expect(build('s+p', 'ba').signature).toBe(canonical.signature);
    const text = new TextDecoder().decode(canonical.bytes);
    expect(text).toContain('p+s');
    expect(text).toContain('b*s');
    expect(build('p+s+1', 'ab').signature).not.toBe(canonical.signature);
  });

  describe('runs', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = new Engine();
    });
    afterAll(async () => {
      await engine?.close();
    });

    it('ORT accepts the symbolic dims and binds them per run', async () => {
      const model = build('s+p', 'ba');
      const x = f32([1, 2, 3, 4, 5, 6], [3, 2]);
      const m = f32([10, 20, 30, 40], [2, 2]);
      expect((await engine.run(model, { x, m })).y!.data[0]).toBe(121);
      expect((await engine.run(model, { x: f32([1, 1], [1, 2]), m })).y!.data[0]).toBe(102);
    });
  });
});
