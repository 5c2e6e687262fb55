// Symmetric int8 quantization: value = q * scale with q in [-127, 127] and one scale per group of
// consecutive values (a whole tensor, or one row). -128 is never produced, so the grid is symmetric
// around zero and zero is exact. Pure functions over typed arrays.

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The next float32 above a non-negative float32. */
function nextUpF32(x: number): number {
  F32[0] = x;
  U32[0]! += 1;
  return F32[0]!;
}

/**
 * The float32 scale for a group whose largest magnitude is `maxAbs`: about maxAbs / 127, nudged up
 * where float32 rounding (or a subnormal maxAbs) would otherwise push |x / scale| past 127.5, so the
 * error bound |x - q * scale| <= scale / 2 always holds. 0 for an all-zero group.
 */
export function int8Scale(maxAbs: number): number {
  if (!(maxAbs >= 0 && maxAbs < Infinity)) throw new RangeError(`int8Scale: maxAbs must be finite and >= 0, got ${maxAbs}`);
  if (maxAbs === 0) return 0;
  let s = Math.fround(maxAbs / 127);
  while (!(maxAbs / s <= 127.5)) s = nextUpF32(s); // also leaves s = 0 (underflow) behind
  return s;
}

/**
 * Quantizes `data` in `groups` equal consecutive groups (1: per tensor; rows: per row).
 * Values must be finite (the caller checks).
 */
export function quantizeInt8(data: Float32Array, groups: number): { q: Int8Array; scales: Float32Array } {
  const size = data.length / groups;
  if (!Number.isInteger(size)) throw new RangeError(`quantizeInt8: ${data.length} values do not split into ${groups} groups`);
  const q = new Int8Array(data.length);
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    const lo = g * size;
    const hi = lo + size;
    let maxAbs = 0;
    for (let i = lo; i < hi; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]!));
    const s = int8Scale(maxAbs);
    scales[g] = s;
    if (s === 0) continue;
    for (let i = lo; i < hi; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / s)));
  }
  return { q, scales };
}

/** value = q * scale of its group, into `out` (float32 rounding of the product only). */
export function dequantizeInt8(q: Int8Array, scales: Float32Array, out: Float32Array): Float32Array {
  const size = q.length / scales.length;
  for (let g = 0; g < scales.length; g++) {
    const s = scales[g]!;
    const lo = g * size;
    for (let i = lo; i < lo + size; i++) out[i] = q[i]! * s;
  }
  return out;
}
