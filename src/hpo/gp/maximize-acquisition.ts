// Maximising an acquisition over the unit cube with legal values only: many random candidates (and
// perturbations of the best observed points) scored in one batch, then coordinate-wise local search
// from the best few (step halving on continuous dims, neighbouring levels on ordinal ones, every
// category on categorical ones). Every point is snapped before it is scored, so the maximum found
// is a value the space allows. Small finite spaces are scored exhaustively instead.
import type { Rng } from '../../engine/rng.js';

/** How a dim of the unit cube may be searched. */
export type SearchDim =
  | { readonly kind: 'continuous' }
  /** Ordinal values (ints, grids): their sorted positions in [0, 1]. */
  | { readonly kind: 'discrete'; readonly levels: Float64Array }
  /** Unordered: values are category indices 0..count-1. */
  | { readonly kind: 'categorical'; readonly count: number };

/** Acquisition values of a batch of points (higher is better). */
export type BatchScore = (xs: readonly Float64Array[]) => Float64Array;

export interface AcquisitionSearch {
  readonly dims: readonly SearchDim[];
  readonly score: BatchScore;
  readonly rng: Rng;
  /** Points that must not be proposed (already tried or pending). */
  readonly isTaken?: (x: Float64Array) => boolean;
  /** When given, exactly these points are scored (a small finite space, enumerated). */
  readonly pool?: readonly Float64Array[];
  /** Good points whose neighbourhoods get extra candidates (the best observations). */
  readonly anchors?: readonly Float64Array[];
  readonly randomCandidates?: number;
  readonly anchorCandidates?: number;
  readonly localStarts?: number;
  /** Acquisition evaluations per local search. */
  readonly localEvaluations?: number;
}

export interface AcquisitionMaximum {
  readonly x: Float64Array;
  readonly value: number;
}

const MIN_STEP = 1e-3;

/** Index of the level nearest to u (levels sorted ascending). */
function nearestLevel(levels: Float64Array, u: number): number {
  let lo = 0;
  let hi = levels.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (levels[mid]! <= u) lo = mid;
    else hi = mid;
  }
  return Math.abs(levels[hi]! - u) < Math.abs(levels[lo]! - u) ? hi : lo;
}

/** The legal value of `dim` nearest to u. */
export function snapDim(dim: SearchDim, u: number): number {
  if (dim.kind === 'continuous') return Math.min(1, Math.max(0, u));
  if (dim.kind === 'categorical') return Math.min(dim.count - 1, Math.max(0, Math.round(u)));
  return dim.levels[nearestLevel(dim.levels, u)]!;
}

function randomValue(dim: SearchDim, rng: Rng): number {
  if (dim.kind === 'continuous') return rng.next();
  if (dim.kind === 'categorical') return rng.int(dim.count);
  return dim.levels[rng.int(dim.levels.length)]!;
}

/** A neighbour of `x` in about half of its dims (at least one). */
function perturb(dims: readonly SearchDim[], x: Float64Array, rng: Rng): Float64Array {
  const y = Float64Array.from(x);
  const forced = rng.int(dims.length);
  for (let d = 0; d < dims.length; d++) {
    if (d !== forced && rng.next() < 0.5) continue;
    const dim = dims[d]!;
    if (dim.kind === 'categorical') y[d] = dim.count > 1 ? (x[d]! + 1 + rng.int(dim.count - 1)) % dim.count : 0;
    else if (dim.kind === 'continuous') y[d] = snapDim(dim, x[d]! + 0.1 * rng.normal());
    else {
      const i = nearestLevel(dim.levels, x[d]!);
      // A jump of about a tenth of the levels, and at least one level.
      const shift = Math.round(0.1 * dim.levels.length * rng.normal()) || (rng.next() < 0.5 ? -1 : 1);
      y[d] = dim.levels[Math.min(dim.levels.length - 1, Math.max(0, i + shift))]!;
    }
  }
  return y;
}

/** Points differing from `x` in dim d only: the moves a coordinate search tries. */
function coordinateMoves(dim: SearchDim, x: Float64Array, d: number, step: number): Float64Array[] {
  const values: number[] = [];
  if (dim.kind === 'continuous') values.push(snapDim(dim, x[d]! - step), snapDim(dim, x[d]! + step));
  else if (dim.kind === 'categorical') for (let c = 0; c < dim.count; c++) values.push(c);
  else {
    const i = nearestLevel(dim.levels, x[d]!);
    for (const j of [i - 2, i - 1, i + 1, i + 2]) if (j >= 0 && j < dim.levels.length) values.push(dim.levels[j]!);
  }
  return [...new Set(values)]
    .filter((v) => v !== x[d])
    .map((v) => {
      const y = Float64Array.from(x);
      y[d] = v;
      return y;
    });
}

function argmaxAllowed(points: readonly Float64Array[], values: Float64Array, isTaken: (x: Float64Array) => boolean): number {
  let best = -1;
  for (let i = 0; i < points.length; i++)
    if ((best < 0 || values[i]! > values[best]!) && !Number.isNaN(values[i]!) && !isTaken(points[i]!)) best = i;
  return best;
}

function localSearch(s: AcquisitionSearch, start: AcquisitionMaximum, isTaken: (x: Float64Array) => boolean): AcquisitionMaximum {
  let { x, value } = start;
  let step = 0.1;
  let evaluations = 0;
  const budget = s.localEvaluations ?? 60 + 20 * s.dims.length;
  const hasContinuous = s.dims.some((d) => d.kind === 'continuous');
  while (evaluations < budget) {
    let improved = false;
    for (let d = 0; d < s.dims.length && evaluations < budget; d++) {
      const moves = coordinateMoves(s.dims[d]!, x, d, step).filter((m) => !isTaken(m));
      if (!moves.length) continue;
      const values = s.score(moves);
      evaluations += moves.length;
      const i = argmaxAllowed(moves, values, () => false);
      if (i >= 0 && values[i]! > value) {
        x = moves[i]!;
        value = values[i]!;
        improved = true;
      }
    }
    if (improved) continue;
    if (!hasContinuous || step <= MIN_STEP) break;
    step /= 4;
  }
  return { x, value };
}

/** The best legal, untaken point found, or undefined when every candidate is taken. */
export function maximizeAcquisition(s: AcquisitionSearch): AcquisitionMaximum | undefined {
  const isTaken = s.isTaken ?? (() => false);
  if (s.pool) {
    const points = s.pool.filter((x) => !isTaken(x));
    if (!points.length) return undefined;
    const values = s.score(points);
    const i = argmaxAllowed(points, values, () => false);
    return i < 0 ? undefined : { x: points[i]!, value: values[i]! };
  }
  const candidates: Float64Array[] = [];
  for (let c = 0; c < (s.randomCandidates ?? 1024); c++) candidates.push(Float64Array.from(s.dims, (dim) => randomValue(dim, s.rng)));
  const anchors = s.anchors ?? [];
  const perAnchor = anchors.length ? Math.ceil((s.anchorCandidates ?? 256) / anchors.length) : 0;
  for (const a of anchors) for (let c = 0; c < perAnchor; c++) candidates.push(perturb(s.dims, a, s.rng));
  const values = s.score(candidates);
  // Best few distinct, untaken candidates start local searches.
  const order = candidates.map((_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
  const starts: AcquisitionMaximum[] = [];
  const seen = new Set<string>();
  for (const i of order) {
    if (starts.length >= (s.localStarts ?? 4)) break;
    const key = candidates[i]!.join(',');
    if (seen.has(key) || Number.isNaN(values[i]!) || isTaken(candidates[i]!)) continue;
    seen.add(key);
    starts.push({ x: candidates[i]!, value: values[i]! });
  }
  let best: AcquisitionMaximum | undefined;
  for (const start of starts) {
    const r = localSearch(s, start, isTaken);
    if (!best || r.value > best.value) best = r;
  }
  return best;
}
