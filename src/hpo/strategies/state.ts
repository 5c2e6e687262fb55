// Reading a strategy's JSON state back (restore): the state comes from a journal on disk, so a
// malformed one is a UserError naming the strategy rather than a TypeError deep inside it.
import { UserError } from '../../engine/errors.js';
import type { JsonValue } from '../../engine/json.js';
import { Rng, type RngState } from '../../engine/rng.js';

/** `state` as an object, or a UserError naming `owner`. */
export function readState(state: JsonValue, owner: string): Readonly<Record<string, JsonValue | undefined>> {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new UserError(`strategy ${owner}: malformed state`);
  return state;
}

/** A non-negative integer field of a state object. */
export function readCount(value: JsonValue | undefined, owner: string, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new UserError(`strategy ${owner}: malformed state (${field})`);
  return value;
}

export function rngToJson(rng: Rng): JsonValue {
  const { s, key, spare } = rng.state();
  return { s, key, spare };
}

export function rngFromJson(value: JsonValue | undefined): Rng {
  return Rng.fromState(value as unknown as RngState); // fromState checks every field
}
