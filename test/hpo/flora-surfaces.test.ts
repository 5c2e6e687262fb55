// FLoRA's four surfaces on known per-client losses: client A's bowl (x - 0.2)², client B's steeper
// 4(x - 0.7)². APLM minimises their average (at x = 0.6), MPLM their maximum (where they cross, x =
// 1.6/3), SGM one model of both pooled, and SGM+U is the pooled mean plus its uncertainty.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { type ClientObservations, fitSurface } from '../../src/hpo/flora/index.js';

const spec = { categorical: [false] };
const a = (x: number) => (x - 0.2) ** 2;
const b = (x: number) => 4 * (x - 0.7) ** 2;
const grid = Array.from({ length: 201 }, (_, i) => Float64Array.of(i / 200));
const obs = (f: (x: number) => number, xs: number[]): ClientObservations => ({ X: xs.map((x) => Float64Array.of(x)), y: xs.map(f) });
const xs = Array.from({ length: 12 }, (_, i) => i / 11);
const argmin = (v: Float64Array) => grid[v.indexOf(Math.min(...v))]![0]!;

describe('FLoRA loss surfaces', () => {
  const clients = [obs(a, xs), obs(b, xs)];

  it('APLM minimises the average of the clients’ models', () => {
    expect(argmin(fitSurface('aplm', clients, spec, new Rng(1))(grid))).toBeCloseTo(0.6, 1);
  });

  it('MPLM minimises the worst client’s model: where the bowls cross', () => {
    const x = argmin(fitSurface('mplm', clients, spec, new Rng(1))(grid));
    expect(Math.abs(x - 1.6 / 3)).toBeLessThan(0.03);
  });

  it('SGM fits one model of the pooled pairs and predicts their mean where both clients sampled', () => {
    const surface = fitSurface('sgm', clients, spec, new Rng(1))(grid);
    // At a shared input the pooled model sees both losses: it predicts about their average.
    for (const x of [0.3, 0.6]) {
      const i = Math.round(x * 200);
      expect(Math.abs(surface[i]! - (a(x) + b(x)) / 2)).toBeLessThan(0.1);
    }
    expect(argmin(surface)).toBeCloseTo(0.6, 1);
  });

  it('SGM+U adds the uncertainty: higher than SGM, most where nobody sampled', () => {
    const sparse = [obs(a, [0, 0.1, 0.2, 0.3, 0.4]), obs(b, [0, 0.1, 0.2, 0.3, 0.4])];
    const sgm = fitSurface('sgm', sparse, spec, new Rng(2))(grid);
    const sgmu = fitSurface('sgm+u', sparse, spec, new Rng(2), { kappa: 1 })(grid);
    const gap = (x: number) => sgmu[Math.round(x * 200)]! - sgm[Math.round(x * 200)]!;
    expect(gap(0.2)).toBeGreaterThanOrEqual(0);
    expect(gap(0.95)).toBeGreaterThan(gap(0.2) + 0.05);
  });

  it('refuses clients without observations', () => {
    expect(() => fitSurface('sgm', [{ X: [], y: [] }], spec, new Rng(1))).toThrow(/no client/);
  });
});
