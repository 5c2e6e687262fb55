// Plug-ins by module path: `--strategy ./my-strategy.js` (or a pruner) is a JS module whose default
// export is a factory `ctx => instance` or a class `new (ctx)`. Everything a user's module hands us
// is checked here, and every problem is a UserError naming the file, so a typo in a plug-in reads as
// "./my-strategy.js: ..." rather than "undefined is not a function" in the middle of a study.
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../engine/errors.js';
import type { Pruner, Strategy, StrategyContext } from './strategy.js';

export type PluginKind = 'strategy' | 'pruner';

/** Whether `spec` names a module file (rather than a built-in): a path, or a name ending like a module. */
export function isModuleSpec(spec: string): boolean {
  return /^\.{1,2}([/\\]|$)/.test(spec) || isAbsolute(spec) || /[/\\]/.test(spec) || /\.(m|c)?[jt]s$/.test(spec);
}

/** A plug-in module's default export, loaded from `spec` resolved against `cwd`. */
export async function importPluginModule(spec: string, kind: PluginKind, cwd = process.cwd()): Promise<unknown> {
  const file = resolve(cwd, spec);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UserError(`${kind} module ${spec}: no such file (looked for ${file})`);
  // A FIFO would block the import forever, /dev/zero would never end: only regular files are modules.
  if (!info.isFile()) throw new UserError(`${kind} module ${spec}: not a regular file (${file})`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${kind} module ${spec}: cannot load it: ${(e as Error).message}`);
  }
  if (mod.default === undefined)
    throw new UserError(`${kind} module ${spec}: no default export; export default a factory (ctx => ${kind}) or a class taking ctx`);
  return mod.default;
}

const isClass = (f: unknown): boolean => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));

/** A default export as a factory: a class is constructed with `new`, a function called; anything else is refused. */
export function pluginFactory<C>(exported: unknown, kind: PluginKind, source: string): (ctx: C) => unknown {
  if (typeof exported !== 'function')
    throw new UserError(`${source}: the default export is ${describe(exported)}, not a factory (ctx => ${kind}) or a class taking ctx`);
  const fn = exported as (ctx: C) => unknown;
  return isClass(exported) ? (ctx) => new (exported as new (ctx: C) => unknown)(ctx) : (ctx) => fn(ctx);
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

const STRATEGY_MEMBERS = {
  name: 'string',
  multiObjective: 'boolean',
  ask: 'function',
  tell: 'function',
  isDone: 'function',
  state: 'function',
  restore: 'function',
} as const;
const PRUNER_MEMBERS = { name: 'string', shouldPrune: 'function' } as const;

function checkMembers(value: unknown, members: Readonly<Record<string, string>>, kind: PluginKind, source: string): void {
  if (typeof value !== 'object' || value === null) throw new UserError(`${source}: the factory returned ${describe(value)}, not a ${kind}`);
  for (const [member, type] of Object.entries(members)) {
    const actual = typeof (value as Record<string, unknown>)[member];
    if (actual !== type) throw new UserError(`${source}: the ${kind} has no ${type} '${member}' (found ${actual})`);
  }
}

/** `value` checked to have every member of a Strategy, or a UserError naming `source` and the missing member. */
export function checkStrategyShape(value: unknown, source: string): Strategy {
  checkMembers(value, STRATEGY_MEMBERS, 'strategy', source);
  return value as Strategy;
}

export function checkPrunerShape(value: unknown, source: string): Pruner {
  checkMembers(value, PRUNER_MEMBERS, 'pruner', source);
  return value as Pruner;
}

/**
 * A strategy built by `factory` for `ctx`, checked: it has the Strategy members, and a study with
 * several objectives gets one that declares `multiObjective` (otherwise a UserError says so).
 */
export function createStrategy(factory: (ctx: StrategyContext) => unknown, ctx: StrategyContext, source: string): Strategy {
  const strategy = checkStrategyShape(factory(ctx), source);
  if (ctx.objectives.length > 1 && !strategy.multiObjective)
    throw new UserError(
      `${source}: strategy ${strategy.name} optimizes one objective, but the study has ${ctx.objectives.length} ` +
        `(${ctx.objectives.map((o) => o.name).join(', ')}); choose a strategy that declares multiObjective`,
    );
  return strategy;
}
