// Client sampling: the documented size rule, determinism per seed, and uniformity (every client and
// every subset equally likely, by chi-square tests with fixed seeds).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { SamplingError, sampleClients, sampleSize } from '../../src/fl/sampling.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `client-${i}`);

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

describe('sampleClients', () => {
  it('takes round(rate * n) clients, halves up, at least one', () => {
    expect(sampleSize(10, 0.3)).toBe(3);
    expect(sampleSize(5, 0.5)).toBe(3); // 2.5 -> 3
    expect(sampleSize(50, 0.29)).toBe(15); // 14.5 (14.499999999999998 in floating point) -> 15
    expect(sampleSize(10, 0.34)).toBe(3);
    expect(sampleSize(3, 0.1)).toBe(1); // 0.3 -> 0, raised to 1
    expect(sampleSize(7, 1)).toBe(7);
    for (const [n, rate] of [
      [0, 0.5],
      [3, 0],
      [3, 1.5],
      [3, Number.NaN],
    ] as const)
      expect(() => sampleSize(n, rate)).toThrow(SamplingError);
    expect(() => sampleClients(['a', 'a'], 1, new Rng(0))).toThrow(/distinct/);
  });

  it('is deterministic for a seed, varies across seeds, keeps the input order', () => {
    const all = ids(20);
    const a = sampleClients(all, 0.25, new Rng(7).fork(3));
    expect(sampleClients(all, 0.25, new Rng(7).fork(3))).toEqual(a);
    expect(a).toHaveLength(5);
    expect(new Set(a).size).toBe(5);
    expect([...a].sort((x, y) => all.indexOf(x) - all.indexOf(y))).toEqual(a);
    const draws = new Set(Array.from({ length: 10 }, (_, r) => sampleClients(all, 0.25, new Rng(7).fork(r)).join()));
    expect(draws.size).toBeGreaterThan(5);
    expect(sampleClients(all, 1, new Rng(1))).toEqual(all);
  });

  it('picks every client with probability k/n (chi-square, 9 dof)', () => {
    const rng = new Rng(11);
    const counts = new Array<number>(10).fill(0);
    const trials = 20_000;
    for (let t = 0; t < trials; t++) for (const id of sampleClients(ids(10), 0.3, rng)) counts[Number(id.slice(7))]!++;
    for (const c of counts) expect(Math.abs(c / trials - 0.3)).toBeLessThan(0.02);
    expect(chiSquare(counts)).toBeLessThan(27.88); // p = 0.001 critical value, 9 dof
  });

  it('makes every 2-subset of 5 clients equally likely (chi-square, 9 dof)', () => {
    const rng = new Rng(12);
    const counts = new Map<string, number>();
    for (let t = 0; t < 20_000; t++) {
      const key = sampleClients(ids(5), 0.4, rng).join('+');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(10); // C(5, 2)
    expect(chiSquare([...counts.values()])).toBeLessThan(27.88);
  });
});
