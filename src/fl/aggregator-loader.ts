// A user's own aggregator, given as a module path (`--aggregator ./my-agg.js`). The module's default
// export is an Aggregator object, a class implementing Aggregator (constructed with the options), or
// a factory function (options) => Aggregator (may be async). What comes back is checked against the
// interface and wrapped in a guard, so a plug-in's bug surfaces as one AggregatorError naming the
// file instead of a corrupt global adapter.
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Rng } from '../engine/rng.js';
import { type Aggregator, AggregatorError, type ClientUpdate, type JsonValue, type RoundPlan } from './aggregator.js';
import { checkFinite, checkSameLayout, checkWellFormed, type NamedTensors, TensorLayoutError } from './tensors.js';

/** An aggregator module is source code: 16 MiB is far above any. */
const MAX_MODULE_BYTES = 16 * 2 ** 20;

const METHODS = ['configureRound', 'aggregate', 'state', 'restore'] as const;

const isClass = (f: unknown): boolean => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));

/** Throws AggregatorError (prefixed with `where`) unless `x` has the Aggregator members. */
export function checkAggregator(x: unknown, where: string): Aggregator {
  if (x === null || typeof x !== 'object')
    throw new AggregatorError(`${where}: expected an Aggregator object, got ${x === null ? 'null' : typeof x}`);
  const o = x as Record<string, unknown>;
  const missing = METHODS.filter((m) => typeof o[m] !== 'function').map((m) => `${m}()`);
  if (typeof o.name !== 'string' || !o.name) missing.unshift('name (a non-empty string)');
  if (missing.length) throw new AggregatorError(`${where}: does not implement Aggregator: missing ${missing.join(', ')}`);
  return x as Aggregator;
}

/** The first line of an error's message: errors here end up as one log line. */
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** Imports `file` (relative to the working directory) and builds the aggregator its default export describes. */
export async function loadAggregator(file: string, options: { [key: string]: JsonValue } = {}): Promise<Aggregator> {
  const path = isAbsolute(file) ? file : resolve(file);
  // Only a regular file of module size: import() of /dev/zero or a FIFO reads forever (it took 7 GB).
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new AggregatorError(`${file}: cannot load the aggregator module: no such file (looked for ${path})`);
  if (!info.isFile()) throw new AggregatorError(`${file}: cannot load the aggregator module: not a regular file`);
  if (info.size > MAX_MODULE_BYTES)
    throw new AggregatorError(`${file}: cannot load the aggregator module: ${info.size} bytes is over the limit of ${MAX_MODULE_BYTES}`);
  const url = pathToFileURL(path).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (e) {
    throw new AggregatorError(`${file}: cannot load the aggregator module: ${messageOf(e)}`);
  }
  const exp = mod.default;
  const where = `${file}: default export`;
  if (exp === undefined)
    throw new AggregatorError(
      `${file}: no default export (export default an Aggregator object, a class implementing Aggregator, or a function (options) => Aggregator)`,
    );
  let made: unknown;
  try {
    if (isClass(exp)) made = new (exp as new (o: unknown) => unknown)(options);
    else if (typeof exp === 'function') made = await (exp as (o: unknown) => unknown)(options);
    else if (Object.keys(options).length) throw new AggregatorError(`${where}: is an object, so it cannot take the options given`);
    else made = exp;
  } catch (e) {
    if (e instanceof AggregatorError) throw e;
    throw new AggregatorError(`${file}: building the aggregator failed: ${messageOf(e)}`);
  }
  return new GuardedAggregator(checkAggregator(made, where), file);
}

/**
 * Checks what a plug-in returns: a plan of distinct offered clients, JSON-able train configs and
 * state, and a new global adapter with the global's layout and finite values. Errors name `source`.
 */
export class GuardedAggregator implements Aggregator {
  constructor(
    readonly inner: Aggregator,
    readonly source: string,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  private fail(what: string, e?: unknown): never {
    if (e instanceof AggregatorError) throw e;
    throw new AggregatorError(`${this.source}: aggregator '${this.inner.name}' ${what}${e === undefined ? '' : `: ${messageOf(e)}`}`);
  }

  /** f(), or an AggregatorError saying `what` (e.g. "state() failed") and why. */
  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      return this.fail(what, e);
    }
  }

  configureRound(round: number, clientIds: readonly string[], rng: Rng): RoundPlan {
    const plan = this.call('configureRound() failed', () => this.inner.configureRound(round, clientIds, rng));
    const offered = new Set(clientIds);
    if (!plan || !Array.isArray(plan.clients) || !plan.clients.length)
      this.fail('configureRound() must return { clients: [at least one id] }');
    if (new Set(plan.clients).size !== plan.clients.length) this.fail('configureRound() chose a client twice');
    const stranger = plan.clients.find((c) => !offered.has(c));
    if (stranger !== undefined) this.fail(`configureRound() chose '${String(stranger)}', which was not offered`);
    if (plan.trainConfig !== undefined)
      this.call('configureRound() returned a trainConfig that is not JSON', () => JSON.stringify(plan.trainConfig));
    return plan;
  }

  async aggregate(global: NamedTensors, updates: readonly ClientUpdate[], round: number): Promise<NamedTensors> {
    let next: NamedTensors;
    try {
      next = await this.inner.aggregate(global, updates, round);
    } catch (e) {
      return this.fail('aggregate() failed', e);
    }
    if (!(next instanceof Map)) this.fail('aggregate() must return named tensors (a Map)');
    try {
      checkWellFormed(next, 'aggregate() result');
      checkSameLayout(global, next, 'aggregate() result');
      checkFinite(next, 'aggregate() result');
    } catch (e) {
      if (e instanceof TensorLayoutError) this.fail('returned a bad adapter', e);
      throw e;
    }
    return next;
  }

  state(): JsonValue {
    const s = this.call('state() failed', () => this.inner.state());
    // Round-trip through JSON: what the journal will hold is what restore() will get.
    return this.call('state() returned something that is not JSON', () => JSON.parse(JSON.stringify(s ?? null)) as JsonValue);
  }

  restore(state: JsonValue): void {
    this.call('restore() failed', () => this.inner.restore(state));
  }
}
