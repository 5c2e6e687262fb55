// Named tensors: the currency of federation. An adapter, a client update, a pseudo-gradient and a
// server momentum buffer are all a Map from PEFT tensor name to a row-major float32 tensor. The
// element type is the one safetensors already uses, so named tensors save and load as they are.
import type { TensorF32 } from '../model/safetensors.js';
import type { Adapter } from '../peft/adapter.js';

export type Tensor = TensorF32;
export type NamedTensors = Map<string, Tensor>;

/** A problem with the names, shapes or values of named tensors. */
export class TensorLayoutError extends Error {
  override name = 'TensorLayoutError';
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Total number of values over all tensors. */
export function countValues(tensors: NamedTensors): number {
  let n = 0;
  for (const t of tensors.values()) n += t.data.length;
  return n;
}

/** Deep copy: no array is shared with the input. */
export function cloneTensors(tensors: NamedTensors): NamedTensors {
  return new Map([...tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]));
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Each tensor's shape is made of positive integers and matches its number of values. */
export function checkWellFormed(tensors: NamedTensors, where = 'tensors'): void {
  for (const [name, t] of tensors) {
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 1))
      throw new TensorLayoutError(`${where}: tensor '${name}' has an invalid shape ${fmt(t.shape)}`);
    if (elementCount(t.shape) !== t.data.length)
      throw new TensorLayoutError(`${where}: tensor '${name}' has shape ${fmt(t.shape)} but ${t.data.length} values`);
  }
}

/** `actual` has exactly the names of `expected`, each with the same shape (and a matching length). */
export function checkSameLayout(expected: NamedTensors, actual: NamedTensors, where = 'tensors'): void {
  for (const name of expected.keys()) if (!actual.has(name)) throw new TensorLayoutError(`${where}: missing tensor '${name}'`);
  for (const [name, t] of actual) {
    const want = expected.get(name);
    if (!want) throw new TensorLayoutError(`${where}: unexpected tensor '${name}'`);
    if (!sameShape(want.shape, t.shape))
      throw new TensorLayoutError(`${where}: tensor '${name}' has shape ${fmt(t.shape)}, expected ${fmt(want.shape)}`);
    if (t.data.length !== want.data.length)
      throw new TensorLayoutError(`${where}: tensor '${name}' has ${t.data.length} values, expected ${want.data.length}`);
  }
}

/** Every value is finite (no NaN, no ±Infinity). */
export function checkFinite(tensors: NamedTensors, where = 'tensors'): void {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++)
      if (!Number.isFinite(d[i]!)) throw new TensorLayoutError(`${where}: tensor '${name}' holds ${d[i]} at index ${i}`);
  }
}

/** Elementwise a + s * b over two tensor sets of the same layout (a new set; float64 arithmetic per element). */
export function addScaled(a: NamedTensors, b: NamedTensors, s: number): NamedTensors {
  checkSameLayout(a, b);
  const out: NamedTensors = new Map();
  for (const [name, ta] of a) {
    const x = ta.data;
    const y = b.get(name)!.data;
    const z = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) z[i] = x[i]! + s * y[i]!;
    out.set(name, { shape: [...ta.shape], data: z });
  }
  return out;
}

/** a - b: e.g. a client's update as a delta from the global adapter, which quantizes far better than the weights. */
export const subtractTensors = (a: NamedTensors, b: NamedTensors): NamedTensors => addScaled(a, b, -1);

/** An adapter's tensors with their PEFT shapes (copies, so the adapter can keep training). */
export function adapterTensors(adapter: Adapter): NamedTensors {
  return new Map([...adapter.tensors].map(([k, v]) => [k, { shape: adapter.shapeOf(k), data: v.slice() }]));
}

/** Copies named tensors into an adapter's own arrays (in place: graphs and trainers holding them see the change). */
export function loadIntoAdapter(adapter: Adapter, tensors: NamedTensors): void {
  const expected = new Map([...adapter.tensors].map(([k, v]) => [k, { shape: adapter.shapeOf(k), data: v }]));
  checkSameLayout(expected, tensors, 'adapter');
  for (const [k, t] of tensors) adapter.tensors.get(k)!.set(t.data);
}
