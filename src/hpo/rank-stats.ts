// Rank statistics on plain number arrays: average ranks, Spearman's rho and Kendall's tau-b with
// two-sided p-values. How each p-value is computed (exact or approximate) is part of the answer,
// because with the 10-50 trials of a typical study the choice matters and a report must say it.
import { gammaln, sampleCorrelation } from 'simple-statistics';

/** How a p-value was obtained. */
export type PValueMethod =
  /** Every one of the n! pairings enumerated (the permutation distribution, ties included). */
  | 'exact-permutation'
  /** Kendall without ties: the exact null distribution of the number of discordant pairs (Mahonian numbers). */
  | 'exact-mahonian'
  /** Spearman: t = rho sqrt((n-2)/(1-rho^2)) against Student's t with n-2 degrees of freedom. */
  | 't'
  /** Kendall: S against a normal with the tie-corrected variance (Kendall 1970, as scipy's 'asymptotic'). */
  | 'normal'
  /** Too few pairs (n < 3) or a constant input: no test. */
  | 'none';

export interface RankCorrelation {
  /** The coefficient (NaN when undefined: fewer than 2 pairs or a constant input). */
  readonly value: number;
  /** Two-sided p-value of "no association" (NaN when method is 'none'). */
  readonly p: number;
  readonly method: PValueMethod;
  readonly n: number;
}

/** 'auto' takes the exact test where it is cheap: n <= EXACT_PERMUTATION_MAX (and Kendall without ties up to EXACT_MAHONIAN_MAX). */
export type PValueChoice = 'auto' | 'exact' | 'approx';

/** 9! = 362,880 pairings: about 20 ms; 10! would take ten times that for every table cell of a report. */
export const EXACT_PERMUTATION_MAX = 9;
/** The Mahonian recursion is O(n^4) / small: exact without ties up to here (scipy's 'exact' reaches similar sizes). */
export const EXACT_MAHONIAN_MAX = 60;

/** 1-based ranks, smallest value first; tied values share the average of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function checkPairs(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`rank correlation needs paired samples: ${x.length} vs ${y.length} values`);
  if ([...x, ...y].some((v) => Number.isNaN(v))) throw new RangeError('rank correlation: NaN in the input');
}

const constant = (v: readonly number[]) => v.every((a) => a === v[0]);

/** Spearman's rho: Pearson's correlation of the average ranks. */
export function spearman(x: readonly number[], y: readonly number[], choice: PValueChoice = 'auto'): RankCorrelation {
  checkPairs(x, y);
  const n = x.length;
  if (n < 2 || constant(x) || constant(y)) return { value: Number.NaN, p: Number.NaN, method: 'none', n };
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const rho = sampleCorrelation(rx, ry);
  if (n < 3) return { value: rho, p: Number.NaN, method: 'none', n };
  if (choice === 'exact' || (choice === 'auto' && n <= EXACT_PERMUTATION_MAX)) {
    // rho of a pairing is proportional to sum(cx[i] * cy[perm[i]]) with centered ranks.
    const mean = (n + 1) / 2;
    const cx = rx.map((r) => r - mean);
    const cy = ry.map((r) => r - mean);
    const observed = Math.abs(cx.reduce((s, a, i) => s + a * cy[i]!, 0));
    const p = permutationP(cy, (perm) => Math.abs(cx.reduce((s, a, i) => s + a * perm[i]!, 0)) >= observed - 1e-9);
    return { value: rho, p, method: 'exact-permutation', n };
  }
  if (Math.abs(rho) >= 1) return { value: rho, p: 0, method: 't', n };
  const df = n - 2;
  const t = rho * Math.sqrt(df / (1 - rho * rho));
  return { value: rho, p: studentTTwoSided(t, df), method: 't', n };
}

/** Concordant minus discordant pairs, and the pairs tied in x, in y (n^2: studies have hundreds of trials, not millions). */
function kendallS(x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) for (let j = i + 1; j < x.length; j++) s += Math.sign(x[i]! - x[j]!) * Math.sign(y[i]! - y[j]!);
  return s;
}

/** Sizes of the groups of tied values (groups of one left out). */
function tieGroups(v: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const a of v) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts.values()].filter((c) => c > 1);
}

/** Kendall's tau-b: (C - D) / sqrt((n0 - n1)(n0 - n2)), corrected for ties in either ranking. */
export function kendallTauB(x: readonly number[], y: readonly number[], choice: PValueChoice = 'auto'): RankCorrelation {
  checkPairs(x, y);
  const n = x.length;
  if (n < 2 || constant(x) || constant(y)) return { value: Number.NaN, p: Number.NaN, method: 'none', n };
  const n0 = (n * (n - 1)) / 2;
  const tx = tieGroups(x);
  const ty = tieGroups(y);
  const pairs = (g: number[]) => g.reduce((s, t) => s + (t * (t - 1)) / 2, 0);
  const s = kendallS(x, y);
  const tau = s / Math.sqrt((n0 - pairs(tx)) * (n0 - pairs(ty)));
  if (n < 3) return { value: tau, p: Number.NaN, method: 'none', n };
  const ties = tx.length > 0 || ty.length > 0;
  if (choice !== 'approx' && !ties && n <= EXACT_MAHONIAN_MAX) return { value: tau, p: mahonianP(n, s), method: 'exact-mahonian', n };
  if (choice === 'exact' || (choice === 'auto' && n <= EXACT_PERMUTATION_MAX)) {
    const observed = Math.abs(s);
    return { value: tau, p: permutationP(y, (perm) => Math.abs(kendallS(x, perm)) >= observed - 1e-9), method: 'exact-permutation', n };
  }
  // Var(S) under H0 with ties in both rankings (Kendall 1970, eq. 4.4).
  const sum = (g: number[], f: (t: number) => number) => g.reduce((a, t) => a + f(t), 0);
  const v0 = n * (n - 1) * (2 * n + 5);
  const vt = sum(tx, (t) => t * (t - 1) * (2 * t + 5));
  const vu = sum(ty, (t) => t * (t - 1) * (2 * t + 5));
  const v1 = sum(tx, (t) => t * (t - 1)) * sum(ty, (t) => t * (t - 1));
  const v2 = sum(tx, (t) => t * (t - 1) * (t - 2)) * sum(ty, (t) => t * (t - 1) * (t - 2));
  const variance = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2));
  return { value: tau, p: normalTwoSided(s / Math.sqrt(variance)), method: 'normal', n };
}

/** Fraction of all orderings of `values` for which `atLeastAsExtreme` holds (Heap's algorithm, in place). */
function permutationP(values: readonly number[], atLeastAsExtreme: (perm: readonly number[]) => boolean): number {
  if (values.length > EXACT_PERMUTATION_MAX + 1)
    throw new RangeError(`an exact permutation test over ${values.length}! orderings is too slow`);
  const a = [...values];
  const c = new Array<number>(a.length).fill(0);
  let hits = atLeastAsExtreme(a) ? 1 : 0;
  let total = 1;
  for (let i = 1; i < a.length; ) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      total++;
      if (atLeastAsExtreme(a)) hits++;
      c[i]!++;
      i = 1;
    } else c[i++] = 0;
  }
  return hits / total;
}

/**
 * Two-sided exact p of Kendall's S without ties: S = n0 - 2D where D, the number of discordant pairs
 * (inversions), follows the Mahonian distribution. Built as probabilities (each step divides by k) so
 * nothing overflows.
 */
function mahonianP(n: number, s: number): number {
  let dist = [1];
  for (let k = 2; k <= n; k++) {
    // Inserting the k-th element adds 0..k-1 inversions, each equally likely.
    const next = new Array<number>(dist.length + k - 1).fill(0);
    for (let d = 0; d < dist.length; d++) for (let add = 0; add < k; add++) next[d + add]! += dist[d]! / k;
    dist = next;
  }
  const n0 = (n * (n - 1)) / 2;
  const dObserved = Math.round((n0 - Math.abs(s)) / 2); // the fewer-inversions tail of |S|
  let tail = 0;
  for (let d = 0; d <= dObserved; d++) tail += dist[d]!;
  return Math.min(1, 2 * tail);
}

/** P(|N(0,1)| >= |z|), with relative error below 1.2e-7 even far in the tail (Numerical Recipes' erfcc). */
export function normalTwoSided(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.min(1, t * Math.exp(poly));
}

/** P(|T_df| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2). */
export function studentTTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** The regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz; Numerical Recipes 6.4). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast for x < (a+1)/(a+b+2); use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - (front * betaFraction(1 - x, b, a)) / b;
  return (front * betaFraction(x, a, b)) / a;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const coef of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + coef * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + coef / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}
