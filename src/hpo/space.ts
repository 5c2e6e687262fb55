// Search spaces: each hyperparameter is named by its dotted config path (`train.lr`, `lora.r`), the
// same name in configs, CLI flags, journals, plots and exports. A space is validated once (zod, errors
// name the dotted key) and then only read: strategies sample and scale through the helpers here.
import { z } from 'zod';

export type ParamValue = number | string | boolean;

export type ParamSpec =
  /** A real number in [low, high]; `log` samples and scales it in log space (low > 0). */
  | { type: 'float'; low: number; high: number; log?: boolean; grid?: number[] }
  /** An integer in [low, high], in steps of `step` (default 1); `log` as for float. */
  | { type: 'int'; low: number; high: number; log?: boolean; step?: number; grid?: number[] }
  /** One of `choices` (no order between them). */
  | { type: 'categorical'; choices: ParamValue[] };

/** Hyperparameters by dotted path, in a fixed order (the order strategies see dims in). */
export type SearchSpace = ReadonlyMap<string, ParamSpec>;

/** One point of a space: a value for every hyperparameter, by dotted path. */
export type Config = Readonly<Record<string, ParamValue>>;

export class SpaceError extends Error {
  override name = 'SpaceError';
}

const scalar = z.union([z.number().finite(), z.string(), z.boolean()]);
const finite = z.number().finite();

export const ParamSpecSchema: z.ZodType<ParamSpec> = z.discriminatedUnion('type', [
  z
    .object({ type: z.literal('float'), low: finite, high: finite, log: z.boolean().optional(), grid: z.array(finite).min(1).optional() })
    .strict(),
  z
    .object({
      type: z.literal('int'),
      low: z.number().int(),
      high: z.number().int(),
      log: z.boolean().optional(),
      step: z.number().int().positive().optional(),
      grid: z.array(z.number().int()).min(1).optional(),
    })
    .strict(),
  z.object({ type: z.literal('categorical'), choices: z.array(scalar).min(1) }).strict(),
]);

/** A dotted config path: identifier tokens joined by dots. */
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Checks what zod cannot: bounds in order, log bounds positive, grids inside bounds, distinct choices. */
export function checkParamSpec(name: string, p: ParamSpec): void {
  const fail = (msg: string): never => {
    throw new SpaceError(`${name}: ${msg}`);
  };
  if (p.type === 'categorical') {
    const keys = p.choices.map((c) => JSON.stringify(c));
    if (new Set(keys).size !== keys.length) fail('choices must be distinct');
    return;
  }
  if (!(p.low <= p.high)) fail(`low (${p.low}) must not exceed high (${p.high})`);
  if (p.log && !(p.low > 0)) fail(`a log-scaled range needs low > 0, got ${p.low}`);
  for (const g of p.grid ?? []) if (g < p.low || g > p.high) fail(`grid value ${g} lies outside [${p.low}, ${p.high}]`);
  if (p.type === 'int' && p.step !== undefined && (p.high - p.low) % p.step !== 0)
    fail(`step ${p.step} does not divide high - low (${p.high - p.low})`);
}

/** A validated space from a plain object `{ 'train.lr': {type: 'float', ...}, ... }` (key order kept). */
export function parseSpace(raw: Readonly<Record<string, unknown>>, where = 'space'): SearchSpace {
  const space = new Map<string, ParamSpec>();
  for (const [name, value] of Object.entries(raw)) {
    const r = ParamSpecSchema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const at = [name, ...issue.path.map(String)].join('.');
      throw new SpaceError(`${where}.${at}: ${issue.message}`);
    }
    if (!PARAM_NAME.test(name))
      throw new SpaceError(`${where}.${name}: a hyperparameter is named by a dotted config path such as train.lr`);
    checkParamSpec(`${where}.${name}`, r.data);
    space.set(name, r.data);
  }
  if (!space.size) throw new SpaceError(`${where}: name at least one hyperparameter`);
  return space;
}

/** The values of a finite dimension in order, or undefined for a continuous one. */
export function paramValues(p: ParamSpec): readonly ParamValue[] | undefined {
  if (p.type === 'categorical') return p.choices;
  if (p.grid) return p.grid;
  if (p.type === 'int') {
    const step = p.step ?? 1;
    const n = Math.floor((p.high - p.low) / step) + 1;
    return n <= 100_000 ? Array.from({ length: n }, (_, i) => p.low + i * step) : undefined;
  }
  return p.low === p.high ? [p.low] : undefined;
}

/** Number of distinct configs of a space, or Infinity when a dimension is continuous. */
export function spaceSize(space: SearchSpace): number {
  let n = 1;
  for (const p of space.values()) n *= paramValues(p)?.length ?? Number.POSITIVE_INFINITY;
  return n;
}

/** Whether `value` is a legal value of `p` (type, bounds, step, grid, choice). */
export function inParam(p: ParamSpec, value: unknown): boolean {
  if (p.type === 'categorical') return p.choices.some((c) => c === value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (p.grid) return p.grid.includes(value);
  if (value < p.low || value > p.high) return false;
  return p.type === 'float' || (Number.isInteger(value) && (value - p.low) % (p.step ?? 1) === 0);
}

/** Throws SpaceError naming the first hyperparameter that is missing, unknown or out of its range. */
export function checkConfig(space: SearchSpace, config: Config, where = 'config'): void {
  for (const [name, p] of space) {
    if (!Object.hasOwn(config, name)) throw new SpaceError(`${where}: no value for ${name}`);
    if (!inParam(p, config[name])) throw new SpaceError(`${where}: ${name} = ${JSON.stringify(config[name])} is outside its range`);
  }
  for (const name of Object.keys(config)) if (!space.has(name)) throw new SpaceError(`${where}: ${name} is not in the space`);
}

/** A canonical key of a config (dims in space order): equal configs, equal keys. */
export function configKey(space: SearchSpace, config: Config): string {
  return JSON.stringify([...space.keys()].map((k) => config[k] ?? null));
}

/**
 * A value's position in [0, 1] (log dims in log space; categorical: index / (n - 1)). Strategies that
 * model the objective (BO, FTS, FLoRA) work in this unit cube.
 */
export function toUnit(p: ParamSpec, value: ParamValue): number {
  if (p.type === 'categorical') {
    const i = p.choices.indexOf(value);
    return p.choices.length > 1 ? i / (p.choices.length - 1) : 0;
  }
  const v = value as number;
  if (p.high === p.low) return 0;
  return p.log ? (Math.log(v) - Math.log(p.low)) / (Math.log(p.high) - Math.log(p.low)) : (v - p.low) / (p.high - p.low);
}

/** The legal value nearest to position `u` in [0, 1] (inverse of toUnit, snapped to int steps, grids, choices). */
export function fromUnit(p: ParamSpec, u: number): ParamValue {
  const t = Math.min(1, Math.max(0, u));
  if (p.type === 'categorical') return p.choices[Math.round(t * (p.choices.length - 1))]!;
  if (p.grid) {
    let best = p.grid[0]!;
    for (const v of p.grid) if (Math.abs(toUnit(p, v) - t) < Math.abs(toUnit(p, best) - t)) best = v;
    return best;
  }
  if (t === 0 || t === 1) return t === 0 ? p.low : p.high; // exactly, not exp(log(x))
  const raw = p.log ? Math.exp(Math.log(p.low) + t * (Math.log(p.high) - Math.log(p.low))) : p.low + t * (p.high - p.low);
  if (p.type === 'float') return Math.min(p.high, Math.max(p.low, raw));
  const step = p.step ?? 1;
  return Math.min(p.high, Math.max(p.low, p.low + Math.round((raw - p.low) / step) * step));
}
