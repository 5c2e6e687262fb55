// A test pruner: stops a trial whose primary objective at `round` is above `above`.
import type { Pruner, PrunerContext, TrialRecord } from '../../src/hpo/strategy.js';

export default function thresholdPruner(ctx: PrunerContext): Pruner {
  const round = Number(ctx.options.round ?? 2);
  const above = Number(ctx.options.above ?? 1.5);
  return {
    name: 'test-threshold',
    shouldPrune: (t: TrialRecord, r: number) => r === round && (t.curve?.at(-1)?.value ?? 0) > above,
  };
}
