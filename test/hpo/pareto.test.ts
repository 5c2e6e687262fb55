import { describe, expect, it } from 'vitest';
import { crowdingDistances, dominates, nonDominatedFronts, paretoOrder } from '../../src/hpo/pareto.js';
import type { Objective, TrialRecord } from '../../src/hpo/strategy.js';

const trial = (id: number, values?: number[], status: TrialRecord['status'] = 'complete'): TrialRecord => ({
  id,
  config: {},
  fidelity: 1,
  status,
  rounds: 1,
  ...(values && { values }),
});

describe('Pareto ranking', () => {
  it('sorts points into non-dominated fronts', () => {
    expect(dominates([1, 1], [1, 2])).toBe(true);
    expect(dominates([1, 2], [1, 2])).toBe(false);
    expect(dominates([0, 3], [1, 2])).toBe(false);
    const points = [
      [1, 5],
      [2, 2],
      [5, 1],
      [3, 3],
      [4, 4],
      [6, 6],
    ];
    expect(nonDominatedFronts(points)).toEqual([[0, 1, 2], [3], [4], [5]]);
  });

  it('gives the extremes of a front infinite crowding distance and the middle the normalised gaps', () => {
    const points = [
      [0, 4],
      [1, 2],
      [3, 1],
      [4, 0],
    ];
    const d = crowdingDistances(points, [0, 1, 2, 3]);
    expect(d.get(0)).toBe(Number.POSITIVE_INFINITY);
    expect(d.get(3)).toBe(Number.POSITIVE_INFINITY);
    expect(d.get(1)).toBeCloseTo((3 - 0) / 4 + (4 - 1) / 4, 12);
    expect(d.get(2)).toBeCloseTo((4 - 1) / 4 + (2 - 0) / 4, 12);
  });

  it('ranks trials by the first objective with one, earlier ids first on ties, leaving out unusable values', () => {
    const loss: Objective[] = [{ name: 'val_loss', direction: 'minimize' }];
    const trials = [trial(0, [3]), trial(1, [1]), trial(2, [Number.NaN]), trial(3, undefined, 'failed'), trial(4, [1]), trial(5, [2])];
    expect(paretoOrder(loss, trials).map((t) => t.id)).toEqual([1, 4, 5, 0]);
    const score: Objective[] = [{ name: 'score', direction: 'maximize' }];
    expect(paretoOrder(score, trials).map((t) => t.id)).toEqual([0, 5, 1, 4]);
  });

  it('ranks several objectives by front, then crowding, with directions applied', () => {
    const objectives: Objective[] = [
      { name: 'val_loss', direction: 'minimize' },
      { name: 'score', direction: 'maximize' },
    ];
    // Minimized: (1,-1) (2,-3) (3,-4) (4,-5) on the first front; (3,-2) behind.
    const trials = [trial(0, [1, 1]), trial(1, [2, 3]), trial(2, [3, 4]), trial(3, [4, 5]), trial(4, [3, 2])];
    expect(paretoOrder(objectives, trials).map((t) => t.id)).toEqual([0, 3, 1, 2, 4]);
  });
});
