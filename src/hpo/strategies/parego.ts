// ParEGO (Knowles, IEEE TEC 2006): several objectives become one by a random weighting, drawn afresh
// for every suggestion so that over many suggestions the whole Pareto front is aimed at. The
// augmented Tchebycheff scalarisation reaches non-convex parts of the front, unlike a weighted sum.
import type { Rng } from '../../engine/rng.js';

/** A weight vector uniform on the simplex (normalised exponentials). */
export function simplexWeights(k: number, rng: Rng): number[] {
  const e = Array.from({ length: k }, () => -Math.log(1 - rng.next()));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * max_i w_i f_i + rho sum_i w_i f_i over objectives rescaled to [0, 1] by their range in `rows`
 * (all minimised). Rows are observations, columns objectives.
 */
export function augmentedTchebycheff(rows: readonly (readonly number[])[], weights: readonly number[], rho = 0.05): Float64Array {
  const k = weights.length;
  const lo = new Array<number>(k).fill(Number.POSITIVE_INFINITY);
  const hi = new Array<number>(k).fill(Number.NEGATIVE_INFINITY);
  for (const r of rows)
    for (let i = 0; i < k; i++) {
      lo[i] = Math.min(lo[i]!, r[i]!);
      hi[i] = Math.max(hi[i]!, r[i]!);
    }
  return Float64Array.from(rows, (r) => {
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const span = hi[i]! - lo[i]!;
      const f = weights[i]! * (span > 0 ? (r[i]! - lo[i]!) / span : 0);
      max = Math.max(max, f);
      sum += f;
    }
    return max + rho * sum;
  });
}
