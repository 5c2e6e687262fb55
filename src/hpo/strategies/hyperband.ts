// Hyperband: successive-halving brackets s = K..0 in turn, bracket s starting ceil((K+1)/(s+1)·eta^s)
// configs at rung K-s (see halving.ts), so it hedges between many cheap starts and few full runs.
// Brackets are independent: while every started one waits for a rung to fill, the next one starts.
import { z } from 'zod';
import { hyperbandBrackets } from '../halving.js';
import { eta, parseOptions } from '../options.js';
import type { StrategyFactory } from '../strategy.js';
import { BracketStrategy } from './brackets.js';

export const hyperbandOptions = z.object({
  eta,
  repeat: z.boolean().default(true).describe('run the brackets again once all have run'),
});

export const hyperband: StrategyFactory = (ctx) => {
  const o = parseOptions(hyperbandOptions, ctx.options, 'strategy hyperband');
  const plans = hyperbandBrackets(ctx.fidelity.min, ctx.fidelity.max, o.eta);
  return new BracketStrategy(ctx, { name: 'hyperband', eta: o.eta, plans, repeat: o.repeat, concurrent: true });
};
