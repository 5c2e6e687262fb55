// Random Fourier features (Rahimi & Recht) of the RBF kernel k(x, x') = exp(-|x - x'|² / 2ℓ²):
// phi(x) = sqrt(2/M) · cos(S x + b) with spectral rows S_m ~ N(0, I/ℓ²) and phases b_m ~ U(0, 2π), so
// phi(x)·phi(x') ≈ k(x, x'). FTS shares the features by seed: every agent that builds them from the
// same (seed, M, d, ℓ) holds the same S and b, so a weight vector means the same function everywhere.
import { Rng } from '../../engine/rng.js';

export interface RffSpec {
  /** Number of features M. */
  readonly features: number;
  /** Input dimension d. */
  readonly dimension: number;
  /** RBF lengthscale ℓ (inputs in the unit cube). */
  readonly lengthscale: number;
  readonly seed: number;
}

export class RandomFourierFeatures {
  /** M x d spectral samples, row-major. */
  readonly spectral: Float64Array;
  readonly phases: Float64Array;
  private readonly scale: number;

  constructor(readonly spec: RffSpec) {
    const { features: m, dimension: d, lengthscale } = spec;
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`RFF: features must be a positive integer, got ${m}`);
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`RFF: dimension must be a positive integer, got ${d}`);
    if (!(lengthscale > 0)) throw new RangeError(`RFF: lengthscale must be positive, got ${lengthscale}`);
    const rng = new Rng(spec.seed).fork('rff');
    this.spectral = Float64Array.from({ length: m * d }, () => rng.normal() / lengthscale);
    this.phases = Float64Array.from({ length: m }, () => 2 * Math.PI * rng.next());
    this.scale = Math.sqrt(2 / m);
  }

  get size(): number {
    return this.spec.features;
  }

  /** phi(x), length M. */
  map(x: ArrayLike<number>): Float64Array {
    const { features: m, dimension: d } = this.spec;
    if (x.length !== d) throw new RangeError(`RFF: input of length ${x.length}, want ${d}`);
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = this.phases[i]!;
      for (let j = 0; j < d; j++) s += this.spectral[i * d + j]! * x[j]!;
      out[i] = this.scale * Math.cos(s);
    }
    return out;
  }

  /** w · phi(x) for each x: the function a weight vector stands for. */
  evaluate(weights: ArrayLike<number>, xs: readonly ArrayLike<number>[]): Float64Array {
    if (weights.length !== this.spec.features) throw new RangeError(`RFF: ${weights.length} weights, want ${this.spec.features}`);
    return Float64Array.from(xs, (x) => {
      const phi = this.map(x);
      let s = 0;
      for (let i = 0; i < phi.length; i++) s += weights[i]! * phi[i]!;
      return s;
    });
  }
}
