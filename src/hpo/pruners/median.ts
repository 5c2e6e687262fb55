// The median rule: prune a trial whose value at round r is worse than the median of the other ended
// trials' values at round r (the percentile rule at p = 50).
import { parseOptions } from '../options.js';
import type { PrunerFactory } from '../strategy.js';
import { PercentilePruner, percentileOptions } from './percentile.js';

export const medianOptions = percentileOptions.omit({ percentile: true });

export const medianPruner: PrunerFactory = (ctx) => {
  const o = parseOptions(medianOptions, ctx.options, 'pruner median');
  return new PercentilePruner({ ...o, percentile: 50 }, 'median');
};
