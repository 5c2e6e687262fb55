// Script tests: JavaScript test code from a data file (HumanEval-style, as MultiPL-E's humaneval-js
// and HumanEval-X's js ship it) run with the sample in the sandbox, against the harness's own
// node:assert subset and console.assert.
import { afterAll, describe, expect, it } from 'vitest';
import { closeSandboxPool, runScriptTest } from '../../src/eval/sandbox.js';

afterAll(() => closeSandboxPool());

/** MultiPL-E humaneval-js's shape: require node:assert, a test() that binds candidate, then a call. */
const MULTIPL_E = `const assert = require('node:assert');


function test() {
  let candidate = below_zero;
  assert.deepEqual(candidate([]),false);
  assert.deepEqual(candidate([1, 2, -3, 1, 2, -3]),false);
  assert.deepEqual(candidate([1, 2, -4, 5, 6]),true);
  assert.deepEqual(candidate([1, -2, 2, -2, 5, -5, 4, -4]),true);
}

test();`;
const BELOW_ZERO = `function below_zero(operations){
  let balance = 0;
  for (const op of operations) { balance += op; if (balance < 0) return true; }
  return false;
}`;

/** HumanEval-X js's shape: console.assert in an arrow function, called at the end. */
const HUMANEVAL_X = `const testSortEven = () => {
  console.assert(JSON.stringify(sortEven([1, 2, 3])) === JSON.stringify([1, 2, 3]))
  console.assert(JSON.stringify(sortEven([5, 6, 3, 4])) === JSON.stringify([3, 6, 5, 4]))
}

testSortEven()`;
const SORT_EVEN = `const sortEven = (l) => {
  const evens = l.filter((_, i) => i % 2 === 0).sort((a, b) => a - b);
  return l.map((x, i) => (i % 2 === 0 ? evens[i / 2] : x));
}`;

describe('runScriptTest', () => {
  it('passes a right sample and fails a wrong one, on MultiPL-E-style tests', async () => {
    expect(await runScriptTest([BELOW_ZERO], MULTIPL_E)).toEqual({ passed: true, passedTests: 4 });
    const wrong = await runScriptTest(['function below_zero(ops) { return ops.length > 4; }'], MULTIPL_E);
    expect(wrong.passed).toBe(false);
    expect(wrong.error).toContain('deepEqual(true, false) failed');
  });

  it('passes and fails on HumanEval-X-style console.assert tests (a failed console.assert does not stop the test, but fails it)', async () => {
    expect(await runScriptTest([SORT_EVEN], HUMANEVAL_X)).toEqual({ passed: true, passedTests: 2 });
    const wrong = await runScriptTest(['const sortEven = (l) => l;'], HUMANEVAL_X);
    expect(wrong).toEqual({ passed: false, passedTests: 0, error: 'assertion failed: console.assert failed' });
  });

  it('compares objects as canonical JSON: key order is free, types inside are strict, a Map is refused', async () => {
    const run = (ret: string, test: string) => runScriptTest([`function f() { return ${ret}; }`], test);
    expect((await run('{ b: 2, a: [1, { c: 3 }] }', 'assert.deepStrictEqual(f(), { a: [1, { c: 3 }], b: 2 })')).passed).toBe(true);
    expect((await run('[1]', "assert.deepEqual(f(), ['1'])")).passed).toBe(false);
    expect((await run('[1, 2]', 'assert.notDeepEqual(f(), [2, 1])')).passed).toBe(true);
    expect((await run('new Map()', 'assert.deepEqual(f(), {})')).error).toContain('the actual value is or contains a Map');
    // Primitives follow node:assert: deepEqual and equal are ==, strictEqual is Object.is.
    expect((await run('1', "assert.deepEqual(f(), '1'); assert.equal(f(), true)")).passed).toBe(true);
    expect((await run('1', "assert.strictEqual(f(), '1')")).passed).toBe(false);
    expect((await run('NaN', 'assert.strictEqual(f(), NaN); assert.equal(f(), NaN)')).passed).toBe(true);
  });

  it('supports the rest of the assert subset: strict, ok, throws, match, fail, ifError', async () => {
    const code = 'function f(x) { if (x < 0) throw new RangeError("neg"); return "v" + x; }';
    const test = `const assert = require('assert/strict');
      assert.equal(f(1), 'v1'); assert.ok(f(2)); assert(f(3));
      assert.throws(() => f(-1)); assert.doesNotThrow(() => f(1));
      assert.match(f(4), /^v4$/); assert.doesNotMatch(f(4), /x/); assert.ifError(null);
      assert.notStrictEqual(f(1), f(2));`;
    expect(await runScriptTest([code], test)).toEqual({ passed: true, passedTests: 9 });
    expect((await runScriptTest([code], 'assert.fail("nope")')).error).toBe('assertion failed: nope');
    expect((await runScriptTest([code], 'assert.throws(() => f(1))')).error).toContain('Missing expected exception');
  });

  it('awaits an async test, and fails one that never settles', async () => {
    const code = 'async function f(x) { return x * 2; }';
    expect((await runScriptTest([code], 'return (async () => { assert.strictEqual(await f(2), 4); })();')).passed).toBe(true);
    expect((await runScriptTest([code], 'assert.ok(true); return new Promise(() => {});')).error).toBe(
      'the test returned a promise that never settled',
    );
  });

  it('fails what is not a verdict: no assertion, a test that throws, code that does not compile, unknown modules', async () => {
    const code = 'function f() { return 1; }';
    expect((await runScriptTest([code], 'f();')).error).toContain('made no assertion');
    expect((await runScriptTest([code], 'assert.ok(1); throw new TypeError("bad test")')).error).toBe('the test threw TypeError: bad test');
    expect((await runScriptTest([code], 'assert.ok(')).error).toContain('the test code does not compile');
    expect((await runScriptTest([code], "require('fs')")).error).toContain('Cannot find module "fs"');
    expect((await runScriptTest(['function f( {'], 'assert.ok(f())')).error).toContain('SyntaxError');
    expect((await runScriptTest(['function f() { while (true) {} }'], 'assert.ok(f())', { timeoutMs: 300 })).error).toContain('timed out');
  });

  it('takes the first candidate that compiles', async () => {
    expect(await runScriptTest(['function below_zero( {', BELOW_ZERO], MULTIPL_E)).toEqual({ passed: true, passedTests: 4 });
  });
});
