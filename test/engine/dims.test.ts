// Symbolic dims: one canonical form whatever order built a dim, exact division, evaluation.
import { describe, expect, it } from 'vitest';
import {
  ShapeError,
  addDims,
  dimsEqual,
  divDims,
  evalDim,
  mulDims,
  productOfDims,
  sliceDim,
  symbol,
  toDim,
  type Dim,
} from '../../src/engine/dims.js';

const b = symbol('b');
const s = symbol('s');
const p = symbol('p');
const text = (d: Dim): string => String(d);

describe('canonical form', () => {
  it('orders the factors of a product and the terms of a sum', () => {
    expect(dimsEqual(mulDims(s, b), mulDims(b, s))).toBe(true);
    expect(text(mulDims(s, b))).toBe('b*s');
    expect(dimsEqual(addDims(s, p), addDims(p, s))).toBe(true);
    expect(text(addDims(s, p))).toBe('p+s');
    expect(dimsEqual(toDim('s*p*b'), productOfDims([p, b, s]))).toBe(true);
    expect(dimsEqual(toDim('s + b*p + 3'), toDim('3+p*b+s'))).toBe(true);
    expect(text(toDim('s + b*p + 3'))).toBe('b*p+s+3');
  });

  it('folds constants and collects like terms', () => {
    expect(text(toDim('2*b*4'))).toBe('8*b');
    expect(text(toDim('b+1+2'))).toBe('b+3');
    expect(text(toDim('b+s+b'))).toBe('2*b+s');
    expect(text(toDim('(b+1)*(b-1)'))).toBe('b*b-1');
    expect(toDim('3*4')).toBe(12);
    expect(toDim('b-b')).toBe(0);
    expect(mulDims(0, b)).toBe(0);
    expect(addDims(2, 3)).toBe(5);
  });

  it('tells different dims apart', () => {
    expect(dimsEqual(toDim('b*s'), toDim('b+s'))).toBe(false);
    expect(dimsEqual(toDim('b*s'), toDim('2*b*s'))).toBe(false);
    expect(dimsEqual(toDim('b'), 1)).toBe(false);
    expect(dimsEqual(4, 4)).toBe(true);
  });

  it('rejects text that is not a dim', () => {
    for (const bad of ['b**s', '2b', 'b+', '(b', 'b)', 'b.s', '']) expect(() => toDim(bad), bad).toThrow(ShapeError);
  });
});

describe('division', () => {
  it('is exact when the divisor divides, whatever the order of factors and terms', () => {
    expect(text(divDims(toDim('8*b*s'), toDim('s*2')))).toBe('4*b');
    expect(divDims(toDim('b*s'), toDim('s*b'))).toBe(1);
    expect(text(divDims(toDim('b*p+b*s'), toDim('s+p')))).toBe('b');
    expect(text(divDims(toDim('(p+s)*(p+s)'), toDim('p+s')))).toBe('p+s');
    expect(divDims(12, 4)).toBe(3);
  });

  it('keeps an inexact quotient as one opaque factor that evaluates at run time', () => {
    const half = divDims(b, 2);
    expect(text(half)).toBe('(b)/(2)');
    expect(dimsEqual(half, divDims(toDim('b'), 2))).toBe(true);
    expect(evalDim(half, { b: 6 })).toBe(3);
    expect(() => evalDim(half, { b: 5 })).toThrow(/not an integer/);
    expect(text(divDims(toDim('b*s'), toDim('p+s')))).toBe('(b*s)/(p+s)');
    expect(text(divDims(7, 2))).toBe('(7)/(2)');
    expect(() => divDims(b, 0)).toThrow(ShapeError);
  });
});

describe('evaluation', () => {
  it('binds named sizes', () => {
    expect(evalDim('2*b*s+p', { b: 2, s: 3, p: 4 })).toBe(16);
    expect(evalDim(toDim('(b+1)*(b-1)'), { b: 5 })).toBe(24);
    expect(evalDim(7, {})).toBe(7);
    // A slice of a symbolic size clamps as ONNX Slice does once the size is known.
    expect(evalDim(sliceDim(s, 2, 10), { s: 6 })).toBe(4);
    expect(evalDim(sliceDim(s, 0, -1), { s: 6 })).toBe(5);
    expect(sliceDim(6, 2, 10)).toBe(4);
  });

  it('names an unbound dim and the dim it occurs in', () => {
    expect(() => evalDim('b*s', { b: 2 })).toThrow(ShapeError);
    expect(() => evalDim('b*s', { b: 2 })).toThrow("no value bound for symbolic dim 's' (in 'b*s')");
    expect(() => evalDim('b', { b: 1.5 })).toThrow(/not a size/);
  });
});
