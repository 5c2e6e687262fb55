// Attempts to forge a pass from inside the sandbox, through every object sample code can reach:
// the harness (if any trace of it remained), the global object, the prototypes and functions a
// comparison could use, results that run code when looked at, thenables, re-entrancy, the entry
// binding, stack traces, late promises and shared results. Each attempt must fail (never pass), must
// not see the expected value (a random secret per run), and must leave the sandbox healthy.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSandboxPool, runCodeTests, scoreCode } from '../../src/eval/sandbox.js';

afterAll(() => closeSandboxPool());

const ADD_TESTS = [
  { args: [1, 2], expected: 3 },
  { args: [-4, 4], expected: 0 },
  { args: [10, 5], expected: 15 },
];
const GOOD = 'function add(a, b) { return a + b; }';
const OPTS = { timeoutMs: 2000 };

/** Expected values no sample can know: any pass means the expected value leaked. */
const SECRET_PREFIX = 'fedhpo-secret-';
const secretTests = (): { args: unknown[]; expected: unknown }[] =>
  [1, 2, 3].map((k) => ({ args: [k, k + 1], expected: `${SECRET_PREFIX}${randomUUID()}` }));

async function expectHealthy(): Promise<void> {
  expect(await runCodeTests(GOOD, 'add', ADD_TESTS)).toEqual({ passed: true, passedTests: 3 });
}

/**
 * Sample code that searches everything reachable from the global object (own properties of every
 * object and function, prototypes, getters' results, a stack trace) for the secret prefix and
 * returns what it finds, else "junk". It would pass only if an expected value were reachable.
 */
const SEARCH = `
function search() {
  const seen = new Set();
  const found = [];
  const visit = (v, depth) => {
    if (found.length || depth > 6) return;
    if (typeof v === 'string') { if (v.includes(${JSON.stringify(SECRET_PREFIX)})) found.push(v); return; }
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
    seen.add(v);
    let keys = [];
    try { keys = Reflect.ownKeys(v); } catch (_) {}
    for (const k of keys) {
      let d;
      try { d = Reflect.getOwnPropertyDescriptor(v, k); } catch (_) { continue; }
      if (!d) continue;
      if ('value' in d) visit(d.value, depth + 1);
      else { try { visit(Reflect.apply(d.get, v, []), depth + 1); } catch (_) {} }
    }
    try { visit(Object.getPrototypeOf(v), depth + 1); } catch (_) {}
  };
  visit(globalThis, 0);
  try { visit(new Error('x').stack, 0); } catch (_) {}
  return found;
}
`;

// [name, sample code]: each defines `add` and tries to pass tests whose expected values it cannot know.
const ATTEMPTS: [string, string][] = [
  // --- the harness -------------------------------------------------------------------------------
  [
    // The exploit that worked: a nested run() leaked the expected value in result()'s message.
    'the old harness object (__fedhpo__.run/result)',
    `let k = 0;
     function add() {
       const i = k++;
       __fedhpo__.run(i, () => 'junk');
       const want = JSON.parse(/expected (.*), got/.exec(__fedhpo__.result())[1]);
       __fedhpo__.run(i, () => want);
       return want;
     }`,
  ],
  ['search every object reachable from globalThis for an expected value', `${SEARCH} function add() { return search()[0] ?? 'junk'; }`],
  [
    'search again from inside a later test (after the harness ran)',
    `${SEARCH} let n = 0; function add() { n++; return search()[0] ?? 'junk' + n; }`,
  ],
  [
    'call every non-standard global function with the entry',
    `function add(a, b) {
       for (const k of Reflect.ownKeys(globalThis)) {
         const v = globalThis[k];
         if (typeof v === 'function' && k !== 'add' && !/^[A-Z]/.test(String(k))) { try { v(0, add); v(add); } catch (_) {} }
       }
       return 'junk';
     }`,
  ],
  // --- the intrinsics a comparison could use --------------------------------------------------
  [
    'patch JSON, Object, Reflect, String and Array helpers to say "equal"',
    `JSON.stringify = () => '"x"'; JSON.parse = () => 'x';
     Object.keys = () => []; Object.entries = () => []; Object.is = () => true; Object.getPrototypeOf = () => null;
     Object.getOwnPropertyDescriptor = () => ({ value: 'x', enumerable: true });
     Reflect.ownKeys = () => []; Reflect.apply = () => 'x'; Reflect.getOwnPropertyDescriptor = () => ({ value: 'x' });
     String.prototype.slice = function () { return 'x'; }; String.prototype.localeCompare = () => 0;
     String.prototype.toString = function () { return 'x'; }; String.prototype.valueOf = function () { return 'x'; };
     Array.prototype.sort = function () { return this; }; Array.prototype.join = () => 'x';
     Array.prototype.every = () => true; Array.prototype.some = () => true; Array.prototype.indexOf = () => 0;
     Array.prototype.includes = () => true; Array.isArray = () => false;
     function add() { return 'junk'; }`,
  ],
  [
    'patch Function.prototype (call, apply, bind, toString) and Object.prototype',
    `Function.prototype.call = function () { return 'x'; }; Function.prototype.apply = function () { return 'x'; };
     Function.prototype.bind = function () { return () => 'x'; }; Function.prototype.toString = () => 'x';
     Object.prototype.toString = () => 'x'; Object.prototype.valueOf = () => 'x'; Object.prototype.hasOwnProperty = () => true;
     Object.defineProperty(Object.prototype, 'state', { get() { return 'returned'; }, set() {} });
     Object.defineProperty(Object.prototype, 'value', { get() { return 'x'; }, set() {} });
     function add() { return 'junk'; }`,
  ],
  [
    'patch the iterators (Array.prototype[Symbol.iterator], %ArrayIteratorPrototype%.next, String iterator)',
    `const AIP = Object.getPrototypeOf([][Symbol.iterator]());
     AIP.next = () => ({ done: true });
     Array.prototype[Symbol.iterator] = function* () {};
     String.prototype[Symbol.iterator] = function* () {};
     function add() { return 'junk'; }`,
  ],
  [
    'patch Number, Symbol and BigInt conversions',
    `Number.prototype.toString = () => 'x'; Number.prototype.valueOf = () => 0; Number.isFinite = () => false;
     Symbol.prototype.toString = () => 'x'; BigInt.prototype.toString = () => 'x';
     Object.defineProperty(Symbol, 'iterator', { value: Symbol('fake') });
     function add() { return 'junk'; }`,
  ],
  [
    'patch Promise (then, resolve, constructor, species) and make every object a thenable',
    `const then = Promise.prototype.then;
     Promise.prototype.then = function (ok, ko) { return then.call(this, () => ok && ok('x'), ko); };
     Promise.resolve = (v) => ({ then: (ok) => ok('x') });
     Object.defineProperty(Promise.prototype, 'constructor', { get() { return function (ex) { ex(() => {}, () => {}); }; } });
     Object.defineProperty(Promise, Symbol.species, { get() { return Promise; } });
     Object.prototype.then = function (ok) { delete Object.prototype.then; ok('junk'); };
     async function add() { return 'junk'; }`,
  ],
  [
    'replace Error and its hooks (prepareStackTrace, captureStackTrace, hasInstance)',
    `try { Error.prepareStackTrace = () => 'x'; } catch (_) {}
     try { globalThis.Error = function () {}; } catch (_) {}
     try { Object.defineProperty(Error, Symbol.hasInstance, { value: () => true }); } catch (_) {}
     try { Error.captureStackTrace = () => {}; } catch (_) {}
     function add() { throw new TypeError('junk'); }`,
  ],
  // --- results that run code when looked at ---------------------------------------------------
  [
    'a getter that answers "the expected value" on every read',
    'function add(a, b) { return { get length() { return 3; }, get 0() { return a + b; } }; }',
  ],
  [
    'toJSON, valueOf, toString and Symbol.toPrimitive',
    `function add(a, b) { return { toJSON: () => a + b, valueOf: () => a + b, toString: () => String(a + b), [Symbol.toPrimitive]: () => a + b }; }`,
  ],
  [
    'a Proxy that claims to be anything',
    `function add(a, b) {
       return new Proxy([], { get: (t, k) => (k === 'length' ? 1 : k === '0' ? a + b : Reflect.get(t, k)),
         getOwnPropertyDescriptor: () => ({ value: a + b, enumerable: true, configurable: true, writable: true }),
         ownKeys: () => ['0', 'length'], getPrototypeOf: () => Object.prototype });
     }`,
  ],
  ['a revoked Proxy', 'function add() { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; }'],
  [
    'an array whose prototype fills its holes',
    'Object.defineProperty(Array.prototype, 0, { get() { return 3; } }); function add() { return [,]; }',
  ],
  [
    'an object with a prototype that is not Object.prototype',
    'function add(a, b) { return Object.setPrototypeOf({ v: a + b }, { then: null, toJSON: () => a + b }); }',
  ],
  [
    'the same result for every test, changed in the next call',
    'const o = []; function add(a, b) { o[0] = a + b; o.length = 1; return o; }',
  ],
  // --- thenables and late results --------------------------------------------------------------
  ['a thenable that resolves twice (junk first)', 'function add(a, b) { return { then(ok) { ok("junk"); ok(a + b); } }; }'],
  ['a thenable whose then is a getter that throws', 'function add() { return { get then() { throw new Error("junk"); } }; }'],
  ['an endless chain of thenables', 'function add() { const t = { then(ok) { ok(t); } }; return t; }'],
  [
    'a promise resolved by the next call (after its test ended)',
    'const later = []; async function add(a, b) { while (later.length) later.shift()(); return new Promise((ok) => later.push(() => ok(a + b))); }',
  ],
  ['a promise that resolves after the deadline', 'async function add(a, b) { for (let i = 0; i < 1e9; i++) await null; return a + b; }'],
  // --- the entry binding, re-entrancy and stack frames ------------------------------------------
  ['rebinding the entry after the first call', 'var add = function (a, b) { add = function () { return "junk2"; }; return "junk"; };'],
  [
    'an entry that is a getter on the global object',
    'let calls = 0; Object.defineProperty(globalThis, "add", { get() { calls++; return () => "junk" + calls; }, configurable: true });',
  ],
  ['calling the entry from a getter of its own result', 'function add(a, b) { return { get v() { return add(a, b); } }; }'],
  [
    'reaching the caller through caller, callee and call sites',
    `function add(a, b) {
       const fns = [];
       try { if (add.caller) fns.push(add.caller); } catch (_) {}
       try { if (arguments.callee.caller) fns.push(arguments.callee.caller); } catch (_) {}
       try {
         const o = {};
         Error.captureStackTrace(o);
         const cs = o.stack;
         if (Array.isArray(cs)) for (const c of cs) { if (c.getFunction()) fns.push(c.getFunction()); if (c.getThis()) fns.push(c.getThis()); }
       } catch (_) {}
       for (const f of fns) { try { f(0, () => 'junk'); } catch (_) {} }
       return fns.length ? 'found ' + fns.length : 'junk';
     }`,
  ],
  // --- text that only looks like the expected value -----------------------------------------------
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code holds a template literal
  ['JSON text injected through a key', 'function add(a, b) { return { [`a":${a + b},"b`]: 1 }; }'],
];

describe('forging a pass from inside the sandbox', () => {
  it.each(ATTEMPTS)('%s: fails, never sees the expected value', async (_name, code) => {
    const tests = secretTests();
    const r = await runCodeTests(code, 'add', tests, OPTS);
    expect(r.passed).toBe(false);
    expect(r.passedTests).toBe(0);
    expect(typeof r.error).toBe('string');
    // No failure message carries an expected value.
    for (const t of tests) expect(r.error).not.toContain(t.expected);
    expect(r.error).not.toContain(SECRET_PREFIX);
    expect(await scoreCode(code, { entry: 'add', tests }, OPTS)).toBe(0);
  });

  it('results that would pass if their code ran (getters, Proxies, inherited elements, thenables) fail', async () => {
    const vTests = ADD_TESTS.map((t) => ({ args: t.args, expected: { v: t.expected } }));
    const cases: [string, string, { args: unknown[]; expected: unknown }[]][] = [
      ['getter', 'function add(a, b) { return { get v() { return a + b; } }; }', vTests],
      [
        'Proxy',
        `function add(a, b) {
           return new Proxy({}, { ownKeys: () => ['v'], get: (t, k) => (k === 'v' ? a + b : undefined), getPrototypeOf: () => Object.prototype,
             getOwnPropertyDescriptor: () => ({ value: a + b, enumerable: true, configurable: true, writable: true }) });
         }`,
        vTests,
      ],
      [
        'hole filled by Array.prototype',
        'Object.defineProperty(Array.prototype, 0, { get() { return 3; } }); function add() { return [,]; }',
        [{ args: [1, 2], expected: [3] }],
      ],
      ['class instance', 'class P { constructor(v) { this.v = v; } } function add(a, b) { return new P(a + b); }', vTests],
      ['thenable resolving junk first', 'function add(a, b) { return { then(ok) { ok("junk"); ok(a + b); } }; }', ADD_TESTS],
    ];
    for (const [name, code, tests] of cases) {
      const r = await runCodeTests(code, 'add', tests, OPTS);
      expect(r, name).toMatchObject({ passed: false, passedTests: 0 });
      expect(r.error, name).toMatch(/cannot be compared|wrong result/);
    }
    await expectHealthy();
  });

  it('a result is taken when its test ends: later changes, late promises and a rebound entry change nothing', async () => {
    const codeOf = (name: string): string => ATTEMPTS.find(([n]) => n === name)![1];
    // The same array for every test, changed by each call: each test sees its own value.
    const shared = [
      { args: [1, 2], expected: [3] },
      { args: [2, 2], expected: [4] },
    ];
    expect(await runCodeTests(codeOf('the same result for every test, changed in the next call'), 'add', shared)).toEqual({
      passed: true,
      passedTests: 2,
    });
    const late = await runCodeTests(codeOf('a promise resolved by the next call (after its test ended)'), 'add', ADD_TESTS, OPTS);
    expect(late).toMatchObject({ passed: false, passedTests: 0 });
    expect(late.error).toMatch(/never settled/);
    const rebound = await runCodeTests(codeOf('rebinding the entry after the first call'), 'add', ADD_TESTS, OPTS);
    expect(rebound).toEqual({ passed: false, passedTests: 0, error: 'test 1: wrong result, got "junk"' });
    await expectHealthy();
  });

  it('the harness leaves no trace in the sample realm', async () => {
    const standard = [
      'Object',
      'Function',
      'Array',
      'Number',
      'Boolean',
      'String',
      'Symbol',
      'BigInt',
      'Date',
      'RegExp',
      'Promise',
      'Map',
      'Set',
      'WeakMap',
      'WeakSet',
      'Math',
      'JSON',
      'Reflect',
      'Proxy',
      'Intl',
      'Iterator',
      'Error',
      'AggregateError',
      'EvalError',
      'RangeError',
      'ReferenceError',
      'SyntaxError',
      'TypeError',
      'URIError',
      'parseFloat',
      'parseInt',
      'isFinite',
      'isNaN',
      'Infinity',
      'NaN',
      'undefined',
      'globalThis',
      'decodeURI',
      'decodeURIComponent',
      'encodeURI',
      'encodeURIComponent',
      'escape',
      'unescape',
    ];
    const code = `const standard = ${JSON.stringify(standard)};
      function extra() {
        const own = Reflect.ownKeys(globalThis).map(String).filter((k) => !standard.includes(k) && k !== 'extra');
        return [own, extra.caller === null, typeof Error.prepareStackTrace, Object.isFrozen(Error) || !Reflect.getOwnPropertyDescriptor(Error, 'prepareStackTrace').writable];
      }`;
    expect(await runCodeTests(code, 'extra', [{ args: [], expected: [[], true, 'undefined', true] }])).toEqual({
      passed: true,
      passedTests: 1,
    });
  });

  it('canonical comparison: equal JSON passes whatever the key order; look-alikes do not', async () => {
    const obj = [{ args: [], expected: { a: 1, b: [1, 'x', null] } }];
    expect(await runCodeTests('function f() { return { b: [1, "x", undefined], a: 1, c: undefined, d: () => 1 }; }', 'f', obj)).toEqual({
      passed: true,
      passedTests: 1,
    });
    for (const body of [
      'return { a: "1", b: [1, "x", null] }',
      'return { a: 1n, b: [1, "x", null] }',
      'return JSON.stringify({ a: 1, b: [1, "x", null] })',
      'return [{ a: 1, b: [1, "x", null] }]',
    ]) {
      expect(await runCodeTests(`function f() { ${body}; }`, 'f', obj), body).toMatchObject({ passed: false });
    }
  });

  it('stays healthy after all of the above', async () => {
    await expectHealthy();
    expect(await scoreCode(GOOD, { entry: 'add', tests: ADD_TESTS })).toBe(1);
  });
});
