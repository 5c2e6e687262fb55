// Successive halving (synchronous): n configs at the lowest fidelity, the best 1/eta continue from
// their checkpoints to eta times the rounds, until the maximum; a rung must fill before anyone climbs,
// so asks return fewer (or no) suggestions meanwhile. Then a fresh bracket starts (unless repeat: false).
import { z } from 'zod';
import { halvingBracket } from '../halving.js';
import { eta, parseOptions } from '../options.js';
import type { StrategyFactory } from '../strategy.js';
import { BracketStrategy } from './brackets.js';

export const successiveHalvingOptions = z.object({
  eta,
  n: z.number().int().min(1).optional().describe('configs started per bracket (default eta^K: one reaches the maximum)'),
  repeat: z.boolean().default(true).describe('start a new bracket when one ends'),
});

export const successiveHalving: StrategyFactory = (ctx) => {
  const o = parseOptions(successiveHalvingOptions, ctx.options, 'strategy sha');
  const plan = halvingBracket(ctx.fidelity.min, ctx.fidelity.max, o.eta, o.n);
  return new BracketStrategy(ctx, { name: 'sha', eta: o.eta, plans: [plan], repeat: o.repeat, concurrent: false });
};
