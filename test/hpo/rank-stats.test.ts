// Rank statistics against hand-computed values and textbook examples (reference values from
// scipy.stats 1.17: spearmanr, kendalltau with method='exact' / 'asymptotic').
import { describe, expect, it } from 'vitest';
import { averageRanks, kendallTauB, normalTwoSided, regularizedBeta, spearman, studentTTwoSided } from '../../src/hpo/rank-stats.js';

// Two rankings of 7 trials that swap three neighbouring pairs and move one trial by two places:
// d = [1,1,1,1,2,1,1], sum d^2 = 10, rho = 1 - 6*10/(7*48) = 23/28; discordant pairs (1,2) (3,4) (5,6) (5,7): tau = (17-4)/21.
const A = [1, 2, 3, 4, 5, 6, 7];
const B = [2, 1, 4, 3, 7, 5, 6];

describe('averageRanks', () => {
  it('ranks from 1, smallest first, ties sharing the mean of their ranks', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(averageRanks([3, 1, 2, 1, 1])).toEqual([5, 2, 4, 2, 2]);
    expect(averageRanks([])).toEqual([]);
  });
});

describe('spearman', () => {
  it('a hand-computed small case: exact permutation p over all 7! pairings', () => {
    const r = spearman(A, B);
    expect(r.value).toBeCloseTo(23 / 28, 12);
    expect(r.method).toBe('exact-permutation');
    // 172 of the 5040 pairings reach |rho| >= 23/28.
    expect(r.p).toBeCloseTo(172 / 5040, 12);
    const t = spearman(A, B, 'approx');
    expect(t.method).toBe('t');
    expect(t.p).toBeCloseTo(0.0234488083456915, 10);
  });

  it("the textbook IQ vs hours of TV example (n = 10, Student's t with 8 df)", () => {
    const iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110];
    const tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17];
    const r = spearman(iq, tv);
    expect(r.value).toBeCloseTo(-29 / 165, 12);
    expect(r.method).toBe('t');
    expect(r.p).toBeCloseTo(0.6271883447764846, 9);
  });

  it('is +1 / -1 for monotone data, NaN with no test for constant input', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40]).value).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1]).p).toBeCloseTo(2 / 24, 12);
    const c = spearman([1, 2, 3], [5, 5, 5]);
    expect(c.method).toBe('none');
    expect(c.value).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow(RangeError);
  });
});

describe('kendallTauB', () => {
  it('a hand-computed small case: exact p from the Mahonian numbers', () => {
    const r = kendallTauB(A, B);
    expect(r.value).toBeCloseTo(13 / 21, 12);
    expect(r.method).toBe('exact-mahonian');
    // Permutations of 7 with <= 4 inversions: 1 + 6 + 20 + 49 + 98 = 174; two-sided: 2 * 174 / 7!.
    expect(r.p).toBeCloseTo(348 / 5040, 12);
    const z = kendallTauB(A, B, 'approx');
    expect(z.method).toBe('normal');
    expect(z.p).toBeCloseTo(0.05088574121639127, 7);
  });

  it("scipy's documented example with ties: tau-b and the tie-corrected normal p", () => {
    const x = [12, 2, 1, 12, 2];
    const y = [1, 4, 7, 1, 0];
    const z = kendallTauB(x, y, 'approx');
    expect(z.value).toBeCloseTo(-0.4714045207910316, 12);
    expect(z.p).toBeCloseTo(0.28274545993277467, 7);
    const exact = kendallTauB(x, y);
    expect(exact.method).toBe('exact-permutation');
    expect(exact.p).toBeCloseTo(0.36666666666666664, 12);
  });

  it('n = 20 without ties: exact up to 60 trials, normal when asked', () => {
    const u = Array.from({ length: 20 }, (_, i) => i);
    const v = [1, 10, 18, 16, 7, 11, 12, 17, 15, 2, 3, 4, 5, 8, 0, 9, 14, 13, 6, 19];
    const r = kendallTauB(u, v);
    expect(r.value).toBeCloseTo(0.021052631578947368, 12);
    expect(r.method).toBe('exact-mahonian');
    expect(r.p).toBeCloseTo(0.9235023313316655, 10);
    expect(kendallTauB(u, v, 'approx').p).toBeCloseTo(0.8967427520264305, 7);
    const s = spearman(u, v);
    expect(s.value).toBeCloseTo(-0.018045112781954885, 12);
    expect(s.p).toBeCloseTo(0.9398091995407436, 9);
  });
});

describe('distribution tails', () => {
  it('regularized incomplete beta: I_0.5(2, 3) = 11/16 by the binomial sum', () => {
    expect(regularizedBeta(0.5, 2, 3)).toBeCloseTo(11 / 16, 12);
    expect(regularizedBeta(0.2, 1, 1)).toBeCloseTo(0.2, 12);
  });

  it('two-sided normal and t p-values, relative accuracy deep in the tail', () => {
    expect(normalTwoSided(1.959963984540054)).toBeCloseTo(0.05, 6);
    expect(normalTwoSided(8) / 1.24419211485431e-15).toBeCloseTo(1, 5);
    // t with 1 df is Cauchy: P(|T| >= 1) = 1/2.
    expect(studentTTwoSided(1, 1)).toBeCloseTo(0.5, 12);
    expect(studentTTwoSided(2.2281388519649385, 10)).toBeCloseTo(0.05, 10);
  });
});
