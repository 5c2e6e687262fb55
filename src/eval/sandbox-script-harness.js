// The in-context part of script tests (test code from a data file, e.g. HumanEval-style JavaScript
// tests that call `assert`): evaluated in the sample's vm context right after the trusted prelude
// and before any sample code, as the source text of `scriptHarness` (so it must not use anything
// from this module's scope). It returns, to the sandbox worker only:
//  - `lockdown()`: freezes every intrinsic reachable from the (already stripped) global object and
//    the hidden ones (iterator and generator prototypes), and makes the global object's properties
//    read-only and non-configurable (new globals can still be added). After it, sample code cannot
//    patch what the test code relies on (Array.prototype iteration, Object.is, JSON, Promise ...);
//    a top-level `let JSON` is a SyntaxError, `JSON = x` does nothing.
//  - `startScript(testFn)`: queues testFn(require, console, assert) as a microtask (as `start` does
//    for a call) and returns the record only the worker holds: outcome, assertion count, the first
//    failure, and the comparisons of objects left for the worker to make.
//
// The verdict is never the test code's to give: a failed assertion is written to the record before
// anything is thrown (a test or sample that catches it changes nothing), a comparison of objects is
// made by the worker afterwards on canonical JSON read without running any code of the values
// (./sandbox-canonical.js: Proxies and getters are refused there), and a test that makes no
// assertion fails. Messages never convert an object to a string (no toString / getters run).
//
// The `assert` given to the test code is a subset of node:assert: assert/ok, equal, notEqual,
// strictEqual, notStrictEqual, deepEqual, deepStrictEqual, notDeepEqual, notDeepStrictEqual,
// throws, doesNotThrow, fail, match, doesNotMatch, ifError, strict, AssertionError. Differences:
// objects are compared as canonical JSON (key order free; Map, Set, Date, class instances are
// refused), so deepEqual is strict for values inside objects ([1] is not ['1']); equal between an
// object and a primitive compares JSON as well (no valueOf); throws does not check its matcher.
// `require` knows node:assert and node:assert/strict only; `console` is silent except assert.

export function scriptHarness() {
  const G = globalThis;
  const apply = Reflect.apply;
  const ownKeys = Reflect.ownKeys;
  const getOwn = Reflect.getOwnPropertyDescriptor;
  const defineProperty = Reflect.defineProperty;
  const getProto = Reflect.getPrototypeOf;
  const freeze = Object.freeze;
  const is = Object.is;
  const exec = RegExp.prototype.exec;
  const WeakSetC = WeakSet;
  const wsHas = WeakSet.prototype.has;
  const wsAdd = WeakSet.prototype.add;
  const ErrorC = Error;
  const StringC = String;
  const stringify = JSON.stringify;

  function lockdown() {
    const seen = new WeakSetC();
    const stack = [];
    let n = 0;
    const push = (v) => {
      if ((typeof v === 'object' && v !== null) || typeof v === 'function') stack[n++] = v;
    };
    for (const k of ownKeys(G)) {
      const d = getOwn(G, k);
      if (!d) continue;
      // Through vm's interceptors a descriptor must be complete (a missing value would become undefined).
      if ('value' in d) {
        defineProperty(G, k, { value: d.value, writable: false, enumerable: d.enumerable, configurable: false });
        push(d.value);
      } else {
        defineProperty(G, k, { get: d.get, set: d.set, enumerable: d.enumerable, configurable: false });
        push(d.get);
        push(d.set);
      }
    }
    const protoOf = (v) => getProto(v);
    push(protoOf(function* () {}));
    push(protoOf(async () => {}));
    push(protoOf(async function* () {}));
    push(protoOf([][Symbol.iterator]()));
    push(protoOf(new Map()[Symbol.iterator]()));
    push(protoOf(new Set()[Symbol.iterator]()));
    push(protoOf(''[Symbol.iterator]()));
    push(protoOf(/a/g[Symbol.matchAll]('')));
    push(protoOf((function* () {})()));
    push(protoOf((async function* () {})()));
    if (typeof Intl === 'object' && typeof Intl.Segmenter === 'function') {
      const segments = new Intl.Segmenter().segment('');
      push(protoOf(segments));
      push(protoOf(segments[Symbol.iterator]()));
    }
    while (n > 0) {
      const o = stack[--n];
      if (apply(wsHas, seen, [o])) continue;
      apply(wsAdd, seen, [o]);
      for (const k of ownKeys(o)) {
        const d = getOwn(o, k);
        if (!d) continue;
        if ('value' in d) push(d.value);
        else {
          push(d.get);
          push(d.set);
        }
      }
      push(getProto(o));
      if (o !== G) freeze(o);
    }
  }

  class AssertionError extends ErrorC {
    constructor(message) {
      super(message);
      defineProperty(this, 'name', { value: 'AssertionError', writable: true, enumerable: false, configurable: true });
      defineProperty(this, 'code', { value: 'ERR_ASSERTION', writable: true, enumerable: true, configurable: true });
    }
  }
  freeze(AssertionError.prototype);
  freeze(AssertionError);

  const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
  /** A primitive for a message; objects are never converted (that would run their code). */
  const show = (v) => {
    if (typeof v === 'string') return v.length > 200 ? `a string of ${v.length} characters` : stringify(v);
    if (typeof v === 'bigint') return `${StringC(v)}n`;
    if (isObject(v)) return typeof v === 'function' ? 'a function' : 'an object';
    return StringC(v);
  };
  const messageOf = (m, fallback) => (typeof m === 'string' ? (m.length > 200 ? `${fallback} (${show(m)})` : m) : fallback);
  /** == for primitives only (never runs code); NaN equals NaN, as in node:assert. */
  // biome-ignore lint/suspicious/noDoubleEquals: node:assert's equal is ==, safe on primitives
  // biome-ignore lint/suspicious/noSelfCompare: NaN test without a global Number.isNaN the sample could reach
  const looseEqual = (a, b) => a == b || (a !== a && b !== b);

  function harnessFor(record) {
    const check = (ok, message, throws) => {
      record.assertions++;
      if (ok) return;
      record.failed++;
      if (record.failure === undefined) record.failure = message;
      if (throws) throw new AssertionError(message);
    };
    const defer = (a, b, negate, message) => {
      record.assertions++;
      record.deferred[record.deferredCount++] = { __proto__: null, a, b, negate, message };
    };
    const pair = (name, a, b) => `${name}(${show(a)}, ${show(b)})`;
    /** Objects go to the worker's JSON comparison; primitives are decided here. */
    const deep = (name, a, b, m, negate, same) => {
      if (!isObject(a) && !isObject(b)) return check(same(a, b) !== negate, messageOf(m, `${pair(name, a, b)} failed`), true);
      if (a === b) return check(!negate, messageOf(m, `${name} of an object with itself failed`), true);
      defer(a, b, negate, messageOf(m, `${pair(name, a, b)} failed`));
    };
    const ok = (v, m) => check(!!v, messageOf(m, `assertion failed: the value is ${show(v)}`), true);

    function make(strict) {
      const a = (v, m) => ok(v, m);
      a.ok = (v, m) => ok(v, m);
      a.strictEqual = (x, y, m) => check(is(x, y), messageOf(m, `${pair('strictEqual', x, y)} failed`), true);
      a.notStrictEqual = (x, y, m) => check(!is(x, y), messageOf(m, `${pair('notStrictEqual', x, y)} failed`), true);
      a.deepStrictEqual = (x, y, m) => deep('deepStrictEqual', x, y, m, false, is);
      a.notDeepStrictEqual = (x, y, m) => deep('notDeepStrictEqual', x, y, m, true, is);
      a.equal = strict ? a.strictEqual : (x, y, m) => deep('equal', x, y, m, false, looseEqual);
      a.notEqual = strict ? a.notStrictEqual : (x, y, m) => deep('notEqual', x, y, m, true, looseEqual);
      a.deepEqual = strict ? a.deepStrictEqual : (x, y, m) => deep('deepEqual', x, y, m, false, looseEqual);
      a.notDeepEqual = strict ? a.notDeepStrictEqual : (x, y, m) => deep('notDeepEqual', x, y, m, true, looseEqual);
      a.throws = (fn, _expected, m) => {
        let threw = typeof fn !== 'function' ? undefined : false;
        try {
          apply(fn, undefined, []);
        } catch {
          threw = true;
        }
        check(threw === true, messageOf(typeof _expected === 'string' ? _expected : m, 'Missing expected exception.'), true);
      };
      a.doesNotThrow = (fn, m) => {
        let threw = false;
        try {
          apply(fn, undefined, []);
        } catch {
          threw = true;
        }
        check(!threw, messageOf(m, 'Got unwanted exception.'), true);
      };
      a.fail = (m) => check(false, messageOf(m, 'Failed'), true);
      const matches = (s, re) => {
        if (typeof s !== 'string') return undefined;
        try {
          return apply(exec, re, [s]) !== null;
        } catch {
          return undefined;
        }
      };
      a.match = (s, re, m) => check(matches(s, re) === true, messageOf(m, `match(${show(s)}) failed`), true);
      a.doesNotMatch = (s, re, m) => check(matches(s, re) === false, messageOf(m, `doesNotMatch(${show(s)}) failed`), true);
      a.ifError = (v) => check(v === null || v === undefined, `ifError got ${show(v)}`, true);
      a.AssertionError = AssertionError;
      return a;
    }
    const assert = make(false);
    const strict = make(true);
    assert.strict = strict;
    strict.strict = strict;
    freeze(assert);
    freeze(strict);

    const require = (name) => {
      if (name === 'assert' || name === 'node:assert') return assert;
      if (name === 'assert/strict' || name === 'node:assert/strict') return strict;
      throw new ErrorC(`Cannot find module ${show(name)} (the sandbox provides node:assert only)`);
    };
    const quiet = () => undefined;
    const console = freeze({
      __proto__: null,
      log: quiet,
      info: quiet,
      debug: quiet,
      warn: quiet,
      error: quiet,
      trace: quiet,
      assert: (v) => check(!!v, 'console.assert failed', false),
    });
    return [freeze(require), console, assert];
  }

  async function settle(record, fn, args) {
    await undefined;
    let value;
    try {
      value = apply(fn, undefined, args);
      value = await value;
    } catch (e) {
      record.state = 'threw';
      record.value = e;
      return;
    }
    record.state = 'returned';
  }

  function startScript(testFn) {
    const record = {
      __proto__: null,
      state: 'pending',
      value: undefined,
      assertions: 0,
      failed: 0,
      failure: undefined,
      deferred: { __proto__: null },
      deferredCount: 0,
    };
    settle(record, testFn, harnessFor(record));
    return record;
  }

  return { __proto__: null, lockdown, startScript };
}
