// Cholesky factors of kernel matrices, with jitter escalation when the matrix is numerically
// singular, and the triangular solves the GP needs, on flat row-major Float64Arrays. Not ml-matrix's
// CholeskyDecomposition: measured here at n = 500 it took 90-250 ms against 33-41 ms for these flat
// loops, and a BO ask factors hundreds of matrices (the tests check the factors against ml-matrix's).

/** K = L L^T, K of size n x n plus `jitter` on the diagonal. */
export interface CholeskyFactor {
  readonly n: number;
  /** Lower triangle, row-major n x n (upper part zero). */
  readonly L: Float64Array;
  /** What had to be added to the diagonal for the factorisation to succeed. */
  readonly jitter: number;
}

export class NotPositiveDefiniteError extends Error {
  override name = 'NotPositiveDefiniteError';
}

const MAX_JITTER_STEPS = 8;

/** sum_k a[ai + k] b[bi + k], k < len, in four partial sums (independent chains the CPU overlaps). */
function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ai + k]! * b[bi + k]!;
    s1 += a[ai + k + 1]! * b[bi + k + 1]!;
    s2 += a[ai + k + 2]! * b[bi + k + 2]!;
    s3 += a[ai + k + 3]! * b[bi + k + 3]!;
  }
  for (; k < len; k++) s0 += a[ai + k]! * b[bi + k]!;
  return s0 + s1 + s2 + s3;
}

/**
 * L with L L^T = K + jitter I, or undefined when a pivot is not positive. Row-oriented
 * Cholesky-Crout: every inner loop is a dot product of two contiguous rows of L.
 */
function factor(K: Float64Array, n: number, jitter: number): Float64Array | undefined {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = K[rj + j]! + jitter - dot(L, rj, L, rj, j);
    if (!(d > 0)) return undefined;
    d = Math.sqrt(d);
    L[rj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      L[ri + j] = (K[ri + j]! - dot(L, ri, L, rj, j)) / d;
    }
  }
  return L;
}

/**
 * Factor the symmetric n x n matrix `K` (row-major). When it is not numerically positive definite
 * (duplicated inputs, a tiny noise term), add jitter 1e-9, 1e-8, ... times its mean diagonal until it is.
 */
export function cholesky(K: Float64Array, n: number): CholeskyFactor {
  if (!K.every(Number.isFinite)) throw new NotPositiveDefiniteError(`kernel matrix (${n} x ${n}) has non-finite entries`);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += K[i * n + i]!;
  meanDiag = n > 0 ? meanDiag / n : 1;
  for (let step = 0; step <= MAX_JITTER_STEPS; step++) {
    const jitter = step === 0 ? 0 : meanDiag * 10 ** (step - 10);
    const L = factor(K, n, jitter);
    if (L) return { n, L, jitter };
  }
  throw new NotPositiveDefiniteError(`kernel matrix (${n} x ${n}) is not positive definite even with jitter`);
}

/** x with L x = b (forward substitution); writes into `out` when given. */
export function solveLower(f: CholeskyFactor, b: ArrayLike<number>, out = new Float64Array(f.n)): Float64Array {
  const { n, L } = f;
  for (let i = 0; i < n; i++) out[i] = (b[i]! - dot(L, i * n, out, 0, i)) / L[i * n + i]!;
  return out;
}

/** x with L^T x = b (back substitution). */
export function solveUpper(f: CholeskyFactor, b: ArrayLike<number>): Float64Array {
  const { n, L } = f;
  const x = Float64Array.from(b);
  for (let i = n - 1; i >= 0; i--) {
    const xi = x[i]! / L[i * n + i]!;
    x[i] = xi;
    // Column i of L below the diagonal, i.e. row i of L^T: subtract its contribution from x[0..i).
    const row = i * n;
    for (let k = 0; k < i; k++) x[k] = x[k]! - L[row + k]! * xi;
  }
  return x;
}

/** K^{-1} b. */
export function solveCholesky(f: CholeskyFactor, b: ArrayLike<number>): Float64Array {
  return solveUpper(f, solveLower(f, b));
}

/** log det K = 2 sum log L_ii. */
export function logDet(f: CholeskyFactor): number {
  let s = 0;
  for (let i = 0; i < f.n; i++) s += Math.log(f.L[i * f.n + i]!);
  return 2 * s;
}

/** K^{-1} as a full row-major matrix, from L^{-1} (K^{-1} = L^{-T} L^{-1}). */
export function inverse(f: CholeskyFactor): Float64Array {
  const { n, L } = f;
  // Row j of C holds column j of L^{-1} (nonzero from index j on): forward substitution against e_j,
  // so every inner loop runs along contiguous memory.
  const C = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const cj = j * n;
    C[cj + j] = 1 / L[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      C[cj + i] = -dot(L, li + j, C, cj + j, i - j) / L[li + i]!;
    }
  }
  // (K^{-1})_{jl} = sum_{i >= max(j, l)} C_ji C_li
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const cj = j * n;
    for (let l = 0; l <= j; l++) {
      const cl = l * n;
      const s = dot(C, cj + j, C, cl + j, n - j);
      inv[j * n + l] = s;
      inv[l * n + j] = s;
    }
  }
  return inv;
}

/**
 * The factor of K extended by one row and column: `k` = the new point's covariances with the n old
 * ones, `kSelf` its variance (noise included). O(n^2), so a batch can add pending points cheaply.
 */
export function extendCholesky(f: CholeskyFactor, k: ArrayLike<number>, kSelf: number): CholeskyFactor {
  const { n } = f;
  const m = n + 1;
  const L = new Float64Array(m * m);
  for (let i = 0; i < n; i++) L.set(f.L.subarray(i * n, i * n + i + 1), i * m);
  const l = solveLower(f, k);
  let d = kSelf + f.jitter;
  for (let i = 0; i < n; i++) d -= l[i]! * l[i]!;
  // A new point that duplicates an old one leaves nothing: keep the diagonal at the jitter scale.
  const floor = Math.max(f.jitter, 1e-10 * Math.abs(kSelf), Number.MIN_VALUE);
  L.set(l, n * m);
  L[n * m + n] = Math.sqrt(Math.max(d, floor));
  return { n: m, L, jitter: f.jitter };
}
