// History, curves, importance, Pareto and rank scatter: the data each chart draws, checked by hand.
import { describe, expect, it } from 'vitest';
import { etaSquared, paramImportance } from '../../src/hpo/importance.js';
import { paretoFront } from '../../src/hpo/pareto.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { curveSeries, curvesChart } from '../../src/plot/curves.js';
import { historyChart, historyPoints } from '../../src/plot/history.js';
import { paretoChart, paretoPoints } from '../../src/plot/pareto.js';
import { rankScatterChart } from '../../src/plot/rank-scatter.js';
import { specToSvg } from '../../src/plot/render.js';
import { curve, study, trial } from '../helpers/study.js';

const cfg = (lr: number, r = 4, s = 1) => ({ 'train.lr': lr, 'lora.r': r, 'train.local_steps': s });

describe('history', () => {
  const s = study([
    trial(0, { config: cfg(0.001), loss: 2.0, score: 0.1, rounds: 4 }),
    trial(1, { config: cfg(0.01), loss: 0.1, score: 0.9, status: 'pruned', rounds: 2 }),
    trial(2, { config: cfg(0.1), loss: 2.5, score: 0.3, rounds: 4 }),
    trial(3, { config: cfg(0.001, 8), status: 'failed', rounds: 1 }),
    trial(4, { config: cfg(0.01, 8), loss: 1.5, score: 0.2, rounds: 4 }),
  ]);

  it('best-so-far over complete trials against rounds spent by all trials', () => {
    const h = historyPoints(s, 'val_loss');
    expect(h.map((p) => [p.budget, p.best])).toEqual([
      [4, 2.0],
      [6, 2.0], // the pruned trial costs 2 rounds; its 0.1 is not a finished result
      [10, 2.0],
      [11, 2.0],
      [15, 1.5],
    ]);
    expect(historyPoints(s, 'score').map((p) => p.best)).toEqual([0.1, 0.1, 0.3, 0.3, 0.3]);
  });

  it('is monotone on a long study, and draws several studies on one chart', async () => {
    const a = syntheticStudy({ trials: 40, seed: 2, name: 'random' });
    const b = syntheticStudy({ trials: 40, seed: 5, name: 'random' });
    const best = historyPoints(a, 'val_loss').map((p) => p.best);
    for (let i = 1; i < best.length; i++) expect(best[i]).toBeLessThanOrEqual(best[i - 1]!);
    const budgets = historyPoints(a, 'val_loss').map((p) => p.budget);
    expect(budgets).toEqual([...budgets].sort((x, y) => x - y));
    const svg = await specToSvg(historyChart([a, b]).spec);
    expect(svg).toContain('random (2)');
    // One best-so-far line per study.
    expect(svg.match(/class="mark-line role-mark layer_1_marks"/g)?.length).toBe(2);
  });
});

describe('curves', () => {
  it('a pruned curve ends at its pruning round, marked; a complete one runs to its fidelity', async () => {
    const s = study([
      trial(0, { config: cfg(0.001), loss: 1, score: 0.5, curve: curve(3, 0.5, 4) }),
      trial(1, { config: cfg(0.01), loss: 2, score: 0.5, status: 'pruned', rounds: 2, curve: curve(3, 0.2, 2) }),
      trial(2, { config: cfg(0.1), status: 'failed', rounds: 3, curve: curve(3, 0.1, 3) }),
    ]);
    const { lines, cuts } = curveSeries(s);
    expect(lines.filter((p) => p.trial === 1).map((p) => p.round)).toEqual([1, 2]);
    expect(lines.filter((p) => p.trial === 0).at(-1)!.round).toBe(4);
    expect(cuts.map((c) => [c.trial, c.status, c.round])).toEqual([
      [1, 'pruned', 2],
      [2, 'failed', 3],
    ]);
    const svg = await specToSvg(curvesChart(s).spec);
    // One line per trial; the pruned one has two vertices (rounds 1 and 2) and ends in an × at round 2.
    const lineMarks = [...svg.matchAll(/aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)"/g)];
    expect(lineMarks.length).toBe(3);
    const pruned = lineMarks.find((m) => m[1]!.includes('status: pruned'))!;
    expect(pruned[2]!.split('L').length).toBe(2);
    const markers = [
      ...svg.matchAll(/aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point" transform="[^"]*" d="([^"]*)"/g),
    ];
    expect(markers.map((m) => /status: (\w+);.*round: (\d+)/.exec(m[1]!)!.slice(1))).toEqual([
      ['pruned', '2'],
      ['failed', '3'],
    ]);
    // The × is two strokes (M..L..M..L), the failed end a square.
    expect(markers[0]![2]).toMatch(/^M[^M]*L[^M]*M[^M]*L[^M]*$/);
  });

  it('refuses a study without curves', () => {
    expect(() => curvesChart(study([trial(0, { config: cfg(0.1), loss: 1, score: 1 })]))).toThrow(/no trial .* per-round curve/);
  });
});

describe('importance', () => {
  it('eta squared by hand: groups {1,2} and {3,4} explain 4 of 5 units of variance', () => {
    expect(etaSquared([1, 2, 3, 4], [0, 0, 1, 1])).toBeCloseTo(0.8, 12);
    expect(etaSquared([1, 1, 1], [0, 1, 2])).toBe(0);
  });

  it('finds the one hyperparameter the metric depends on', () => {
    const trials = [0.001, 0.01, 0.1].flatMap((lr, i) =>
      [4, 8].flatMap((r) => [1, 2].map((st) => trial(100 * i + 10 * r + st, { config: cfg(lr, r, st), loss: 1 + i, score: 0.5 }))),
    );
    const imp = paramImportance(study(trials), 'val_loss');
    expect(imp.map((p) => [p.param, p.importance])).toEqual([
      ['train.lr', 1],
      ['lora.r', 0],
      ['train.local_steps', 0],
    ]);
    expect(paramImportance(study(trials), 'score').every((p) => p.importance === 0)).toBe(true);
  });
});

describe('pareto', () => {
  it('keeps the trials no other beats on both metrics', () => {
    expect(
      paretoFront(
        [
          [1, 0.5],
          [2, 0.7],
          [1.5, 0.7],
          [3, 0.1],
          [1, 0.5],
        ],
        ['minimize', 'maximize'],
      ),
    ).toEqual([0, 2, 4]);
    const s = study([
      trial(0, { config: cfg(0.001), loss: 1, score: 0.5, bytes: 300 }),
      trial(1, { config: cfg(0.01), loss: 2, score: 0.7, bytes: 100 }),
      trial(2, { config: cfg(0.1), loss: 1.5, score: 0.7, bytes: 200 }),
    ]);
    expect(paretoPoints(s, 'val_loss', 'score').map((p) => p.front)).toEqual([true, false, true]);
    expect(paretoPoints(s, 'val_loss', 'bytes_sent').map((p) => p.front)).toEqual([true, true, true]);
    expect(paretoChart(s).description).toContain('bytes sent');
  });
});

describe('rank scatter', () => {
  it('puts the correlations in the subtitle', async () => {
    const svg = await specToSvg(rankScatterChart(syntheticStudy({ trials: 30 })).spec);
    expect(svg).toMatch(/Spearman rho = -?\d\.\d{3} \(p = [\d.e-]+, (t|exact-permutation)\)/);
    expect(svg).toMatch(/Kendall tau-b = -?\d\.\d{3}/);
  });
});
