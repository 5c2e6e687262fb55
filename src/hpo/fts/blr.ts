// Bayesian linear regression on features: y = phi(x)·w + noise, prior w ~ N(0, I), noise N(0, σ²).
// Posterior: A = ΦᵀΦ/σ² + I, Σ = A⁻¹, μ = Σ Φᵀ y / σ². A Thompson sample is w = μ + L⁻ᵀ z with
// A = L Lᵀ and z ~ N(0, I) (so Cov(w) = (L Lᵀ)⁻¹ = Σ). With RFF of a unit-variance kernel this is a
// finite-dimensional stand-in for a GP on standardised targets. The M x M algebra uses ml-matrix.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { Rng } from '../../engine/rng.js';

export class BayesianLinearRegression {
  private constructor(
    /** Posterior mean of the weights. */
    readonly mean: Float64Array,
    /** Lower Cholesky factor L of the posterior precision A. */
    private readonly precision: CholeskyDecomposition,
  ) {}

  /** Σ = A⁻¹, computed on first use (sampling needs only the factor). */
  private covariance: Matrix | undefined;

  /** Fits on feature rows `phi` (n x M) and targets `y` (n). With n = 0 this is the prior. */
  static fit(phi: readonly ArrayLike<number>[], y: ArrayLike<number>, features: number, noiseVariance: number): BayesianLinearRegression {
    if (phi.length !== y.length) throw new RangeError(`BLR: ${phi.length} feature rows but ${y.length} targets`);
    if (!(noiseVariance > 0)) throw new RangeError(`BLR: noise variance must be positive, got ${noiseVariance}`);
    const m = features;
    const Phi = phi.length ? new Matrix(phi.map((r) => Array.from(r))) : Matrix.zeros(0, m);
    if (phi.length && Phi.columns !== m) throw new RangeError(`BLR: feature rows of length ${Phi.columns}, want ${m}`);
    const precision = Phi.transpose().mmul(Phi).div(noiseVariance).add(Matrix.eye(m, m));
    const chol = new CholeskyDecomposition(precision);
    if (!chol.isPositiveDefinite()) throw new RangeError('BLR: posterior precision is not positive definite');
    const rhs = phi.length
      ? Phi.transpose()
          .mmul(Matrix.columnVector(Array.from(y)))
          .div(noiseVariance)
      : Matrix.zeros(m, 1);
    const mean = chol.solve(rhs).getColumn(0);
    return new BayesianLinearRegression(Float64Array.from(mean), chol);
  }

  get features(): number {
    return this.mean.length;
  }

  /** One draw from the posterior of w. */
  sample(rng: Rng): Float64Array {
    const m = this.features;
    const z = Float64Array.from({ length: m }, () => rng.normal());
    // Solve Lᵀ u = z (back substitution): u = L⁻ᵀ z.
    const L = this.precision.lowerTriangularMatrix.to2DArray();
    const u = new Float64Array(m);
    for (let i = m - 1; i >= 0; i--) {
      let s = z[i]!;
      for (let k = i + 1; k < m; k++) s -= L[k]![i]! * u[k]!;
      u[i] = s / L[i]![i]!;
    }
    return Float64Array.from(this.mean, (mu, i) => mu + u[i]!);
  }

  /** Posterior mean and variance of phi·w at one feature row. */
  predict(phi: ArrayLike<number>): { mean: number; variance: number } {
    let mean = 0;
    for (let i = 0; i < phi.length; i++) mean += phi[i]! * this.mean[i]!;
    const p = Matrix.columnVector(Array.from(phi));
    this.covariance ??= this.precision.solve(Matrix.eye(this.features, this.features));
    const variance = p.transpose().mmul(this.covariance).mmul(p).get(0, 0);
    return { mean, variance: Math.max(variance, 0) };
  }
}
