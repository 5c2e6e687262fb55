// Attempts to forge a pass of a script test (test code from a data file calling the sample with
// `assert` or console.assert): every sample below is wrong and tries to make the harness say
// "passed" anyway — by redefining assert, require or console, patching the prototypes and functions
// a comparison or the test's own code uses, throwing or returning objects that run code when looked
// at, catching or reaching the harness through the stack, or reading the test's source to learn the
// expected values. Each must fail and leave the sandbox healthy.
import { afterAll, describe, expect, it } from 'vitest';
import { closeSandboxPool, runScriptTest } from '../../src/eval/sandbox.js';

afterAll(() => closeSandboxPool());

/** The test, in the two published shapes: MultiPL-E (require node:assert) and a free `assert`. */
const REQUIRE_TEST = `const assert = require('node:assert');
function test() {
  let candidate = add;
  assert.deepEqual(candidate(1, 2), 3);
  assert.deepEqual(candidate([1], [2]), [1, 2]);
  for (const [a, b, c] of [[5, 5, 10], [0, 7, 7]]) assert.strictEqual(candidate(a, b), c);
}
test();`;
const FREE_TEST = `assert.deepStrictEqual(add([1], [2]), [1, 2]); assert.equal(add(2, 2), 4); console.assert(add(3, 3) === 6);`;
const CONSOLE_TEST = `const testAdd = () => { console.assert(add(1, 2) === 3); console.assert(JSON.stringify(add([1], [2])) === '[1,2]'); }
testAdd()`;
const TESTS = { require: REQUIRE_TEST, free: FREE_TEST, console: CONSOLE_TEST };
const GOOD = 'function add(a, b) { return Array.isArray(a) ? a.concat(b) : a + b; }';
/** A wrong add: every test above fails it. */
const WRONG = 'function add(a, b) { return Array.isArray(a) ? [0] : a - b + 1; }';

async function expectHealthy(): Promise<void> {
  for (const test of Object.values(TESTS)) expect(await runScriptTest([GOOD], test)).toMatchObject({ passed: true });
}

// [name, sample code]: each defines a wrong `add` and tries to pass anyway.
const ATTEMPTS: [string, string][] = [
  [
    'a global assert that never fails',
    `var assert = () => {}; assert.deepEqual = assert.equal = assert.strictEqual = assert.deepStrictEqual = () => {}; ${WRONG}`,
  ],
  ['a global lexical assert', `let assert = { deepEqual() {}, equal() {}, strictEqual() {}, deepStrictEqual() {} }; ${WRONG}`],
  ['a global require returning a no-op assert', `const require = () => new Proxy(() => {}, { get: () => () => {} }); ${WRONG}`],
  [
    'globalThis.assert via defineProperty',
    `Object.defineProperty(globalThis, 'assert', { get: () => new Proxy(() => {}, { get: () => () => {} }) }); ${WRONG}`,
  ],
  ['a silent console', `var console = { assert() {} }; globalThis.console = { assert() {} }; ${WRONG}`],
  ['Object.is and Reflect.apply always agreeing', `Object.is = () => true; Reflect.apply = () => undefined; ${WRONG}`],
  ['Object.defineProperty on Object.is', `try { Object.defineProperty(Object, 'is', { value: () => true }); } catch (_) {} ${WRONG}`],
  ['JSON.stringify returning one string', `JSON.stringify = () => 'same'; ${WRONG}`],
  [
    'an array iterator that yields nothing (the test loops skip their asserts)',
    `
    try { Array.prototype[Symbol.iterator] = function* () {}; } catch (_) {}
    try { Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true }); } catch (_) {}
    ${WRONG}`,
  ],
  [
    'Object.prototype setters catching the harness record',
    `
    for (const k of ['failure', 'failed', 'state', 'assertions', 'value']) {
      try { Object.defineProperty(Object.prototype, k, { set() {}, get() { return k === 'state' ? 'returned' : undefined; } }); } catch (_) {}
    }
    ${WRONG}`,
  ],
  [
    'Function.prototype.call/apply/bind patched',
    `
    Function.prototype.call = function () {}; Function.prototype.apply = function () {}; Function.prototype.bind = function () { return () => {}; };
    ${WRONG}`,
  ],
  [
    'Error and its prototype patched (the AssertionError that stops the test)',
    `
    try { Error.prototype.constructor = function () {}; } catch (_) {}
    try { Object.setPrototypeOf(Error.prototype, null); } catch (_) {}
    Error.captureStackTrace = () => {};
    ${WRONG}`,
  ],
  [
    'Symbol.hasInstance and Promise.prototype.then patched',
    `
    try { Object.defineProperty(Function.prototype, Symbol.hasInstance, { value: () => true }); } catch (_) {}
    Promise.prototype.then = function (ok) { ok(); };
    ${WRONG}`,
  ],
  [
    'results that lie when looked at: a Proxy',
    `function add(a, b) { return new Proxy([0], { get: (t, k) => (k === 'length' ? 2 : k === '0' ? 1 : k === '1' ? 2 : t[k]), ownKeys: () => ['0', '1', 'length'], getOwnPropertyDescriptor: (t, k) => ({ value: { 0: 1, 1: 2, length: 2 }[k], enumerable: k !== 'length', configurable: k !== 'length', writable: true }) }); }`,
  ],
  [
    'results that lie when looked at: getters',
    `function add(a, b) { if (!Array.isArray(a)) return a - b; const r = []; Object.defineProperty(r, '0', { get: () => 1, enumerable: true }); Object.defineProperty(r, '1', { get: () => 2, enumerable: true }); return r; }`,
  ],
  [
    'results with toJSON, valueOf and Symbol.toPrimitive',
    `function add(a, b) { return { toJSON: () => (Array.isArray(a) ? [1, 2] : a + b), valueOf: () => a + b, [Symbol.toPrimitive]: () => a + b, length: 2 }; }`,
  ],
  [
    'throwing an object with evil getters',
    `function add() { throw { get message() { return 'passed'; }, get name() { throw new Error('x'); }, get stack() { return ''; } }; }`,
  ],
  ['throwing a Proxy', `function add() { throw new Proxy({}, { get: () => 'passed', getPrototypeOf: () => null }); }`],
  [
    'catching the failed assertion inside the test (the throw is only the test stopping)',
    `
    function add(a, b) {
      try { return Array.isArray(a) ? [0] : a - b; } finally { Promise.resolve().then(() => {}); }
    }`,
  ],
  [
    'reaching the test and the harness through the stack (caller, arguments)',
    `
    function add(a, b) {
      let f = null;
      try { f = add.caller; } catch (_) {}
      try { if (f) for (let i = 0; i < 100; i++) f.arguments?.[2]?.(true); } catch (_) {}
      try { arguments.callee.caller?.arguments?.[2]?.ok?.(true); } catch (_) {}
      return Array.isArray(a) ? [0] : a - b;
    }`,
  ],
  [
    'reading the expected values from the test source (caller.toString)',
    `
    function add(a, b) {
      let src = '';
      try { src = String(add.caller); } catch (_) {}
      try { src += String(arguments.callee.caller); } catch (_) {}
      const m = /candidate\\(1, 2\\), (\\d+)/.exec(src);
      return m ? Number(m[1]) : Array.isArray(a) ? [0] : -1;
    }`,
  ],
  [
    'reading the expected values from a stack trace',
    `
    function add(a, b) { const s = new Error().stack || ''; const m = /(\\d+)\\)/.exec(s); return m ? 3 : Array.isArray(a) ? [0] : -1; }`,
  ],
  ['an infinite loop after a lying first answer', `let n = 0; function add(a, b) { if (n++ > 0) for (;;) {} return 3; }`],
  ['a never-settling thenable result', `function add() { return { then() {} }; }`],
  [
    'a late microtask rewriting an earlier result',
    `
    const kept = [];
    function add(a, b) { const r = Array.isArray(a) ? [0] : a - b; if (typeof r === 'object') { kept.push(r); Promise.resolve().then(() => { kept[0].length = 0; kept[0].push(1, 2); }); } return r; }`,
  ],
  ['top-level code throwing an evil object', `${WRONG}; throw { get message() { return 'ok'; } };`],
  ['redeclaring the test function name as a global', `globalThis.test = () => {}; globalThis.testAdd = () => {}; ${WRONG}`],
];

describe('script tests cannot be forged', () => {
  for (const [name, code] of ATTEMPTS) {
    it(name, async () => {
      for (const [kind, test] of Object.entries(TESTS)) {
        const r = await runScriptTest([code], test, { timeoutMs: 1000 });
        expect(r.passed, `${kind}: ${JSON.stringify(r)}`).toBe(false);
        expect(r.error ?? '').not.toContain('passed');
      }
    });
  }

  it('a wrong sample that only patches intrinsics still fails, while the same patches do not break a right one', async () => {
    const patches = 'Object.is = () => true; JSON.stringify = () => "x"; Array.prototype.map = null;';
    expect((await runScriptTest([`${patches} ${GOOD}`], REQUIRE_TEST)).passed).toBe(true);
    expect((await runScriptTest([`${patches} ${WRONG}`], REQUIRE_TEST)).passed).toBe(false);
  });

  it('a failed assertion caught by the test code still fails the test', async () => {
    const test = 'try { assert.deepEqual(add(1, 2), 3); } catch (_) {} assert.ok(true);';
    expect(await runScriptTest([WRONG], test)).toMatchObject({ passed: false, error: 'assertion failed: deepEqual(0, 3) failed' });
  });

  it('a memory bomb ends only the sandbox process: the test fails and the next job runs in a fresh process', async () => {
    const bomb = 'function add() { const a = []; for (;;) a.push(new Array(1 << 20).fill(1)); }';
    const r = await runScriptTest([bomb], REQUIRE_TEST, { timeoutMs: 10_000 });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(/memory limit exceeded|timed out/);
  });

  it('the sandbox stays healthy after every attempt', expectHealthy);
});
