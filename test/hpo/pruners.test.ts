import { describe, expect, it } from 'vitest';
import { medianPruner } from '../../src/hpo/pruners/median.js';
import { percentileOf, percentilePruner } from '../../src/hpo/pruners/percentile.js';
import { parseSpace } from '../../src/hpo/space.js';
import type { Objective, PrunerContext, StudyView, TrialRecord } from '../../src/hpo/strategy.js';

const LOSS: Objective = { name: 'val_loss', direction: 'minimize' };
const SCORE: Objective = { name: 'score', direction: 'maximize' };

/** A trial whose curve holds `values` at rounds 1, 2, 3, ... */
const curveTrial = (id: number, values: number[], status: TrialRecord['status'] = 'complete'): TrialRecord => ({
  id,
  config: { x: id },
  fidelity: values.length,
  status,
  rounds: values.length,
  curve: values.map((value, i) => ({ round: i + 1, value })),
});

const study = (trials: TrialRecord[], objective = LOSS): StudyView => ({
  space: parseSpace({ x: { type: 'int', low: 0, high: 99 } }),
  objectives: [objective],
  fidelity: { min: 1, max: 9 },
  trials,
  budget: { spentRounds: 0, maxRounds: Number.POSITIVE_INFINITY },
});
const ctx = (options: PrunerContext['options'] = {}): PrunerContext => ({ objectives: [LOSS], fidelity: { min: 1, max: 9 }, options });

// Ended trials' values at rounds 1..3; the median at round 2 is 5 (of 3, 4, 5, 6, 8).
const ENDED = [
  curveTrial(0, [9, 6, 4]),
  curveTrial(1, [8, 5, 3]),
  curveTrial(2, [7, 3, 2]),
  curveTrial(3, [9, 8, 7], 'pruned'),
  curveTrial(4, [6, 4, 3]),
];

describe('pruners', () => {
  it('computes percentiles by linear interpolation', () => {
    expect(percentileOf([3, 1, 2, 4], 50)).toBe(2.5);
    expect(percentileOf([10, 20, 30, 40, 50], 25)).toBe(20);
    expect(percentileOf([10, 20], 10)).toBe(11);
    expect(percentileOf([7], 90)).toBe(7);
  });

  it('median: prunes a trial worse than the median of the ended trials at that round, not one at it or better', () => {
    const pruner = medianPruner(ctx());
    const worse = curveTrial(9, [9, 5.5], 'running');
    const equal = curveTrial(10, [9, 5], 'running');
    const s = study([...ENDED, worse, equal]);
    expect(pruner.name).toBe('median');
    expect(pruner.shouldPrune(worse, 2, s)).toBe(true);
    expect(pruner.shouldPrune(equal, 2, s)).toBe(false);
    // Round 1: the median of 9, 8, 7, 9, 6 is 8; 9 is worse. Running trials are not compared against.
    expect(pruner.shouldPrune(worse, 1, s)).toBe(true);
    expect(pruner.shouldPrune(curveTrial(11, [1], 'running'), 1, study([...ENDED.slice(0, 4), curveTrial(12, [0], 'running')]))).toBe(
      false,
    );
  });

  it('waits out warm-up rounds and needs a minimum number of ended trials', () => {
    const worse = curveTrial(9, [100, 100, 100], 'running');
    expect(medianPruner(ctx({ warmupRounds: 2 })).shouldPrune(worse, 2, study(ENDED))).toBe(false);
    expect(medianPruner(ctx({ warmupRounds: 2 })).shouldPrune(worse, 3, study(ENDED))).toBe(true);
    expect(medianPruner(ctx({ minTrials: 6 })).shouldPrune(worse, 3, study(ENDED))).toBe(false);
    expect(medianPruner(ctx({ minTrials: 5 })).shouldPrune(worse, 3, study(ENDED))).toBe(true);
    // No value at that round: no verdict. A diverging (NaN) value: pruned at once.
    expect(medianPruner(ctx()).shouldPrune(worse, 7, study(ENDED))).toBe(false);
    expect(medianPruner(ctx()).shouldPrune(curveTrial(9, [Number.NaN], 'running'), 1, study(ENDED))).toBe(true);
  });

  it('percentile: keeps only the best p percent, in the direction of the first objective', () => {
    // Round 3 values of the ended trials: 4, 3, 2, 7, 3 -> 25th percentile 3, 75th percentile 4.
    const p25 = percentilePruner(ctx({ percentile: 25 }));
    expect(p25.shouldPrune(curveTrial(9, [0, 0, 3.5], 'running'), 3, study(ENDED))).toBe(true);
    expect(p25.shouldPrune(curveTrial(9, [0, 0, 3], 'running'), 3, study(ENDED))).toBe(false);
    // Maximizing a score: the best 25 percent are the highest values, above the 75th percentile (4).
    expect(p25.shouldPrune(curveTrial(9, [0, 0, 3.5], 'running'), 3, study(ENDED, SCORE))).toBe(true);
    expect(p25.shouldPrune(curveTrial(9, [0, 0, 4.5], 'running'), 3, study(ENDED, SCORE))).toBe(false);
  });

  it('names a bad option', () => {
    expect(() => percentilePruner(ctx({ percentile: 120 }))).toThrow(/^pruner percentile: option percentile: /);
    expect(() => medianPruner(ctx({ percentile: 10 }))).toThrow(
      'pruner median: unknown option percentile (known: warmupRounds, minTrials)',
    );
  });
});
