// JSON values from users' files, handled without recursion. JSON.parse itself is iterative in V8
// (it parses 100,000 nested arrays), but JSON.stringify, structuredClone and any recursive walk
// overflow the stack on such a value: code that shows or copies a user's value goes through here.
import { UserError } from './errors.js';

/** A value that survives JSON.stringify -> JSON.parse unchanged (states, messages, journal entries). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True when `v` nests arrays/objects more than `limit` levels deep (a scalar is depth 0). */
export function nestedDeeperThan(v: unknown, limit: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value: v, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(value))
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/**
 * The dotted path of the first `__proto__` key in `v` (a YAML or JSON parser makes it an own key),
 * or undefined. Such a key is refused by name: copying it into an object (as schema validators do)
 * would set that object's prototype instead, and the key would vanish without a word.
 */
export function protoKeyPath(v: unknown): string | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value: v, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      const at = [...path, key];
      if (key === '__proto__') return at.join('.');
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null && at.length < 256) stack.push({ value: child, path: at });
    }
  }
  return undefined;
}

/**
 * A JSON rendering of `v` cut to about `max` characters (then '...'), for error messages. Never
 * recursive and never longer than needed, however large or deep `v` is.
 */
export function previewJson(v: unknown, max = 80): string {
  let out = '';
  // Work items: a value to render, or literal text (brackets, commas, keys).
  const stack: ({ text: string } | { value: unknown })[] = [{ value: v }];
  while (stack.length && out.length <= max) {
    const item = stack.pop()!;
    if ('text' in item) {
      out += item.text;
      continue;
    }
    const value = item.value;
    if (typeof value === 'string') out += JSON.stringify(value.length > max ? value.slice(0, max + 1) : value);
    else if (typeof value !== 'object' || value === null) out += JSON.stringify(value) ?? String(value);
    else {
      // Every entry renders as at least one character, so the first max + 1 entries are enough.
      const isArray = Array.isArray(value);
      const keys = Object.keys(value).slice(0, max + 1);
      stack.push({ text: isArray ? ']' : '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (value as Record<string, unknown>)[keys[i]!] });
        if (!isArray) stack.push({ text: `${JSON.stringify(keys[i]!.slice(0, max + 1))}:` });
        if (i > 0) stack.push({ text: ',' });
      }
      stack.push({ text: isArray ? '[' : '{' });
    }
  }
  return out.length > max || stack.length ? `${out.slice(0, max - 3)}...` : out;
}

/** Parses JSON text from `file`; a UserError naming the file when it is not JSON. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UserError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}
