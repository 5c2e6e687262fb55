// Reading a sample's result or thrown value without running any of its code: the canonical JSON
// that the score compares, and the description of a thrown value.
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { canonicalJson, describeThrown, MAX_CANONICAL_CHARS } from '../../src/eval/sandbox-canonical.js';

const HOST = { objectPrototype: Object.prototype };
const text = (v: unknown): string | undefined => (canonicalJson(v, HOST) as { text?: string }).text;
const refused = (v: unknown): string | undefined => (canonicalJson(v, HOST) as { refused?: string }).refused;

/** An object whose every trap, getter and conversion hook counts its calls. */
function booby(): { calls: () => number; values: unknown[] } {
  let n = 0;
  const hit = (): never => {
    n++;
    throw new Error('ran');
  };
  const handler = new Proxy({}, { get: () => hit });
  const values: unknown[] = [
    new Proxy({}, handler),
    new Proxy([], handler),
    new Proxy(() => {}, handler),
    {
      get v() {
        return hit();
      },
    },
    [
      1,
      {
        get w() {
          return hit();
        },
      },
    ],
    // biome-ignore lint/suspicious/noThenProperty: a thenable result is the point
    { toJSON: hit, valueOf: hit, toString: hit, [Symbol.toPrimitive]: hit, then: hit },
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    Object.setPrototypeOf([, 2], Object.defineProperty([], 0, { get: hit })),
    Object.setPrototypeOf({ a: 1 }, new Proxy({}, handler)),
  ];
  return { calls: () => n, values };
}

describe('canonicalJson', () => {
  it('is JSON with sorted keys, as JSON.stringify would leave it', () => {
    expect(text({ b: [1, 'x', null], a: { d: true, c: -0 } })).toBe('{"a":{"c":0,"d":true},"b":[1,"x",null]}');
    expect(text({ u: undefined, f() {}, s: Symbol('s'), n: Number.NaN, i: Number.POSITIVE_INFINITY })).toBe('{"i":null,"n":null}');
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(text([undefined, () => 1, Symbol('s'), , 'é"\n'])).toBe('[null,null,null,null,"é\\"\\n"]');
    expect(text(Object.create(null))).toBe('{}');
    expect(text(Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }))).toBe('{"a":1}');
    expect(text({ [Symbol('k')]: 1 })).toBe('{}');
  });

  it('keeps apart what JSON would merge only where no JSON value could be confused with it', () => {
    expect(text(undefined)).toBe('undefined');
    expect(text(null)).toBe('null');
    expect(text(3n)).toBe('3n');
    expect(text(2n ** 100n)).toBe('<bigint>');
    expect(text(() => 1)).toBe('<function>');
    expect(text('3')).not.toBe(text(3));
    expect(text({ 'a":1,"b': 2 })).not.toBe(text({ a: 1, b: 2 }));
  });

  it('never runs a getter, a Proxy trap, toJSON or a conversion hook, and refuses what would need one', () => {
    const { calls, values } = booby();
    for (const v of values) {
      const c = canonicalJson(v, HOST) as { text?: string; refused?: string };
      if (c.text !== undefined) expect(c.text).not.toContain('ran');
    }
    expect(calls()).toBe(0);
    expect(refused(values[0])).toBe('is or contains a Proxy');
    expect(refused(values[3])).toBe('has a getter');
    expect(text(values[5])).toBe('{}');
    // A hole is null, whatever the prototype holds at that index.
    expect(text(values[6])).toBe('[null,2]');
  });

  it('refuses objects that are not plain objects or arrays, naming them from their internal slots', () => {
    expect(refused(new Map())).toBe('is or contains a Map');
    expect(refused([new Date(0)])).toBe('is or contains a Date');
    expect(refused({ e: new Error('x') })).toBe('is or contains an Error');
    expect(refused(new (class P {})())).toBe('is or contains an object that is not a plain object or array');
    const g = { objectPrototype: Object.prototype, refuse: [globalThis] };
    expect((canonicalJson({ g: globalThis }, g) as { refused?: string }).refused).toBe('is or contains the global object');
  });

  it('recognises plain objects of another realm by that realm, with its prototypes patched', () => {
    const ctx = vm.createContext({});
    const v = vm.runInContext(
      `Object.prototype.toJSON = () => 'x'; Array.prototype[Symbol.iterator] = function* () {}; JSON.stringify = () => 'x';
       ({ b: [1, 2], a: { c: 'y' } })`,
      ctx,
    );
    const realm = { objectPrototype: vm.runInContext('Object.prototype', ctx) };
    expect((canonicalJson(v, realm) as { text?: string }).text).toBe('{"a":{"c":"y"},"b":[1,2]}');
    // By this realm's prototype, the other realm's objects are not plain.
    expect(refused(v)).toMatch(/not a plain object/);
  });

  it('is bounded: cycles, depth, sparse length, size and long strings fail fast without reading them', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refused(cyclic)).toMatch(/nested deeper/);
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(refused(deep)).toMatch(/nested deeper/);
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    expect(refused(sparse)).toMatch(/larger than/);
    const shared = Array.from({ length: 64 }, () => 'x'.repeat(1000));
    let tree: unknown = shared;
    for (let i = 0; i < 10; i++) tree = [tree, tree];
    expect(refused(tree)).toMatch(/larger than/);
    const rssBefore = process.memoryUsage().rss;
    // A rope of 2^29 - 24 two-byte characters: reading it would flatten it into 1 GB.
    const rope = '\u1234'.repeat(2 ** 29 - 24);
    expect(refused(rope)).toBe(`is larger than ${MAX_CANONICAL_CHARS} characters as JSON`);
    expect(refused({ k: [rope] })).toMatch(/larger than/);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 2 ** 20);
  });
});

describe('describeThrown', () => {
  it('reads name and message from data properties', () => {
    expect(describeThrown(new RangeError('boom'), HOST)).toBe('RangeError: boom');
    expect(describeThrown(new (class MyError extends Error {})('x'), HOST)).toBe('Error: x');
    expect(describeThrown({ name: 'Custom', message: 'm' }, HOST)).toBe('Custom: m');
    expect(describeThrown('plain', HOST)).toBe('plain');
    expect(describeThrown(42, HOST)).toBe('42');
    expect(describeThrown(undefined, HOST)).toBe('undefined');
    expect(describeThrown(Symbol('s'), HOST)).toBe('a symbol s');
    expect(describeThrown({}, HOST)).toBe('an object');
    expect(describeThrown('x'.repeat(400), HOST)).toBe(`${'x'.repeat(300)}...`);
    expect(describeThrown('x'.repeat(2 ** 29 - 24), HOST)).toBe('<a string of 536870888 characters>');
  });

  it('runs none of the thrown value’s code', () => {
    const { calls, values } = booby();
    const getterError = Object.defineProperty(new Error('m'), 'message', {
      get() {
        throw new Error('ran');
      },
    });
    for (const v of [...values, getterError]) expect(describeThrown(v, HOST)).not.toContain('ran');
    expect(calls()).toBe(0);
    expect(describeThrown(values[0], HOST)).toBe('a Proxy');
    expect(describeThrown(getterError, HOST)).toBe('an object');
  });
});
