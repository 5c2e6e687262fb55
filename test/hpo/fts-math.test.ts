// The FTS math on known functions: random Fourier features approximate the RBF kernel and are the
// same for the same seed; the Bayesian linear regression's posterior and its samples agree; the
// acting rule's probability rises as written; Thompson sampling with them finds a known minimum.
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { BayesianLinearRegression, chooseSource, ownSurrogateProbability, RandomFourierFeatures } from '../../src/hpo/fts/index.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('random Fourier features', () => {
  it('approximate the RBF kernel exp(-|x - y|² / 2ℓ²)', () => {
    const rff = new RandomFourierFeatures({ features: 4000, dimension: 2, lengthscale: 0.3, seed: 5 });
    const rng = new Rng(1);
    let worst = 0;
    for (let k = 0; k < 30; k++) {
      const x = [rng.next(), rng.next()];
      const y = [rng.next(), rng.next()];
      const exact = Math.exp(-((x[0]! - y[0]!) ** 2 + (x[1]! - y[1]!) ** 2) / (2 * 0.3 ** 2));
      worst = Math.max(worst, Math.abs(dot(rff.map(x), rff.map(y)) - exact));
    }
    expect(worst).toBeLessThan(0.06);
  });

  it('are shared by seed: the same seed gives the same features, another seed others', () => {
    const spec = { features: 50, dimension: 3, lengthscale: 0.5, seed: 9 };
    const a = new RandomFourierFeatures(spec);
    const b = new RandomFourierFeatures(spec);
    const c = new RandomFourierFeatures({ ...spec, seed: 10 });
    const x = [0.1, 0.5, 0.9];
    expect(b.map(x)).toEqual(a.map(x));
    expect(c.map(x)).not.toEqual(a.map(x));
  });
});

describe('Bayesian linear regression', () => {
  const rff = new RandomFourierFeatures({ features: 60, dimension: 1, lengthscale: 0.2, seed: 3 });
  const xs = Array.from({ length: 15 }, (_, i) => [i / 14]);
  const f = (x: number) => Math.sin(6 * x);
  const phi = xs.map((x) => rff.map(x));
  const y = xs.map((x) => f(x[0]!));

  it('has the closed-form posterior mean (ΦᵀΦ + σ²I)⁻¹Φᵀy and fits the data it saw', () => {
    const noise = 1e-3;
    const blr = BayesianLinearRegression.fit(phi, y, 60, noise);
    const P = new Matrix(phi.map((r) => [...r]));
    const ridge = solve(P.transpose().mmul(P).add(Matrix.eye(60).mul(noise)), P.transpose().mmul(Matrix.columnVector(y))).getColumn(0);
    for (let i = 0; i < 60; i++) expect(blr.mean[i]!).toBeCloseTo(ridge[i]!, 6);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(blr.predict(phi[i]!).mean - y[i]!)).toBeLessThan(0.05);
  });

  it('samples with the posterior mean and variance (and the prior when it saw nothing)', () => {
    const blr = BayesianLinearRegression.fit(phi.slice(0, 5), y.slice(0, 5), 60, 0.01);
    const at = rff.map([0.8]); // far from the five points seen: uncertain
    const rng = new Rng(4);
    const draws = Array.from({ length: 4000 }, () => dot(blr.sample(rng), at));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const variance = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws.length - 1);
    const p = blr.predict(at);
    expect(p.variance).toBeGreaterThan(0.3);
    expect(mean).toBeCloseTo(p.mean, 1);
    expect(variance / p.variance).toBeGreaterThan(0.9);
    expect(variance / p.variance).toBeLessThan(1.1);
    const prior = BayesianLinearRegression.fit([], [], 60, 0.01);
    expect(prior.predict(at).mean).toBe(0);
    expect(prior.predict(at).variance).toBeCloseTo(dot(at, at), 10);
  });
});

describe('the FTS acting rule', () => {
  it('uses its own surrogate with probability 1 - 1/(t+1)²', () => {
    expect([1, 2, 3].map(ownSurrogateProbability)).toEqual([0.75, 1 - 1 / 9, 1 - 1 / 16]);
    const rng = new Rng(2);
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 20000; k++) {
      const s = chooseSource(1, 3, rng.next(), rng.next());
      counts[s.kind === 'own' ? 3 : s.index]!++;
    }
    expect(counts[3]! / 20000).toBeCloseTo(0.75, 1);
    for (const c of counts.slice(0, 3)) expect(c / 20000).toBeCloseTo(0.25 / 3, 1);
    expect(chooseSource(1, 0, 0.99, 0.5)).toEqual({ kind: 'own' });
  });

  it('Thompson sampling with RFF + BLR finds the minimum of a known function', () => {
    const rff = new RandomFourierFeatures({ features: 100, dimension: 2, lengthscale: 0.25, seed: 11 });
    const loss = (x: number[]) => (x[0]! - 0.3) ** 2 + (x[1]! - 0.7) ** 2;
    const grid: number[][] = [];
    for (let i = 0; i <= 20; i++) for (let j = 0; j <= 20; j++) grid.push([i / 20, j / 20]);
    const rng = new Rng(7);
    const seen: number[][] = [grid[rng.int(grid.length)]!];
    for (let t = 0; t < 20; t++) {
      const ys = seen.map(loss);
      const m = ys.reduce((a, b) => a + b, 0) / ys.length;
      const blr = BayesianLinearRegression.fit(
        seen.map((x) => rff.map(x)),
        ys.map((v) => (v - m) / 0.1),
        100,
        1e-2,
      );
      const values = rff.evaluate(blr.sample(rng), grid);
      let best = 0;
      for (let i = 1; i < grid.length; i++) if (values[i]! < values[best]!) best = i;
      seen.push(grid[best]!);
    }
    expect(Math.min(...seen.map(loss))).toBeLessThan(0.01);
  });
});
