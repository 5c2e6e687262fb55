// Matérn-5/2 kernel with one lengthscale per input dimension (automatic relevance determination).
// Continuous and ordinal dims live in [0, 1]; a categorical dim holds a category index and
// contributes a 0/1 mismatch instead of a difference, so no one-hot encoding is needed.

/** Kernel hyperparameters in log space (the space they are fitted in), JSON-serialisable. */
export interface GpHyperparams {
  readonly logLengthscales: readonly number[];
  readonly logSignalVar: number;
  readonly logNoiseVar: number;
}

/** Inputs of a GP: which dims are categorical (their values are category indices). */
export interface GpInputSpec {
  readonly categorical: readonly boolean[];
}

const SQRT5 = Math.sqrt(5);

/** Matérn-5/2 correlation at scaled distance r: (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r). */
export function matern52(r: number): number {
  return (1 + SQRT5 * r + (5 / 3) * r * r) * Math.exp(-SQRT5 * r);
}

/**
 * -(1/r) d matern52/dr = (5/3)(1 + sqrt5 r) exp(-sqrt5 r): the factor that turns a dim's share of
 * r^2 into the derivative with respect to that dim's log lengthscale (finite at r = 0).
 */
export function matern52Slope(r: number): number {
  return (5 / 3) * (1 + SQRT5 * r) * Math.exp(-SQRT5 * r);
}

/** Squared difference of two inputs in one dim: (a - b)^2, or the 0/1 mismatch of categories. */
export function dimDistance2(a: number, b: number, categorical: boolean): number {
  if (categorical) return a === b ? 0 : 1;
  const d = a - b;
  return d * d;
}

/** 1 / lengthscale^2 per dim. */
export function inverseSquaredLengthscales(h: GpHyperparams): Float64Array {
  return Float64Array.from(h.logLengthscales, (l) => Math.exp(-2 * l));
}

/** Scaled squared distance sum_d dist_d(a, b) / l_d^2. */
export function scaledDistance2(a: ArrayLike<number>, b: ArrayLike<number>, invL2: Float64Array, spec: GpInputSpec): number {
  let s = 0;
  for (let d = 0; d < invL2.length; d++) s += dimDistance2(a[d]!, b[d]!, spec.categorical[d]!) * invL2[d]!;
  return s;
}

/** Covariances of `x` with each row of `X` (noise-free), written into `out`. */
export function crossCovariance(
  X: readonly Float64Array[],
  x: ArrayLike<number>,
  h: GpHyperparams,
  invL2: Float64Array,
  spec: GpInputSpec,
  out = new Float64Array(X.length),
): Float64Array {
  const sf2 = Math.exp(h.logSignalVar);
  for (let i = 0; i < X.length; i++) out[i] = sf2 * matern52(Math.sqrt(scaledDistance2(X[i]!, x, invL2, spec)));
  return out;
}

/** The training covariance K + noise I over the rows of X (row-major, exactly symmetric). */
export function trainingCovariance(X: readonly Float64Array[], h: GpHyperparams, spec: GpInputSpec): Float64Array {
  const n = X.length;
  const invL2 = inverseSquaredLengthscales(h);
  const sf2 = Math.exp(h.logSignalVar);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    K[i * n + i] = sf2 + Math.exp(h.logNoiseVar);
    for (let j = 0; j < i; j++) {
      const k = sf2 * matern52(Math.sqrt(scaledDistance2(X[i]!, X[j]!, invL2, spec)));
      K[i * n + j] = k;
      K[j * n + i] = k;
    }
  }
  return K;
}
