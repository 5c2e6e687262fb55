// The objective for fitting kernel hyperparameters: the log marginal likelihood of standardised
// outputs plus a weak log-normal prior on every positive hyperparameter (a Gaussian on its log), as
// a function of theta = [log l_1..log l_d, log signal var, log noise var] with its analytic gradient
// dL/dtheta = 1/2 tr((alpha alpha^T - K^{-1}) dK/dtheta) (Rasmussen & Williams 2006, eq. 5.9).
import { cholesky, inverse, logDet, NotPositiveDefiniteError, solveCholesky } from './cholesky.js';
import { dimDistance2, type GpHyperparams, type GpInputSpec, matern52, matern52Slope } from './kernel.js';

/** A Gaussian on a log-hyperparameter, and hard-ish bounds enforced by a steep quadratic wall. */
export interface LogPrior {
  readonly mean: number;
  readonly std: number;
  readonly low: number;
  readonly high: number;
}

export interface HyperPriors {
  readonly logLengthscale: LogPrior;
  readonly logSignalVar: LogPrior;
  readonly logNoiseVar: LogPrior;
}

/**
 * Weak defaults for inputs in [0, 1] and standardised outputs: lengthscales around 0.5 (a factor
 * e^1.5 either way is one sd), signal variance around 1, noise small but free to grow.
 */
export const DEFAULT_PRIORS: HyperPriors = {
  logLengthscale: { mean: Math.log(0.5), std: 1.5, low: Math.log(0.01), high: Math.log(100) },
  logSignalVar: { mean: 0, std: 1.5, low: Math.log(0.01), high: Math.log(100) },
  logNoiseVar: { mean: Math.log(1e-2), std: 2.5, low: Math.log(1e-6), high: Math.log(2) },
};

const WALL = 100;
const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Observations to fit: inputs, standardised outputs, and per-dim squared distances of every pair,
 * cached once per fit. Pairs (i, j), j < i, are packed row by row: index i (i - 1) / 2 + j.
 */
export class FitData {
  readonly n: number;
  readonly d: number;
  readonly pairs: number;
  /** dist2[d][pair]: dim d's squared distance (or category mismatch) of the pair. */
  readonly dist2: readonly Float64Array[];

  constructor(
    readonly X: readonly Float64Array[],
    readonly y: Float64Array,
    readonly spec: GpInputSpec,
  ) {
    this.n = X.length;
    this.d = spec.categorical.length;
    this.pairs = (this.n * (this.n - 1)) / 2;
    this.dist2 = spec.categorical.map((cat, dim) => {
      const D = new Float64Array(this.pairs);
      let p = 0;
      for (let i = 0; i < this.n; i++) for (let j = 0; j < i; j++) D[p++] = dimDistance2(X[i]![dim]!, X[j]![dim]!, cat);
      return D;
    });
  }
}

export function toTheta(h: GpHyperparams): Float64Array {
  return Float64Array.from([...h.logLengthscales, h.logSignalVar, h.logNoiseVar]);
}

export function fromTheta(theta: ArrayLike<number>): GpHyperparams {
  const d = theta.length - 2;
  return { logLengthscales: Array.from({ length: d }, (_, i) => theta[i]!), logSignalVar: theta[d]!, logNoiseVar: theta[d + 1]! };
}

/** log N(x; mean, std^2) minus a quadratic wall outside [low, high]; adds d/dx into grad[at]. */
function addLogPrior(p: LogPrior, x: number, grad: Float64Array, at: number): number {
  const z = (x - p.mean) / p.std;
  let value = -0.5 * z * z;
  let g = -z / p.std;
  const over = x > p.high ? x - p.high : x < p.low ? x - p.low : 0;
  value -= 0.5 * WALL * over * over;
  g -= WALL * over;
  grad[at] = grad[at]! + g;
  return value;
}

/** Log marginal likelihood (without prior) and log posterior of theta, with the posterior's gradient. */
export interface MarginalLikelihood {
  readonly logMarginal: number;
  readonly logPosterior: number;
  readonly grad: Float64Array;
}

export function logMarginalLikelihood(data: FitData, theta: ArrayLike<number>, priors: HyperPriors = DEFAULT_PRIORS): MarginalLikelihood {
  const { n, d, y, pairs } = data;
  const invL2 = Float64Array.from({ length: d }, (_, i) => Math.exp(-2 * theta[i]!));
  const sf2 = Math.exp(theta[d]!);
  const sn2 = Math.exp(theta[d + 1]!);
  // Scaled squared distances of all pairs, one dim at a time (contiguous loops).
  const r2 = new Float64Array(pairs);
  for (let dim = 0; dim < d; dim++) {
    const D = data.dist2[dim]!;
    const w = invL2[dim]!;
    for (let p = 0; p < pairs; p++) r2[p] = r2[p]! + w * D[p]!;
  }
  // K, and per pair the slope factor sf2 * matern52Slope(r) of the lengthscale derivatives.
  const K = new Float64Array(n * n);
  const slope = new Float64Array(pairs);
  for (let i = 0, p = 0; i < n; i++) {
    K[i * n + i] = sf2 + sn2;
    for (let j = 0; j < i; j++, p++) {
      const r = Math.sqrt(r2[p]!);
      const k = sf2 * matern52(r);
      K[i * n + j] = k;
      K[j * n + i] = k;
      slope[p] = sf2 * matern52Slope(r);
    }
  }
  const f = cholesky(K, n);
  const alpha = solveCholesky(f, y);
  let yAlpha = 0;
  for (let i = 0; i < n; i++) yAlpha += y[i]! * alpha[i]!;
  const logMarginal = -0.5 * yAlpha - 0.5 * logDet(f) - 0.5 * n * LOG_2PI;

  // W = alpha alpha^T - K^{-1}: the gradient is 1/2 sum_ij W_ij dK_ij; pairs count twice.
  const Kinv = inverse(f);
  const grad = new Float64Array(d + 2);
  let gSignal = 0;
  let trW = 0;
  const ws = slope; // reused in place: W_ij * slope_ij per pair
  for (let i = 0, p = 0; i < n; i++) {
    const wii = alpha[i]! * alpha[i]! - Kinv[i * n + i]!;
    trW += wii;
    gSignal += 0.5 * wii * sf2;
    for (let j = 0; j < i; j++, p++) {
      const w = alpha[i]! * alpha[j]! - Kinv[i * n + j]!;
      gSignal += w * K[i * n + j]!;
      ws[p] = w * slope[p]!;
    }
  }
  for (let dim = 0; dim < d; dim++) {
    const D = data.dist2[dim]!;
    let s = 0;
    for (let p = 0; p < pairs; p++) s += ws[p]! * D[p]!;
    grad[dim] = s * invL2[dim]!;
  }
  grad[d] = gSignal;
  grad[d + 1] = 0.5 * sn2 * trW;

  let logPrior = 0;
  for (let dim = 0; dim < d; dim++) logPrior += addLogPrior(priors.logLengthscale, theta[dim]!, grad, dim);
  logPrior += addLogPrior(priors.logSignalVar, theta[d]!, grad, d);
  logPrior += addLogPrior(priors.logNoiseVar, theta[d + 1]!, grad, d + 1);
  return { logMarginal, logPosterior: logMarginal + logPrior, grad };
}

/** The negative log posterior for a minimiser: +Infinity where the kernel matrix cannot be factored. */
export function negativeLogPosterior(data: FitData, priors: HyperPriors = DEFAULT_PRIORS) {
  return (theta: Float64Array): { value: number; grad: Float64Array } => {
    try {
      const r = logMarginalLikelihood(data, theta, priors);
      return { value: -r.logPosterior, grad: r.grad.map((g) => -g) };
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) return { value: Number.POSITIVE_INFINITY, grad: new Float64Array(theta.length) };
      throw e;
    }
  };
}
