// Checking the shape of a parsed JSON document field by field, so that a wrong type anywhere is
// reported with its path (`normalizer.normalizers[3]: expected an object, got 5`) instead of
// surfacing later as a TypeError deep inside the code that uses it.
import type { Fail } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** Documents nested deeper than this are refused (real tokenizer.json files stay under ~10 levels). */
export const MAX_JSON_DEPTH = 64;

/** The path of `key` inside the value at `path`: `model.vocab["Ġthe"]`, `added_tokens[3]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${quote(key)}]`;
}

/** A string as JSON, shortened to `max` characters for messages. */
export function quote(s: string, max = 60): string {
  const json = JSON.stringify(s);
  return json.length <= max ? json : `${json.slice(0, max - 2)}…"`;
}

/** A short description of any value for messages: `5`, `null`, `"abc"`, `an array`, `an object`. */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** Typed reads of JSON values; each failure names the value's path and what was expected. */
export class JsonShape {
  constructor(private readonly fail: Fail) {}

  private wrong(path: string, expected: string, v: unknown): never {
    return this.fail(`${path}: expected ${expected}, got ${describeJson(v)}`);
  }

  object(v: unknown, path: string): JsonObject {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.wrong(path, 'an object', v);
    return v as JsonObject;
  }

  /** An object, or null for null / absent. */
  objectOrNull(v: unknown, path: string): JsonObject | null {
    return v === null || v === undefined ? null : this.object(v, path);
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.wrong(path, 'an array', v);
    return v as unknown[];
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string') this.wrong(path, 'a string', v);
    return v as string;
  }

  number(v: unknown, path: string): number {
    if (typeof v !== 'number') this.wrong(path, 'a number', v);
    return v as number;
  }

  /** A string, or undefined for null / absent. */
  optionalString(v: unknown, path: string): string | undefined {
    return v === null || v === undefined ? undefined : this.string(v, path);
  }

  /** A number, or undefined for null / absent. */
  optionalNumber(v: unknown, path: string): number | undefined {
    return v === null || v === undefined ? undefined : this.number(v, path);
  }

  /** A boolean, or undefined when absent (null too: some writers emit null for unset flags). */
  optionalBoolean(v: unknown, path: string): boolean | undefined {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'boolean') this.wrong(path, 'true or false', v);
    return v as boolean;
  }

  /** One of a few strings. */
  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
    if (!options.includes(v as T)) this.wrong(path, `one of ${options.join(', ')}`, v);
    return v as T;
  }

  /** Refuses values nested deeper than `maxDepth` (checked without recursion, so any depth is safe). */
  depth(root: unknown, path: string, maxDepth = MAX_JSON_DEPTH): void {
    const stack: [value: unknown, path: string, depth: number][] = [[root, path, 1]];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      const [v, p, d] = top;
      if (v === null || typeof v !== 'object') continue;
      if (d > maxDepth) this.fail(`${shortPath(p)}: nested more than ${maxDepth} levels deep`);
      const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
      for (const [k, x] of entries) if (x !== null && typeof x === 'object') stack.push([x, childPath(p, k), d + 1]);
    }
  }
}

/** A long path cut in the middle, for one-line messages. */
function shortPath(path: string, max = 120): string {
  return path.length <= max ? path : `${path.slice(0, max / 2)}…${path.slice(-max / 2)}`;
}

/**
 * The character offset at which JSON text first nests deeper than `maxDepth` objects / arrays, or -1.
 * Checked on the text before parsing: JSON.parse copes with any depth but takes seconds on millions
 * of levels, and the parsed result would then have to be walked again.
 */
export function jsonTextTooDeepAt(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}
