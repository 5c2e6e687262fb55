import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/engine/rng.js';
import { cholesky, extendCholesky, solveCholesky } from '../../../src/hpo/gp/cholesky.js';
import { fitHyperparams } from '../../../src/hpo/gp/fit.js';
import type { GpHyperparams, GpInputSpec } from '../../../src/hpo/gp/kernel.js';
import { trainingCovariance } from '../../../src/hpo/gp/kernel.js';
import { minimizeLbfgs } from '../../../src/hpo/gp/lbfgs.js';
import { FitData, logMarginalLikelihood, toTheta } from '../../../src/hpo/gp/likelihood.js';
import { GpPosterior } from '../../../src/hpo/gp/posterior.js';
import { standardize } from '../../../src/hpo/gp/standardize.js';

const continuous = (d: number): GpInputSpec => ({ categorical: Array.from({ length: d }, () => false) });
const randomInputs = (n: number, d: number, rng: Rng) =>
  Array.from({ length: n }, () => Float64Array.from({ length: d }, () => rng.next()));

describe('GP posterior', () => {
  it('interpolates noiseless data: mean = y and variance ~ 0 at the training inputs', () => {
    const rng = new Rng(1);
    const X = randomInputs(25, 2, rng);
    const y = X.map((x) => Math.sin(6 * x[0]!) + x[1]! ** 2);
    const hyper: GpHyperparams = { logLengthscales: [Math.log(0.3), Math.log(0.5)], logSignalVar: 0, logNoiseVar: Math.log(1e-10) };
    const gp = GpPosterior.fit(X, y, hyper, continuous(2));
    const p = gp.predict(X);
    for (let i = 0; i < X.length; i++) {
      expect(p.mean[i]!).toBeCloseTo(y[i]!, 5);
      expect(p.variance[i]!).toBeLessThan(1e-6);
    }
    // Away from the data the variance is back near the prior's.
    const far = gp.predict([Float64Array.from([5, 5])]);
    expect(far.variance[0]!).toBeCloseTo(1, 6);
    expect(far.mean[0]!).toBeCloseTo(0, 6);
  });

  it('interpolates with fitted hyperparameters too (the noise term shrinks on noiseless data)', () => {
    const rng = new Rng(2);
    const X = randomInputs(30, 2, rng);
    const s = standardize(X.map((x) => Math.cos(4 * x[0]!) * x[1]!));
    const fit = fitHyperparams(X, s.values, continuous(2), { rng: rng.fork('fit'), randomStarts: 2 });
    expect(Math.exp(fit.hyper.logNoiseVar)).toBeLessThan(1e-3);
    const p = GpPosterior.fit(X, s.values, fit.hyper, continuous(2)).predict(X);
    for (let i = 0; i < X.length; i++) expect(Math.abs(p.mean[i]! - s.values[i]!)).toBeLessThan(0.05);
  });

  it('conditioning on one more point by extending the Cholesky factor equals refitting from scratch', () => {
    const rng = new Rng(3);
    const spec: GpInputSpec = { categorical: [false, true] };
    const X = Array.from({ length: 12 }, () => Float64Array.from([rng.next(), rng.int(3)]));
    const y = X.map((x) => x[0]! + x[1]!);
    const hyper: GpHyperparams = { logLengthscales: [Math.log(0.4), 0], logSignalVar: 0.2, logNoiseVar: Math.log(1e-3) };
    const xNew = Float64Array.from([0.5, 1]);
    const a = GpPosterior.fit(X, y, hyper, spec).withObservation(xNew, 0.7);
    const b = GpPosterior.fit([...X, xNew], [...y, 0.7], hyper, spec);
    const probe = [Float64Array.from([0.2, 0]), Float64Array.from([0.55, 1]), Float64Array.from([0.9, 2])];
    const pa = a.predict(probe);
    const pb = b.predict(probe);
    for (let i = 0; i < probe.length; i++) {
      expect(pa.mean[i]!).toBeCloseTo(pb.mean[i]!, 10);
      expect(pa.variance[i]!).toBeCloseTo(pb.variance[i]!, 10);
    }
  });
});

describe('Cholesky', () => {
  it('agrees with ml-matrix on a kernel matrix', () => {
    const rng = new Rng(8);
    const X = randomInputs(40, 3, rng);
    const K = trainingCovariance(X, { logLengthscales: [-1, 0, -0.5], logSignalVar: 0.3, logNoiseVar: -5 }, continuous(3));
    const ours = cholesky(K, 40);
    const ref = new CholeskyDecomposition(new Matrix(Array.from({ length: 40 }, (_, i) => Array.from(K.subarray(i * 40, i * 40 + 40)))));
    expect(ours.jitter).toBe(0);
    for (let i = 0; i < 40; i++)
      for (let j = 0; j <= i; j++) expect(ours.L[i * 40 + j]!).toBeCloseTo(ref.lowerTriangularMatrix.get(i, j), 12);
  });

  it('escalates jitter when inputs repeat and there is no noise', () => {
    const X = [Float64Array.from([0.1]), Float64Array.from([0.1]), Float64Array.from([0.7])];
    const K = trainingCovariance(X, { logLengthscales: [0], logSignalVar: 0, logNoiseVar: -800 }, continuous(1));
    const f = cholesky(K, 3);
    expect(f.jitter).toBeGreaterThan(0);
    const x = solveCholesky(f, [1, 1, 2]);
    expect(x.every(Number.isFinite)).toBe(true);
  });

  it('extendCholesky gives the factor of the bordered matrix', () => {
    const rng = new Rng(4);
    const X = randomInputs(8, 3, rng);
    const h: GpHyperparams = { logLengthscales: [0, -1, -0.5], logSignalVar: 0, logNoiseVar: -4 };
    const full = cholesky(trainingCovariance(X, h, continuous(3)), 8);
    const K7 = trainingCovariance(X.slice(0, 7), h, continuous(3));
    const part = cholesky(K7, 7);
    const K8 = trainingCovariance(X, h, continuous(3));
    const ext = extendCholesky(part, K8.slice(7 * 8, 7 * 8 + 7), K8[63]!);
    for (let i = 0; i < 64; i++) expect(ext.L[i]!).toBeCloseTo(full.L[i]!, 12);
  });
});

describe('marginal likelihood', () => {
  it('analytic gradient matches central finite differences (continuous and categorical dims)', () => {
    const rng = new Rng(5);
    const spec: GpInputSpec = { categorical: [false, false, true] };
    const X = Array.from({ length: 20 }, () => Float64Array.from([rng.next(), rng.next(), rng.int(3)]));
    const y = Float64Array.from(X, (x) => Math.sin(5 * x[0]!) + 0.3 * x[1]! + 0.5 * x[2]! + 0.05 * rng.normal());
    const data = new FitData(X, standardize(y).values, spec);
    for (const theta of [
      Float64Array.from([Math.log(0.3), Math.log(1.2), Math.log(0.8), 0.3, Math.log(0.05)]),
      Float64Array.from([Math.log(0.05), Math.log(3), Math.log(0.2), -0.5, Math.log(1e-3)]),
    ]) {
      const { grad } = logMarginalLikelihood(data, theta);
      for (let k = 0; k < theta.length; k++) {
        const h = 1e-5;
        const plus = Float64Array.from(theta);
        const minus = Float64Array.from(theta);
        plus[k] = plus[k]! + h;
        minus[k] = minus[k]! - h;
        const fd = (logMarginalLikelihood(data, plus).logPosterior - logMarginalLikelihood(data, minus).logPosterior) / (2 * h);
        expect(Math.abs(grad[k]! - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it('recovers a known anisotropy: short lengthscale on the fast dim, long on the slow one, longest on the irrelevant one', () => {
    const rng = new Rng(6);
    const X = randomInputs(120, 3, rng);
    const y = X.map((x) => Math.sin(10 * x[0]!) + Math.sin(2 * x[1]!) + 0.01 * rng.normal());
    const s = standardize(y);
    const fit = fitHyperparams(X, s.values, continuous(3), { rng: rng.fork('fit'), randomStarts: 2 });
    const [l0, l1, l2] = fit.hyper.logLengthscales.map(Math.exp) as [number, number, number];
    expect(l0).toBeLessThan(l1 / 2);
    expect(l1).toBeLessThan(l2 / 2);
    expect(l2).toBeGreaterThan(2);
  });

  it('fits start from the warm start and move the log posterior only up', () => {
    const rng = new Rng(7);
    const X = randomInputs(40, 2, rng);
    const s = standardize(X.map((x) => x[0]! * 3 + Math.sin(7 * x[1]!)));
    const spec = continuous(2);
    const cold = fitHyperparams(X, s.values, spec, { rng: rng.fork('a'), maxIterations: 5 });
    const warm = fitHyperparams(X, s.values, spec, { rng: rng.fork('b'), warmStart: cold.hyper, maxIterations: 50 });
    expect(warm.logPosterior).toBeGreaterThanOrEqual(cold.logPosterior - 1e-9);
    const data = new FitData(X, s.values, spec);
    expect(logMarginalLikelihood(data, toTheta(warm.hyper)).logPosterior).toBeCloseTo(warm.logPosterior, 8);
  });
});

describe('L-BFGS', () => {
  it('finds the minimum of the Rosenbrock function', () => {
    const r = minimizeLbfgs(
      (x) => {
        const [a, b] = [x[0]!, x[1]!];
        return {
          value: (1 - a) ** 2 + 100 * (b - a * a) ** 2,
          grad: Float64Array.from([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]),
        };
      },
      [-1.2, 1],
      { maxIterations: 500, gradTolerance: 1e-8, valueTolerance: 0 },
    );
    expect(r.x[0]!).toBeCloseTo(1, 4);
    expect(r.x[1]!).toBeCloseTo(1, 4);
  });
});
