import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/hpo/space.js';
import { successiveHalving } from '../../src/hpo/strategies/successive-halving.js';
import { randomSearch } from '../../src/hpo/strategies/random.js';
import { normalizedRegret, runTabular } from '../../src/hpo/tabular-run.js';
import { braninFunction, braninGrid, gridConfigs, hartmann6Function, hartmann6Grid } from '../../src/hpo/testfns.js';

describe('test functions', () => {
  it('have their known optima', () => {
    for (const at of [
      [-Math.PI, 12.275],
      [Math.PI, 2.275],
      [9.42478, 2.475],
    ])
      expect(braninFunction(at)).toBeCloseTo(0.397887, 5);
    expect(hartmann6Function([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])).toBeCloseTo(-3.32237, 4);
    expect(braninGrid().knownOptimum.value).toBe(0.397887);
  });

  it('are grids of legal configs whose best lies above the continuous optimum (up to noise)', () => {
    for (const p of [braninGrid(), hartmann6Grid()]) {
      const configs = gridConfigs(p.space);
      for (const c of configs.slice(0, 50)) checkConfig(p.space, c);
      expect(p.gridBudget).toBe(configs.length * p.fidelity.max);
      const exactBest = Math.min(...configs.map((c) => p.exact(c)));
      expect(exactBest).toBeGreaterThan(p.knownOptimum.value);
      expect(p.table().best).toBeLessThanOrEqual(p.table().worst);
    }
    expect(gridConfigs(braninGrid().space).length).toBe(400);
    expect(gridConfigs(hartmann6Grid().space).length).toBe(729);
  });

  it('give the same value for the same (config, round), with noise shrinking as 1/round', () => {
    const p = braninGrid({ seed: 3 });
    const configs = gridConfigs(p.space);
    const c = configs[17]!;
    expect(p.value(c, 5)).toBe(p.value(c, 5));
    expect(p.value(c, 5)).not.toBe(p.value(c, 6));
    const sd = (round: number) => {
      const e = configs.map((x) => p.value(x, round) - p.exact(x));
      return Math.sqrt(e.reduce((a, b) => a + b * b, 0) / e.length);
    };
    expect(sd(1) / sd(9)).toBeGreaterThan(6);
    expect(sd(1) / sd(9)).toBeLessThan(13);
    expect(braninGrid({ seed: 4 }).value(c, 1)).not.toBe(p.value(c, 1));
  });
});

describe('tabular runs', () => {
  it('spend no more than the budget and score regret in [0, 1] against the table', () => {
    const p = hartmann6Grid();
    const r = runTabular(randomSearch, p, { budgetRounds: 10 * 27 + 5, seed: 1 });
    expect(r.trials.length).toBe(10);
    expect(r.spentRounds).toBe(270);
    expect(r.regret).toBeGreaterThanOrEqual(0);
    expect(r.regret).toBeLessThanOrEqual(1);
    expect(r.incumbent).toBe(Math.min(...r.trials.map((t) => t.values![0]!)));
  });

  it('charge a promoted trial only the rounds it adds, and give regret 1 when nothing reached the max round', () => {
    const p = braninGrid();
    const r = runTabular(successiveHalving, p, { budgetRounds: 60, seed: 0 });
    const promoted = r.trials.filter((t) => t.parent);
    expect(promoted.length).toBeGreaterThan(0);
    for (const t of promoted) expect(t.rounds).toBe(t.fidelity - t.parent!.round);
    expect(r.spentRounds).toBe(r.trials.reduce((s, t) => s + t.rounds, 0));
    expect(r.trials.some((t) => t.fidelity === 27)).toBe(false);
    expect(r.regret).toBe(1);
    expect(normalizedRegret(p, []).regret).toBe(1);
  });
});
