// What crosses between the main thread and the engine worker: host tensors (copied, or moved when
// marked `transfer`) and tensors the worker builds itself from a small recipe (dropout masks).
import { EngineError } from './errors.js';
import type { DType } from './graph.js';

export type HostData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: HostData;
  /**
   * Move `data`'s buffer into the worker instead of copying it: the caller's array is detached
   * (length 0) once the call is made. Only for arrays made for this one call; never for arrays a
   * caller keeps using (live adapter parameters, batches that are evaluated again).
   */
  transfer?: boolean;
}
export type Feeds = Record<string, HostTensor>;

/**
 * A float32 feed the worker builds itself instead of receiving it: an inverted-dropout mask (0 with
 * probability p, else 1/(1-p)) drawn from the xoshiro128** state `rng` (uint32 words), as
 * xoshiro.js's dropoutMask draws it. Keeps tens of millions of values per step off the event loop.
 */
export interface DropoutMaskFeed {
  kind: 'dropout-mask';
  dims: number[];
  p: number;
  rng: number[];
}
/** What a run takes: tensors from the caller and tensors the worker builds. */
export type RunFeeds = Record<string, HostTensor | DropoutMaskFeed>;

/** The same tensor, marked to be moved into the worker rather than copied (see HostTensor.transfer). */
export const transferred = (t: HostTensor): HostTensor => ({ ...t, transfer: true });

export const f32 = (data: Float32Array | number[], dims: number[]): HostTensor => ({
  dtype: 'float32',
  dims,
  data: data instanceof Float32Array ? data : Float32Array.from(data),
});
export const i64 = (data: BigInt64Array | number[], dims: number[]): HostTensor => ({
  dtype: 'int64',
  dims,
  data: data instanceof BigInt64Array ? data : BigInt64Array.from(data.map(BigInt)),
});

export function uniqueBuffers(tensors: Feeds): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) if (t.data.buffer instanceof ArrayBuffer) set.add(t.data.buffer);
  return [...set];
}

/** Buffers of the feeds marked `transfer` (for postMessage's transfer list); refuses one that a copied feed also reads. */
export function transferList(feeds: RunFeeds): ArrayBuffer[] {
  const moved = new Set<ArrayBuffer>();
  const copied = new Set<ArrayBufferLike>();
  for (const [name, t] of Object.entries(feeds)) {
    if (!('data' in t)) continue;
    if (!t.transfer) copied.add(t.data.buffer);
    else if (t.data.buffer instanceof ArrayBuffer) moved.add(t.data.buffer);
    else throw new EngineError(`feed '${name}' is marked transfer but its buffer is shared`);
  }
  for (const b of moved) if (copied.has(b)) throw new EngineError('a feed marked transfer shares its buffer with a feed that is copied');
  return [...moved];
}
