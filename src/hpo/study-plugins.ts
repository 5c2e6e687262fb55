// A study's strategy and pruner from their specs: a module path (a user's plug-in: its default export is
// a factory taking a context, or a class constructed with it) or a built-in name. Built-in names resolve
// through the strategies registry (src/hpo/strategies, `loadStrategy(spec, ctx)`) once it is merged;
// until then only module paths are known here.
import { pathToFileURL } from 'node:url';
import { UserError } from '../engine/errors.js';
import type { JsonValue } from '../engine/json.js';
import type { FidelityRange, Objective, Pruner, Strategy, StrategyContext } from './strategy.js';
import { isModulePath, type PluginSpec } from './study-config.js';

export interface PrunerContext {
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly seed: number;
  readonly options: Readonly<Record<string, JsonValue>>;
}

export async function loadStudyStrategy(spec: PluginSpec, ctx: StrategyContext): Promise<Strategy> {
  if (!isModulePath(spec.name)) throw unknownBuiltin('strategy', spec.name);
  const s = construct(await importDefault(spec.name, 'strategy'), ctx, spec.name, 'strategy');
  assertMethods(s, ['ask', 'tell', 'isDone', 'state', 'restore'], spec.name, 'strategy');
  return s as Strategy;
}

export async function loadStudyPruner(spec: PluginSpec, ctx: PrunerContext): Promise<Pruner> {
  if (!isModulePath(spec.name)) throw unknownBuiltin('pruner', spec.name);
  const p = construct(await importDefault(spec.name, 'pruner'), ctx, spec.name, 'pruner');
  assertMethods(p, ['shouldPrune'], spec.name, 'pruner');
  return p as Pruner;
}

function unknownBuiltin(what: string, name: string): UserError {
  return new UserError(`${what}: ${JSON.stringify(name)} is not a built-in ${what} here; name a module instead (${what}: ./my-${what}.js)`);
}

async function importDefault(file: string, what: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw new UserError(`${what} ${file}: cannot load the module: ${(e as Error).message}`);
  }
  if (typeof mod.default !== 'function') throw new UserError(`${what} ${file}: its default export must be a factory or a class`);
  return mod.default;
}

/** A class is constructed with the context; any other function is called with it. */
function construct(make: unknown, ctx: object, file: string, what: string): unknown {
  const f = make as (ctx: object) => unknown;
  try {
    return /^class[\s{]/.test(Function.prototype.toString.call(f)) ? new (f as unknown as new (c: object) => unknown)(ctx) : f(ctx);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${what} ${file}: refused its options: ${(e as Error).message}`);
  }
}

function assertMethods(v: unknown, names: string[], file: string, what: string): void {
  const missing = names.filter((n) => typeof (v as Record<string, unknown> | null)?.[n] !== 'function');
  if (missing.length) throw new UserError(`${what} ${file}: the object it made has no ${missing.join(', ')}`);
}
