// The GP posterior for fixed hyperparameters: mean and latent (noise-free) variance at new inputs,
// and cheap conditioning on one more observation (a pending point with a made-up value, for batches).
import { type CholeskyFactor, cholesky, extendCholesky, solveCholesky, solveLower } from './cholesky.js';
import { crossCovariance, type GpHyperparams, type GpInputSpec, inverseSquaredLengthscales, trainingCovariance } from './kernel.js';

export interface Prediction {
  readonly mean: Float64Array;
  /** Variance of the latent function (observation noise excluded), floored above zero. */
  readonly variance: Float64Array;
}

export class GpPosterior {
  private readonly invL2: Float64Array;
  private readonly signalVar: number;
  private readonly noiseVar: number;

  private constructor(
    readonly X: readonly Float64Array[],
    readonly y: Float64Array,
    readonly hyper: GpHyperparams,
    readonly spec: GpInputSpec,
    private readonly factor: CholeskyFactor,
    private readonly alpha: Float64Array,
  ) {
    this.invL2 = inverseSquaredLengthscales(hyper);
    this.signalVar = Math.exp(hyper.logSignalVar);
    this.noiseVar = Math.exp(hyper.logNoiseVar);
  }

  /** Condition the prior on (X, y); `y` standardised (the prior mean is 0). */
  static fit(X: readonly Float64Array[], y: ArrayLike<number>, hyper: GpHyperparams, spec: GpInputSpec): GpPosterior {
    const yy = Float64Array.from(y);
    const factor = cholesky(trainingCovariance(X, hyper, spec), X.length);
    return new GpPosterior(X, yy, hyper, spec, factor, solveCholesky(factor, yy));
  }

  get size(): number {
    return this.X.length;
  }

  /** The posterior with (x, value) added as an observation: O(n^2) by extending the Cholesky factor. */
  withObservation(x: Float64Array, value: number): GpPosterior {
    const k = crossCovariance(this.X, x, this.hyper, this.invL2, this.spec);
    const factor = extendCholesky(this.factor, k, this.signalVar + this.noiseVar);
    const y = new Float64Array(this.y.length + 1);
    y.set(this.y);
    y[this.y.length] = value;
    return new GpPosterior([...this.X, x], y, this.hyper, this.spec, factor, solveCholesky(factor, y));
  }

  /** Posterior means at the training inputs: K_f alpha = y - (noise + jitter) alpha. */
  trainingMeans(): Float64Array {
    const s = this.noiseVar + this.factor.jitter;
    return this.y.map((v, i) => v - s * this.alpha[i]!);
  }

  /** Means and latent variances at `xs`. */
  predict(xs: readonly ArrayLike<number>[]): Prediction {
    const n = this.X.length;
    const mean = new Float64Array(xs.length);
    const variance = new Float64Array(xs.length);
    const k = new Float64Array(n);
    const v = new Float64Array(n);
    const floor = 1e-12 * this.signalVar;
    for (let c = 0; c < xs.length; c++) {
      crossCovariance(this.X, xs[c]!, this.hyper, this.invL2, this.spec, k);
      let m = 0;
      for (let i = 0; i < n; i++) m += k[i]! * this.alpha[i]!;
      solveLower(this.factor, k, v);
      let explained = 0;
      for (let i = 0; i < n; i++) explained += v[i]! * v[i]!;
      mean[c] = m;
      variance[c] = Math.max(this.signalVar - explained, floor);
    }
    return { mean, variance };
  }
}
