// Canonical JSON text of a value and a description of a thrown value, computed WITHOUT running any
// code the value could carry. Shared by the sandbox worker (which turns a sample's results, objects
// of the sample's vm realm, into text) and by sandbox.ts (which turns the expected values into the
// same text and compares the two strings, in another process).
//
// What a hostile result could use to run code during a comparison, and how each is avoided:
//  - Proxies (every operation is a trap): detected with util.types.isProxy before anything else is
//    done to an object, and refused;
//  - getters (an accessor runs on every read), toJSON, valueOf, toString, Symbol.toPrimitive,
//    Symbol.toStringTag, `then`: nothing here reads a property through [[Get]] or converts an object
//    to a primitive; own properties are read as descriptors (which never call a getter) and an
//    enumerable accessor is refused;
//  - patched prototypes (Array.prototype, Object.prototype, JSON, Reflect, iterators of the sample's
//    realm): this code runs in another realm, with its own intrinsics, and never walks a prototype
//    chain for values (an array hole is null, not whatever Array.prototype holds at that index);
//  - work that never ends (cycles, 2^32-long sparse arrays, shared sub-objects exploding into a huge
//    tree, megabyte keys): bounded by MAX_DEPTH, MAX_KEYS and the MAX_CANONICAL_CHARS output budget;
//  - memory (a 2^29-character string): a string's length is read before its characters (reading the
//    characters of a rope would flatten it into one gigabyte-sized buffer).
import { isBoxedPrimitive, isDate, isMap, isNativeError, isPromise, isProxy, isRegExp, isSet } from 'node:util/types';

/** Longest canonical text of one result; larger results fail the test ("too large"). */
export const MAX_CANONICAL_CHARS = 1 << 20;
const MAX_DEPTH = 256;
const MAX_KEYS = 100_000;
const BIGINT_SHOWN = 2n ** 64n;

class Refusal {
  /** @param {string} why */
  constructor(why) {
    this.why = why;
  }
}

/** What a non-plain object is, from its internal slots (util.types reads slots, never properties). */
function kindOf(/** @type {object} */ v) {
  if (isMap(v)) return 'a Map';
  if (isSet(v)) return 'a Set';
  if (isDate(v)) return 'a Date';
  if (isRegExp(v)) return 'a RegExp';
  if (isPromise(v)) return 'a Promise';
  if (isNativeError(v)) return 'an Error';
  if (isBoxedPrimitive(v)) return 'a boxed primitive';
  return 'an object that is not a plain object or array';
}

/**
 * @typedef {{ objectPrototype: object, refuse?: readonly object[] }} Realm
 * `objectPrototype` is the realm's Object.prototype (plain objects have it or null as prototype);
 * `refuse` lists objects never to look into (the realm's global object, whose properties are host
 * interceptors).
 */

/**
 * Canonical JSON of `value`: keys sorted (so key order does not matter); in objects, properties
 * whose values are undefined, functions or symbols are left out; in arrays they (and holes) are
 * null; non-finite numbers are null and -0 is 0 — as JSON.stringify does. Unlike JSON.stringify it
 * never calls toJSON or a getter and never looks at prototypes: a top-level undefined is
 * `undefined`, a top-level function `<function>`, a bigint `3n` (never equal to any JSON), and
 * objects other than plain objects and arrays, Proxies and accessor properties are refused.
 *
 * @param {unknown} value
 * @param {Realm} realm
 * @returns {{ text: string } | { refused: string }}
 */
export function canonicalJson(value, realm) {
  const parts = [];
  let budget = MAX_CANONICAL_CHARS;
  const emit = (/** @type {string} */ s) => {
    budget -= s.length;
    if (budget < 0) throw new Refusal(`is larger than ${MAX_CANONICAL_CHARS} characters as JSON`);
    parts.push(s);
  };

  /** Writes `v`; returns false (writing nothing) for what JSON leaves out. */
  const write = (/** @type {unknown} */ v, /** @type {number} */ depth) => {
    switch (typeof v) {
      case 'string':
        // The length first: a longer string is refused before its characters are touched.
        if (v.length > budget) throw new Refusal(`is larger than ${MAX_CANONICAL_CHARS} characters as JSON`);
        emit(JSON.stringify(v));
        return true;
      case 'number':
        emit(Number.isFinite(v) ? String(v) : 'null');
        return true;
      case 'boolean':
        emit(v ? 'true' : 'false');
        return true;
      case 'bigint':
        emit(v < BIGINT_SHOWN && v > -BIGINT_SHOWN ? `${v}n` : '<bigint>');
        return true;
      case 'object':
        if (v === null) {
          emit('null');
          return true;
        }
        writeObject(v, depth);
        return true;
      default:
        return false;
    }
  };

  /** The value of an own enumerable data property; undefined for a missing or non-enumerable one. */
  const ownData = (/** @type {object} */ o, /** @type {string} */ key) => {
    const d = Reflect.getOwnPropertyDescriptor(o, key);
    if (d === undefined || !d.enumerable) return { present: false, value: undefined };
    if (!('value' in d)) throw new Refusal('has a getter');
    return { present: true, value: d.value };
  };

  const writeObject = (/** @type {object} */ o, /** @type {number} */ depth) => {
    if (isProxy(o)) throw new Refusal('is or contains a Proxy');
    if (realm.refuse?.includes(o)) throw new Refusal('is or contains the global object');
    if (depth >= MAX_DEPTH) throw new Refusal(`is nested deeper than ${MAX_DEPTH} levels (or circular)`);
    if (Array.isArray(o)) {
      const len = Reflect.getOwnPropertyDescriptor(o, 'length')?.value;
      emit('[');
      for (let i = 0; i < len; i++) {
        if (i) emit(',');
        const { present, value } = ownData(o, String(i));
        if (!present || !write(value, depth + 1)) emit('null');
      }
      emit(']');
      return;
    }
    const proto = Object.getPrototypeOf(o);
    if (proto !== realm.objectPrototype && proto !== null) throw new Refusal(`is or contains ${kindOf(o)}`);
    const keys = Reflect.ownKeys(o);
    if (keys.length > MAX_KEYS) throw new Refusal(`has more than ${MAX_KEYS} properties`);
    const names = keys.filter((k) => typeof k === 'string').sort();
    emit('{');
    let first = true;
    for (const k of names) {
      const { present, value } = ownData(o, k);
      if (!present || value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      if (k.length > budget) throw new Refusal(`is larger than ${MAX_CANONICAL_CHARS} characters as JSON`);
      emit(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      write(value, depth + 1);
    }
    emit('}');
  };

  try {
    if (value === undefined) return { text: 'undefined' };
    if (typeof value === 'function' || typeof value === 'symbol') return { text: `<${typeof value}>` };
    write(value, 0);
    return { text: parts.join('') };
  } catch (e) {
    if (e instanceof Refusal) return { refused: e.why };
    if (e instanceof RangeError) return { refused: 'too large or too deep to compare' };
    throw e;
  }
}

const MAX_SHOWN = 300;

/** A string for a message: clipped, and never read in full when it is long. */
function clip(/** @type {string} */ s) {
  if (s.length > 10 * MAX_SHOWN) return `<a string of ${s.length} characters>`;
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}...` : s;
}

/** A data property found on `o` or its prototypes (never a getter's result; undefined past a Proxy). */
function dataProperty(/** @type {object} */ o, /** @type {string} */ key) {
  /** @type {object | null} */
  let cur = o;
  for (let hops = 0; cur !== null && hops < 64; hops++) {
    if (isProxy(cur)) return undefined;
    const d = Reflect.getOwnPropertyDescriptor(cur, key);
    if (d !== undefined) return 'value' in d ? d.value : undefined;
    cur = Object.getPrototypeOf(cur);
  }
  return undefined;
}

/**
 * A short description of a thrown (or rejected-with) value, e.g. "RangeError: boom", read from data
 * properties only: describing it runs none of its code (no getters, Proxy traps or toString).
 *
 * @param {unknown} e
 * @param {Realm} realm
 * @returns {string}
 */
export function describeThrown(e, realm) {
  if (typeof e === 'string') return clip(e);
  if (typeof e === 'symbol') return `a symbol ${clip(e.description ?? '')}`;
  if (typeof e === 'bigint') return canonicalJson(e, realm).text ?? 'a bigint';
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return String(e);
  if (isProxy(e)) return 'a Proxy';
  if (realm.refuse?.includes(e)) return 'the global object';
  const message = dataProperty(e, 'message');
  const name = dataProperty(e, 'name');
  if (typeof message === 'string') return `${typeof name === 'string' ? clip(name) : 'Error'}: ${clip(message)}`;
  return typeof e === 'function' ? 'a function' : 'an object';
}
