// Every numeric command-line flag, checked in one place: a flag's name fixes its rule (an integer or
// a finite real, and its range), whichever command declares it, and the check runs while yargs
// parses (before any file is read or model loaded). A bad value is one line naming the flag, the
// value as typed and what is wanted: `--threads: expected an integer in [1, 256], got 'abc'`.
import { UsageError } from './util.js';

interface NumberRule {
  kind: 'integer' | 'number';
  min: number;
  max: number;
  /** The minimum itself is refused (a rate or a scale that must be > 0). */
  minExclusive?: boolean;
  /** The maximum itself is refused (a probability that must stay < 1). */
  maxExclusive?: boolean;
}

const int = (min: number, max: number): NumberRule => ({ kind: 'integer', min, max });
const real = (min: number, max: number, edges: Partial<NumberRule> = {}): NumberRule => ({ kind: 'number', min, max, ...edges });
const MAX_INT = Number.MAX_SAFE_INTEGER;

/**
 * The rule of each numeric flag. Limits are far above any sensible run and far below what would
 * exhaust memory or overflow an index (a billion clients or a LoRA rank of a billion is a typo).
 */
export const NUMBER_FLAGS = {
  seed: int(-MAX_INT, MAX_INT),
  threads: int(1, 256),
  workers: int(1, 1024),
  steps: int(1, 1e9),
  warmup: int(0, 1e9),
  'eval-every': int(1, 1e9),
  'batch-size': int(1, 65536),
  'grad-accum': int(1, 65536),
  // The model's max_position_embeddings is the bound, checked once its config is read (that message names both).
  'seq-len': int(1, MAX_INT),
  'max-new-tokens': int(1, 2 ** 24),
  limit: int(1, 1e9),
  samples: int(0, 1e6),
  clients: int(1, 1e5),
  'min-size': int(0, 1e9),
  'max-bins': int(1, 1000),
  'lora-r': int(1, 4096),
  'lora-alpha': real(0, 1e9, { minExclusive: true }),
  'lora-dropout': real(0, 1, { maxExclusive: true }),
  'num-virtual-tokens': int(1, 4096),
  'encoder-hidden-size': int(1, 65536),
  lr: real(0, 1e6),
  'weight-decay': real(0, 1e6),
  momentum: real(0, 1, { maxExclusive: true }),
  'clip-norm': real(0, 1e12),
  alpha: real(0, 1e12, { minExclusive: true }),
  'max-seconds': real(0, 1e9, { minExclusive: true }),
  seeds: int(1, 1e6),
  'min-rounds': int(1, 1e9),
  round: int(1, 1e9),
} as const satisfies Record<string, NumberRule>;

export type NumberFlagName = keyof typeof NUMBER_FLAGS;

/** A plain decimal number as typed (no hex, no Infinity/NaN, no empty string). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function wanted(rule: NumberRule): string {
  const lo = rule.minExclusive ? '(' : '[';
  const hi = rule.maxExclusive ? ')' : ']';
  const what = rule.kind === 'integer' ? 'an integer' : 'a number';
  if (rule.min === -MAX_INT && rule.max === MAX_INT) return `${what} (at most 2^53 - 1 in size)`;
  if (rule.max === MAX_INT) return `${what} >= ${rule.min}`;
  return `${what} in ${lo}${rule.min}, ${rule.max}${hi}`;
}

/** The value of `--name` as a number obeying its rule, or a UsageError naming the flag. */
export function parseNumberFlag(name: NumberFlagName, raw: unknown): number {
  const rule: NumberRule = NUMBER_FLAGS[name];
  const bad = (shown: string): UsageError => new UsageError(`--${name}: expected ${wanted(rule)}, got ${shown}`);
  if (Array.isArray(raw)) throw new UsageError(`--${name}: given ${raw.length} times; give it once`);
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw.trim())) n = Number(raw);
  else throw bad(typeof raw === 'string' ? `'${raw.slice(0, 40)}'` : 'no value');
  const shown = typeof raw === 'string' ? `'${raw}'` : String(raw);
  if (!Number.isFinite(n) || (rule.kind === 'integer' && !Number.isInteger(n))) throw bad(shown);
  if (n < rule.min || n > rule.max || (rule.minExclusive && n === rule.min) || (rule.maxExclusive && n === rule.max)) throw bad(shown);
  return n;
}

interface NumberOption {
  describe: string;
  coerce: (raw: unknown) => number;
  requiresArg: true;
}

/**
 * The yargs option of a numeric flag: declared without a yargs type so the value reaches the check
 * as typed ('abc' rather than NaN), and coerced through parseNumberFlag (defaults too).
 */
export function numberFlag(name: NumberFlagName, describe: string): NumberOption;
export function numberFlag(name: NumberFlagName, describe: string, defaultValue: number): NumberOption & { default: number };
export function numberFlag(name: NumberFlagName, describe: string, defaultValue?: number): NumberOption & { default?: number } {
  return {
    describe: `${describe ? `${describe}; ` : ''}${wanted(NUMBER_FLAGS[name])}`,
    coerce: (raw: unknown) => parseNumberFlag(name, raw),
    requiresArg: true,
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
  };
}

/**
 * A flag that takes one value, given twice (`--data a --data b`): yargs would hand the command an
 * array where it expects a string. Refused by name; flags declared as arrays (--set, --study) repeat.
 */
export function refuseRepeatedFlags(argv: Record<string, unknown>, arrayFlags: readonly string[]): void {
  const repeatable = new Set(arrayFlags);
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || !Array.isArray(value) || repeatable.has(key)) continue;
    // yargs also stores --a-b as aBb: report the flag as typed.
    if (
      /[A-Z]/.test(key) &&
      Object.hasOwn(
        argv,
        key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      )
    )
      continue;
    throw new UsageError(`--${key}: given ${value.length} times; give it once`);
  }
}
