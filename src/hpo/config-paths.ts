// Dotted paths into config documents. A hyperparameter `train.lr` is set in a trial config by walking
// (and creating) nested objects; `--set space.train.lr.high=0.1` walks a study config whose keys may
// themselves contain dots (space names), so overrides match the longest existing key first.
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from '../engine/json.js';
import { UserError } from '../engine/errors.js';

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of a JSON value (configs are small; JSON round trip keeps them plain). */
export function cloneJson<T extends JsonValue>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The value at `path` (dot-separated keys), or undefined when any step is missing. */
export function getPath(doc: JsonValue, path: string): JsonValue | undefined {
  let at: JsonValue | undefined = doc;
  for (const key of path.split('.')) {
    if (!isJsonObject(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

/** Sets `path` in `doc`, creating objects on the way; throws UserError when a step is not an object. */
export function setPath(doc: JsonObject, path: string, value: JsonValue, where = 'config'): void {
  const keys = path.split('.');
  let at: JsonObject = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i]!;
    const next = at[key];
    if (next === undefined) at = at[key] = {};
    else if (isJsonObject(next)) at = next;
    else throw new UserError(`${where}: cannot set ${path}: ${keys.slice(0, i + 1).join('.')} is not an object`);
  }
  at[keys.at(-1)!] = value;
}

/** `{train: {lr: 1}}` -> `{'train.lr': 1}`; arrays and scalars are leaves; dotted keys are kept as written. */
export function flattenLeaves(doc: JsonObject, prefix = ''): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(doc)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isJsonObject(value) && Object.keys(value).length > 0) Object.assign(out, flattenLeaves(value, name));
    else out[name] = value;
  }
  return out;
}

/**
 * Applies `key.path=value` overrides to a parsed YAML document (in place). The value is read as a YAML
 * scalar or flow collection (`0.1`, `true`, `[4, 8]`, `random`). At each level the longest run of
 * tokens naming an existing key is taken (so `space.train.lr.high` finds the key `train.lr`); a key
 * that does not exist yet is one token, created as an object when more tokens follow.
 */
export function applyOverrides(doc: JsonObject, sets: readonly string[]): void {
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${set}: want key.path=value`);
    const path = set.slice(0, eq).trim();
    const text = set.slice(eq + 1);
    if (!/^[^.\s]+(\.[^.\s]+)*$/.test(path)) throw new UserError(`--set ${set}: ${JSON.stringify(path)} is not a dotted key path`);
    let value: JsonValue;
    try {
      value = (parseYaml(text) ?? null) as JsonValue;
    } catch (e) {
      throw new UserError(`--set ${path}: cannot read the value ${JSON.stringify(text)}: ${(e as Error).message}`);
    }
    setOverride(doc, path.split('.'), value, path);
  }
}

function setOverride(doc: JsonObject, tokens: string[], value: JsonValue, path: string): void {
  let at: JsonObject = doc;
  let i = 0;
  while (i < tokens.length) {
    let take = 1;
    for (let n = tokens.length - i; n > 1; n--)
      if (Object.hasOwn(at, tokens.slice(i, i + n).join('.'))) {
        take = n;
        break;
      }
    const key = tokens.slice(i, i + take).join('.');
    i += take;
    if (i === tokens.length) {
      at[key] = value;
      return;
    }
    const next = at[key];
    if (next === undefined || next === null) at = at[key] = {};
    else if (isJsonObject(next)) at = next;
    else throw new UserError(`--set ${path}: ${tokens.slice(0, i).join('.')} is not a mapping`);
  }
}
