// Sandbox worker process: runs untrusted generated JavaScript against unit tests. sandbox.ts forks
// it as a separate Node process (never a thread of the caller: V8 treats some heap exhaustion as
// fatal for the whole process, which a worker thread's resourceLimits cannot contain) with
// --max-old-space-size and --disallow-code-generation-from-strings, sends it jobs over IPC and
// kills it on its own timer. Each job gets a fresh vm context; the parent recycles the process
// after anything but a clean pass/fail.
//
// Layers, innermost first:
//  1. A fresh node:vm context (its own realm) with string/wasm code generation disabled, stripped
//     to plain ECMAScript globals (no require/process/import/fetch/console/ArrayBuffer/eval/...).
//     Nothing from this realm is ever handed to it: tests go in as JSON text inside trusted
//     source, results come out as primitive strings built by the trusted harness.
//  2. `import()` is refused before compiling (Node answers it with an error object of this realm,
//     which would leak this realm's constructors); code generation from strings is off for this
//     whole process and this realm's Function constructors are neutered, so even a leaked object
//     cannot reach `process`.
//  3. Every evaluation has a vm timeout from one shared budget per job; microtasks run inside it
//     too (microtaskMode 'afterEvaluate'), so async infinite loops are cut as well.
//  4. The parent SIGKILLs the process on its own timer; heap exhaustion ends only this process.
import vm from 'node:vm';
import { isNativeError, isProxy } from 'node:util/types';
import { randomUUID } from 'node:crypto';

// ---- 2. Harden this realm before any untrusted code exists. ----------------------------------
for (const F of [Function, (async () => {}).constructor, function* () {}.constructor, async function* () {}.constructor]) {
  Object.defineProperty(F.prototype, 'constructor', { value: undefined, writable: false, enumerable: false, configurable: false });
}
// Node calls Error.prepareStackTrace of the main realm for foreign errors; nobody may set it.
Object.defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, enumerable: false, configurable: false });
// Rejections left behind by sample code are the sample's problem, not a crash.
process.on('unhandledRejection', () => {});
// The parent is gone: nothing left to do.
process.on('disconnect', () => process.exit(0));

/** Globals the sample may see (everything else in the fresh context is deleted). */
const ALLOWED_GLOBALS = [
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

/**
 * Trusted harness, evaluated in the context before the sample: it captures the intrinsics it needs
 * (so a sample that patches JSON or Array.prototype cannot fake a pass), strips the global object,
 * and exposes a frozen, non-configurable `__fedhpo__` with run/result/describe.
 */
function harnessSource(tests, allowed) {
  return `(function () {
  'use strict';
  const G = globalThis;
  const apply = Reflect.apply, ownKeys = Reflect.ownKeys, deleteProperty = Reflect.deleteProperty;
  const defineProperty = Object.defineProperty, freeze = Object.freeze, getPrototypeOf = Object.getPrototypeOf;
  const keys = Object.keys, isArray = Array.isArray, ObjectProto = Object.prototype;
  const parse = JSON.parse, stringify = JSON.stringify, sort = Array.prototype.sort, StringCtor = String;
  const slice = String.prototype.slice;
  const tests = parse(${JSON.stringify(JSON.stringify(tests))});
  const allowed = parse(${JSON.stringify(JSON.stringify(allowed))});

  for (const k of ownKeys(G)) {
    if (typeof k === 'string' && allowed.indexOf(k) >= 0) continue;
    deleteProperty(G, k);
  }
  // Node consults globalThis.Error.prepareStackTrace; pin Error and make that hook unsettable.
  defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, enumerable: false, configurable: false });
  defineProperty(G, 'Error', { value: Error, writable: false, enumerable: false, configurable: false });

  function quote(s) { return apply(stringify, undefined, [s]); }
  // Canonical JSON: sorted keys; undefined/functions/symbols dropped in objects and null in arrays,
  // non-finite numbers null, -0 is 0 (all as JSON.stringify); non-plain objects never equal anything.
  function canon(v) {
    switch (typeof v) {
      case 'string': return quote(v);
      case 'number': return v === v && v !== Infinity && v !== -Infinity ? '' + v : 'null';
      case 'boolean': return v ? 'true' : 'false';
      case 'bigint': return '!bigint:' + v;
      case 'object': {
        if (v === null) return 'null';
        if (isArray(v)) {
          let s = '[';
          const n = v.length;
          for (let i = 0; i < n; i++) {
            const c = canon(v[i]);
            s += (i ? ',' : '') + (c === undefined ? 'null' : c);
          }
          return s + ']';
        }
        const proto = getPrototypeOf(v);
        if (proto !== ObjectProto && proto !== null) return '!object';
        const ks = keys(v);
        apply(sort, ks, []);
        let s = '{', first = true;
        for (let i = 0; i < ks.length; i++) {
          const c = canon(v[ks[i]]);
          if (c === undefined) continue;
          s += (first ? '' : ',') + quote(ks[i]) + ':' + c;
          first = false;
        }
        return s + '}';
      }
      default: return undefined;
    }
  }
  function canonTop(v) {
    if (v === undefined) return 'undefined';
    const c = canon(v);
    return c === undefined ? '!' + typeof v : c;
  }
  function clip(s) { return s.length > 300 ? apply(slice, s, [0, 300]) + '...' : s; }
  function describe(e) {
    try {
      if (e !== null && typeof e === 'object') {
        const name = e.name, message = e.message;
        if (typeof message === 'string') return clip((typeof name === 'string' ? name : 'Error') + ': ' + message);
      }
      const s = StringCtor(e);
      return clip(typeof s === 'string' ? s : 'thrown value');
    } catch (_) {
      return 'thrown value (not describable)';
    }
  }
  function show(c) { return c.length > 120 ? apply(slice, c, [0, 120]) + '...' : c; }

  let state = 'idle', message = '';
  function finish(ok, msg) {
    if (state !== 'pending') return;
    state = ok ? 'pass' : 'fail';
    message = msg;
  }
  function settle(i, value) {
    if (state !== 'pending') return;
    let got;
    try { got = canonTop(value); } catch (e) { finish(false, 'result not comparable: ' + describe(e)); return; }
    const t = tests[i];
    const want = t.e === null ? 'undefined' : canonTop(parse(t.e));
    if (got === want) finish(true, '');
    else finish(false, 'test ' + (i + 1) + ': expected ' + show(want) + ', got ' + show(got));
  }
  function run(i, fn) {
    state = 'pending';
    message = '';
    if (typeof fn !== 'function') { finish(false, 'entry is not a function'); return; }
    let result;
    try { result = apply(fn, undefined, parse(tests[i].a)); } catch (e) { finish(false, 'test ' + (i + 1) + ' threw ' + describe(e)); return; }
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      let then;
      try { then = result.then; } catch (e) { finish(false, 'test ' + (i + 1) + ' threw ' + describe(e)); return; }
      if (typeof then === 'function') {
        try {
          apply(then, result, [(v) => settle(i, v), (e) => finish(false, 'test ' + (i + 1) + ' rejected ' + describe(e))]);
        } catch (e) {
          finish(false, 'test ' + (i + 1) + ' threw ' + describe(e));
        }
        return;
      }
    }
    settle(i, result);
  }
  function result() {
    if (state === 'pending') return 'fail:promise never settled';
    return state === 'pass' ? 'pass' : 'fail:' + (typeof message === 'string' ? message : '');
  }
  function describeGlobal(key) {
    let e;
    try { e = G[key]; deleteProperty(G, key); } catch (_) { return 'thrown value'; }
    return describe(e);
  }
  defineProperty(G, '__fedhpo__', {
    value: freeze({ run, result, describe: describeGlobal }),
    writable: false, enumerable: false, configurable: false,
  });
})();`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'implements interface package private protected public await arguments eval undefined NaN Infinity __fedhpo__'
  ).split(' '),
);

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

async function runJob({ candidates, entry, tests, timeoutMs }) {
  const deadline = performance.now() + timeoutMs;
  let passedTests = 0;
  const fail = (error) => ({
    passed: false,
    passedTests,
    error,
    clean: !/^(?:(?:top-level code|test \d+) )?timed out after|^sandbox setup/.test(error),
  });

  if (typeof entry !== 'string' || !IDENTIFIER.test(entry) || RESERVED.has(entry))
    return fail(`invalid entry name ${JSON.stringify(entry)}`);

  const context = vm.createContext(Object.create(null), {
    name: 'fedhpo-sandbox',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });

  // The budget ran out before an evaluation: a sentinel compared by identity (never `instanceof`,
  // which would walk a sample object's prototype chain and run Proxy traps out here).
  const BUDGET_SPENT = Object.freeze({ budgetSpent: true });
  /** vm's own timeout error (a host error with a data property `code`; reading it runs no sample code). */
  const isVmTimeout = (e) => {
    if (e === BUDGET_SPENT) return true;
    if (isProxy(e) || !isNativeError(e)) return false;
    const code = Object.getOwnPropertyDescriptor(e, 'code');
    return !!code && code.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
  };
  /** Evaluate trusted or sample code in the context within what is left of the budget. */
  const evaluate = (script) => {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) throw BUDGET_SPENT;
    return script.runInContext(context, { timeout: left, displayErrors: false });
  };
  /**
   * What a thrown value was, without running sample code here: vm's own timeout error is
   * recognised by its own data property; any other value is described by the harness, in the
   * context and within the budget.
   */
  const explain = (e) => {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return `threw ${String(e)}`;
    if (isVmTimeout(e)) return `timed out after ${timeoutMs} ms`;
    const key = `__fedhpo_thrown_${randomUUID().replace(/-/g, '')}`;
    try {
      Object.defineProperty(context, key, { value: e, writable: true, enumerable: false, configurable: true });
      const s = evaluate(new vm.Script(`__fedhpo__.describe(${JSON.stringify(key)})`));
      return typeof s === 'string' ? `threw ${s}` : 'threw a value';
    } catch (inner) {
      return isVmTimeout(inner) ? `timed out after ${timeoutMs} ms` : 'threw a value';
    }
  };
  const isTimeout = (msg) => msg.startsWith('timed out');

  try {
    evaluate(new vm.Script(harnessSource(tests, ALLOWED_GLOBALS), { filename: 'fedhpo-harness.js' }));
  } catch (e) {
    return fail(`sandbox setup failed: ${e === BUDGET_SPENT ? 'timeout' : String(e?.message)}`);
  }

  // Compile the first candidate that parses (compiling runs nothing).
  let script;
  let compileError = 'no code';
  for (const code of candidates) {
    if (/\bimport\b/.test(code)) {
      compileError = 'import is not available in the sandbox';
      continue;
    }
    try {
      script = new vm.Script(`${code}\n;void 0;`, { filename: 'generated.js' });
      break;
    } catch (e) {
      compileError = `${e?.name}: ${e?.message}`;
    }
  }
  if (!script) return fail(compileError);

  try {
    evaluate(script);
  } catch (e) {
    return fail(`top-level code ${explain(e)}`);
  }

  const call = (i) =>
    new vm.Script(`__fedhpo__.run(${i}, (() => { try { return ${entry}; } catch (_) { return undefined; } })());`, {
      filename: 'fedhpo-call.js',
    });
  const check = new vm.Script('__fedhpo__.result()', { filename: 'fedhpo-check.js' });
  let firstError;
  for (let i = 0; i < tests.length; i++) {
    let status;
    try {
      evaluate(call(i));
      status = evaluate(check);
    } catch (e) {
      const msg = explain(e);
      // A timeout spends the whole budget: no point trying the remaining tests.
      if (isTimeout(msg)) return fail(`test ${i + 1} ${msg}`);
      firstError ??= `test ${i + 1} ${msg}`;
      continue;
    }
    if (status === 'pass') {
      passedTests += 1;
      process.send({ type: 'progress', passedTests });
      // Let the progress message out (the parent keeps the count if it has to kill us).
      await nextTick();
    } else {
      firstError ??= typeof status === 'string' && status.startsWith('fail:') ? status.slice(5) : 'unexpected harness result';
      if (firstError === 'entry is not a function') return fail(`entry \`${entry}\` is not defined as a function`);
    }
  }
  return firstError === undefined ? { passed: true, passedTests, clean: true } : fail(firstError);
}

process.on('message', async (job) => {
  if (job?.type !== 'job') return;
  let outcome;
  try {
    outcome = await runJob(job);
  } catch (e) {
    outcome = { passed: false, passedTests: 0, error: `sandbox error: ${isNativeError(e) ? e.message : 'unknown'}`, clean: false };
  }
  if (typeof outcome.error === 'string' && outcome.error.length > 500) outcome.error = `${outcome.error.slice(0, 500)}...`;
  process.send({ type: 'done', ...outcome });
});
process.send({ type: 'ready' });
