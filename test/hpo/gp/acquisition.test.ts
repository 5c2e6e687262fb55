import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/engine/rng.js';
import { expectedImprovement, logExpectedImprovement } from '../../../src/hpo/gp/acquisition.js';
import { maximizeAcquisition, type SearchDim, snapDim } from '../../../src/hpo/gp/maximize-acquisition.js';
import { logH, normalSf } from '../../../src/hpo/gp/normal.js';

describe('normal tails', () => {
  it('match reference values of Q(t) = 1 - Phi(t) to ~1e-14 relative, deep into the tail', () => {
    const reference: [number, number][] = [
      [0, 0.5],
      [1, 0.15865525393145705],
      [2.5, 0.0062096653257761331],
      [5, 2.8665157187919391e-7],
      [10, 7.6198530241604696e-24],
      [30, 4.906713927148187e-198],
    ];
    for (const [t, q] of reference) expect(Math.abs(normalSf(t) - q) / q).toBeLessThan(5e-14);
  });
});

describe('log expected improvement', () => {
  it('matches log of the textbook EI wherever EI is representable', () => {
    for (let z = -25; z <= 6; z += 0.37) {
      const sigma = 0.3;
      const ei = expectedImprovement(0, sigma * sigma, z * sigma);
      expect(ei).toBeGreaterThan(0);
      expect(Math.abs(logExpectedImprovement(0, sigma * sigma, z * sigma) - Math.log(ei))).toBeLessThan(
        1e-9 * Math.max(1, Math.abs(Math.log(ei))),
      );
    }
  });

  it('stays finite, ordered and asymptotically right where EI underflows to 0', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (const z of [-40, -45, -60, -100, -1e3, -1e6]) {
      expect(expectedImprovement(0, 1, z)).toBe(0);
      const l = logExpectedImprovement(0, 1, z);
      expect(Number.isFinite(l)).toBe(true);
      expect(l).toBeLessThan(previous);
      previous = l;
      // h(z) ~ phi(z) / z^2 as z -> -infinity.
      const asymptote = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(-z);
      expect(Math.abs(l - asymptote)).toBeLessThan(4 / (z * z) + 1e-12 * Math.abs(asymptote));
    }
  });

  it('is continuous where the computation switches to the continued fraction', () => {
    expect(Math.abs(logH(-2.5 + 1e-9) - logH(-2.5 - 1e-9))).toBeLessThan(1e-7);
  });

  it('without variance is the plain improvement', () => {
    expect(logExpectedImprovement(1, 0, 3)).toBeCloseTo(Math.log(2), 12);
    expect(logExpectedImprovement(3, 0, 1)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('acquisition maximisation', () => {
  const dims: SearchDim[] = [
    { kind: 'continuous' },
    { kind: 'discrete', levels: Float64Array.from([0, 0.25, 0.5, 0.75, 1]) },
    { kind: 'categorical', count: 3 },
  ];
  // Peak at (0.37, 0.75, category 2).
  const score = (xs: readonly Float64Array[]) =>
    Float64Array.from(xs, (x) => -((x[0]! - 0.37) ** 2) - (x[1]! - 0.7) ** 2 - (x[2] === 2 ? 0 : 1));

  it('finds the maximum over legal values (snapped levels and categories)', () => {
    const best = maximizeAcquisition({ dims, score, rng: new Rng(1), randomCandidates: 64 })!;
    expect(best.x[0]!).toBeCloseTo(0.37, 2);
    expect(best.x[1]).toBe(0.75);
    expect(best.x[2]).toBe(2);
  });

  it('never returns a taken point, and scores a pool exhaustively', () => {
    const isTaken = (x: Float64Array) => x[1] === 0.75 && x[2] === 2;
    const best = maximizeAcquisition({ dims, score, rng: new Rng(2), isTaken, randomCandidates: 64 })!;
    expect(isTaken(best.x)).toBe(false);
    const pool = [Float64Array.from([0.1, 0, 0]), Float64Array.from([0.4, 0.75, 2]), Float64Array.from([0.4, 0.5, 2])];
    expect(maximizeAcquisition({ dims, score, rng: new Rng(3), pool })!.x).toEqual(pool[1]);
    expect(maximizeAcquisition({ dims, score, rng: new Rng(3), pool, isTaken })!.x).toEqual(pool[2]);
    expect(maximizeAcquisition({ dims, score, rng: new Rng(3), pool: [pool[1]!], isTaken })).toBeUndefined();
  });

  it('snaps to the nearest legal value', () => {
    expect(snapDim(dims[0]!, 1.3)).toBe(1);
    expect(snapDim(dims[1]!, 0.6)).toBe(0.5);
    expect(snapDim(dims[1]!, 0.65)).toBe(0.75);
    expect(snapDim(dims[2]!, 1.6)).toBe(2);
  });
});
