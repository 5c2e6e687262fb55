// The strategy registry: built-in names to factories (each validates its own options with zod), with
// a one-line description for `fedhpo strategies`; and loadStrategy, which takes a built-in name or a
// module path (`./my-strategy.js`, resolved against the working directory).
import type { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import { importPluginModule, isModuleSpec, createStrategy, pluginFactory } from '../plugin.js';
import type { Strategy, StrategyContext, StrategyFactory } from '../strategy.js';
import { asha, ashaOptions } from './asha.js';
import { bayesianOptimization, boOptions } from './bo.js';
import { flora, floraOptions } from './flora.js';
import { federatedThompsonSampling, ftsOptions } from './fts.js';
import { gridOptions, gridSearch } from './grid.js';
import { hyperband, hyperbandOptions } from './hyperband.js';
import { randomOptions, randomSearch } from './random.js';
import { successiveHalving, successiveHalvingOptions } from './successive-halving.js';

export interface BuiltinStrategy {
  readonly description: string;
  readonly factory: StrategyFactory;
  /** Its options (the factory parses them; listed by `fedhpo strategies`). */
  readonly options: z.ZodObject;
}

export const STRATEGIES: Readonly<Record<string, BuiltinStrategy>> = {
  random: {
    description: 'random search: uniform configs (log dims in log space) at full fidelity; without replacement in a finite space',
    factory: randomSearch,
    options: randomOptions,
  },
  grid: {
    description: 'grid search: every combination of grid values (pointsPerDim on continuous dims); stops when exhausted',
    factory: gridSearch,
    options: gridOptions,
  },
  sha: {
    description:
      'successive halving: n configs at min rounds, the best 1/eta continue from checkpoints to eta x the rounds; waits for each rung',
    factory: successiveHalving,
    options: successiveHalvingOptions,
  },
  hyperband: {
    description: 'Hyperband: successive-halving brackets trading many cheap starts against few long runs',
    factory: hyperband,
    options: hyperbandOptions,
  },
  asha: {
    description: 'asynchronous successive halving: promote any trial in the top 1/eta of its rung, else start a new one; never waits',
    factory: asha,
    options: ashaOptions,
  },
  bo: {
    description: 'Bayesian optimisation: Matérn-5/2 GP, log expected improvement, constant-liar batches, ParEGO for several objectives',
    factory: bayesianOptimization,
    options: boOptions,
  },
  fts: {
    description:
      'federated Thompson sampling: clients share one weight sample of their own RFF regression; the server samples its own or a client’s (client task fts.weights)',
    factory: federatedThompsonSampling,
    options: ftsOptions,
  },
  flora: {
    description:
      'FLoRA single-shot: clients run local random search (client task flora.local-hpo); the server fits a loss surface (sgm, sgm+u, mplm, aplm) and runs its minimum once',
    factory: flora,
    options: floraOptions,
  },
};

/** Whether `name` is a built-in strategy (own names only: not `toString`). */
export function isStrategyName(name: string): boolean {
  return Object.hasOwn(STRATEGIES, name);
}

/** A resolved strategy spec: where it came from (for messages) and how to build it. */
export interface ResolvedStrategy {
  readonly source: string;
  readonly factory: (ctx: StrategyContext) => unknown;
}

/** A built-in name or a module path, as a factory; a UserError naming the spec or file when neither. */
export async function resolveStrategy(spec: string, cwd = process.cwd()): Promise<ResolvedStrategy> {
  if (isStrategyName(spec)) return { source: `strategy ${spec}`, factory: STRATEGIES[spec]!.factory };
  if (!isModuleSpec(spec))
    throw new UserError(
      `unknown strategy '${spec}' (built in: ${Object.keys(STRATEGIES).join(', ')}; or a module path such as ./my-strategy.js)`,
    );
  const source = `strategy module ${spec}`;
  return { source, factory: pluginFactory<StrategyContext>(await importPluginModule(spec, 'strategy', cwd), 'strategy', source) };
}

/** The strategy `spec` names, built for `ctx` and checked (members; multi-objective support when the study has several). */
export async function loadStrategy(spec: string, ctx: StrategyContext, cwd = process.cwd()): Promise<Strategy> {
  const { source, factory } = await resolveStrategy(spec, cwd);
  return createStrategy(factory, ctx, source);
}
