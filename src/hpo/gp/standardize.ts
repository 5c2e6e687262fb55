// Outputs are standardised before fitting, so that one set of priors (signal variance ~ 1) suits
// objectives on any scale.

export interface Standardized {
  readonly values: Float64Array;
  readonly mean: number;
  /** 1 when the outputs are all equal. */
  readonly std: number;
}

export function standardize(y: ArrayLike<number>): Standardized {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean = n ? mean / n : 0;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (y[i]! - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const std = sd > 1e-12 * Math.max(1, Math.abs(mean)) ? sd : 1;
  return { values: Float64Array.from(y, (v) => (v - mean) / std), mean, std };
}
