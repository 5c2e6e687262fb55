// Summaries of regret over seeds (bench:hpo, fedhpo bench replay): a mean with its 95 % Student-t
// interval and a one-sided permutation test of "A's regret is lower than B's".
import { mean, permutationTest, probit, sampleStandardDeviation } from 'simple-statistics';
import { Rng } from '../engine/rng.js';

export interface MeanInterval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

/** The 0.975 quantile of Student's t with `df` degrees of freedom (Abramowitz & Stegun 26.7.5; ~1e-4 at df 19). */
export function tQuantile975(df: number): number {
  const z = probit(0.975);
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

/** Mean and 95 % t-interval (the interval is the mean itself for fewer than two values). */
export function meanInterval(xs: readonly number[]): MeanInterval {
  const m = mean([...xs]);
  if (xs.length < 2) return { mean: m, low: m, high: m };
  const half = (tQuantile975(xs.length - 1) * sampleStandardDeviation([...xs])) / Math.sqrt(xs.length);
  return { mean: m, low: m - half, high: m + half };
}

/** p-value of a one-sided permutation test that `a` has a lower mean than `b` (10,000 seeded shuffles). */
export function pLower(a: readonly number[], b: readonly number[], seed = 0): number {
  const rng = new Rng(seed);
  return permutationTest([...a], [...b], 'less', 10_000, () => rng.next());
}
