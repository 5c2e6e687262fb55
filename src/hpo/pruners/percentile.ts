// The percentile rule (Optuna's PercentilePruner, on federated rounds): stop a running trial at round
// r when its curve value there is worse than the p-th best percentile of the other trials' values at
// round r. Only ended trials (complete or pruned) are compared against, so the verdict does not depend
// on how far concurrent trials happen to be; warm-up rounds and a minimum number of such trials
// guard the start. A non-finite value (a diverging loss) is pruned at once.
import { z } from 'zod';
import { parseOptions } from '../options.js';
import type { Pruner, PrunerContext, PrunerFactory, StudyView, TrialRecord } from '../strategy.js';

export const percentileOptions = z.object({
  percentile: z.number().min(0).max(100).default(25).describe('keep trials within the best p percent at each round'),
  warmupRounds: z.number().int().min(0).default(0).describe('never prune at these first rounds'),
  minTrials: z.number().int().min(1).default(5).describe('prune only against at least this many ended trials with a value at the round'),
});

/** The p-th percentile (0..100) of `values`, interpolating linearly between order statistics (numpy's default). */
export function percentileOf(values: readonly number[], p: number): number {
  if (!values.length) throw new RangeError('percentileOf: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** A trial's curve value at `round`, if it has one. */
export function curveAt(t: TrialRecord, round: number): number | undefined {
  return t.curve?.find((c) => c.round === round)?.value;
}

export interface PercentileRule {
  readonly percentile: number;
  readonly warmupRounds: number;
  readonly minTrials: number;
}

export class PercentilePruner implements Pruner {
  constructor(
    private readonly rule: PercentileRule,
    readonly name = 'percentile',
  ) {}

  shouldPrune(trial: TrialRecord, round: number, study: StudyView): boolean {
    if (round <= this.rule.warmupRounds) return false;
    const value = curveAt(trial, round);
    if (value === undefined) return false;
    if (!Number.isFinite(value)) return true;
    const others: number[] = [];
    for (const t of study.trials) {
      if (t.id === trial.id || (t.status !== 'complete' && t.status !== 'pruned')) continue;
      const v = curveAt(t, round);
      if (v !== undefined && Number.isFinite(v)) others.push(v);
    }
    if (others.length < this.rule.minTrials) return false;
    const maximize = study.objectives[0]?.direction === 'maximize';
    // The best p percent: the lowest values when minimizing, the highest when maximizing.
    return maximize ? value < percentileOf(others, 100 - this.rule.percentile) : value > percentileOf(others, this.rule.percentile);
  }
}

export const percentilePruner: PrunerFactory = (ctx: PrunerContext) =>
  new PercentilePruner(parseOptions(percentileOptions, ctx.options, 'pruner percentile'));
