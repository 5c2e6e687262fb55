// The pruner registry and loader, as for strategies: a built-in name or a module path whose default
// export is a PrunerFactory or a class taking a PrunerContext.
import type { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import { checkPrunerShape, importPluginModule, isModuleSpec, pluginFactory } from '../plugin.js';
import type { Pruner, PrunerContext, PrunerFactory } from '../strategy.js';
import { medianOptions, medianPruner } from './median.js';
import { percentileOptions, percentilePruner } from './percentile.js';

export interface BuiltinPruner {
  readonly description: string;
  readonly factory: PrunerFactory;
  readonly options: z.ZodObject;
}

export const PRUNERS: Readonly<Record<string, BuiltinPruner>> = {
  median: {
    description: "median rule: stop a trial whose value at round r is worse than the median of the ended trials' values there",
    factory: medianPruner,
    options: medianOptions,
  },
  percentile: {
    description: 'percentile rule: stop a trial outside the best p percent of the ended trials at the same round',
    factory: percentilePruner,
    options: percentileOptions,
  },
};

export function isPrunerName(name: string): boolean {
  return Object.hasOwn(PRUNERS, name);
}

/** The pruner `spec` names (built in or a module path resolved against `cwd`), built for `ctx` and checked. */
export async function loadPruner(spec: string, ctx: PrunerContext, cwd = process.cwd()): Promise<Pruner> {
  if (isPrunerName(spec)) return PRUNERS[spec]!.factory(ctx);
  if (!isModuleSpec(spec))
    throw new UserError(`unknown pruner '${spec}' (built in: ${Object.keys(PRUNERS).join(', ')}; or a module path such as ./my-pruner.js)`);
  const source = `pruner module ${spec}`;
  const factory = pluginFactory<PrunerContext>(await importPluginModule(spec, 'pruner', cwd), 'pruner', source);
  return checkPrunerShape(factory(ctx), source);
}
