// Sandbox worker process: runs untrusted generated JavaScript against unit tests. sandbox.ts forks
// it as a separate Node process (never a thread of the caller: V8 treats some heap exhaustion as
// fatal for the whole process, which a worker thread's resourceLimits cannot contain) under an OS
// limit on its total memory (RLIMIT_DATA, set by sandbox.ts), with --max-old-space-size and
// --disallow-code-generation-from-strings, sends it jobs over IPC and kills it on its own timer.
// Each job gets a fresh vm context; the parent recycles the process after anything but a clean
// pass/fail.
//
// What this process never sees: the expected values. It sends back, per test, the canonical JSON
// text of the result (or why there is none); sandbox.ts compares it with the expected text. So no
// code in this process, trusted or not, can turn a wrong result into a pass, and a sample that
// escaped every layer below still could not learn an expected value.
//
// Layers, innermost first:
//  1. A fresh node:vm context (its own realm) with string/wasm code generation disabled, stripped
//     to plain ECMAScript globals (no require/process/import/fetch/console/ArrayBuffer/eval/...).
//     Nothing from this realm is ever handed to it: arguments go in as JSON text parsed by trusted
//     code of the context, results come out as values read here without running any of their code
//     (./sandbox-canonical.js).
//  2. The harness is out of the sample's reach: a trusted prelude, evaluated before the sample,
//     captures the intrinsics it uses and returns its entry point `start` to this process only —
//     no global, no property, no stack frame the sample can name. `start` is called from here with
//     the entry function (looked up once, after the top-level code), queues the call as a microtask
//     of the context and returns a record only this process holds; the call runs, within the time
//     budget, when this process next evaluates a (trusted, empty) script in the context.
//  3. `import()` is refused before compiling (Node 20 answers it with a promise and an error of
//     this realm even with an importModuleDynamically hook, which would leak this realm's
//     constructors); code generation from strings is off for this whole process and this realm's
//     Function constructors are neutered, so even a leaked object cannot reach `process`.
//  4. Every evaluation has a vm timeout from one shared budget per job; microtasks run inside it
//     too (microtaskMode 'afterEvaluate'), so async infinite loops are cut as well.
//  5. The parent SIGKILLs the process on its own timer; memory exhaustion (V8 heap, strings, native
//     memory) ends only this process.
import vm from 'node:vm';
import { isNativeError, isProxy } from 'node:util/types';
import { canonicalJson, describeThrown } from './sandbox-canonical.js';
import { scriptHarness } from './sandbox-script-harness.js';

// ---- 3. Harden this realm before any untrusted code exists. ----------------------------------
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
 * The trusted prelude, evaluated in the fresh context before the sample. It strips the global
 * object, pins Error.prepareStackTrace (Node calls the context's hook with call sites, which would
 * hand out the functions on the stack), and returns — to this process only — `start`, the realm's
 * Object.prototype (to recognise plain objects) and its global object (never to be looked into).
 *
 * `start(fn, argsJson)` runs no sample code itself (it is called from here, outside any time
 * budget): it parses the arguments with the captured JSON.parse, creates the record and reaches
 * `await undefined`, which queues the rest as a microtask of the context. The rest calls `fn` with
 * the captured Reflect.apply, awaits its result (a promise or thenable is the sample's own code,
 * run inside the budget) and writes the outcome into the record, a null-prototype object whose
 * data properties this process reads. Strict mode throughout, so `fn.caller` and call sites give
 * the sample nothing.
 */
function preludeSource(allowed) {
  return `(function () {
  'use strict';
  const G = globalThis;
  const apply = Reflect.apply, ownKeys = Reflect.ownKeys, deleteProperty = Reflect.deleteProperty;
  const defineProperty = Object.defineProperty, parse = JSON.parse;
  const allowed = ${JSON.stringify(allowed)};
  for (const k of ownKeys(G)) {
    if (typeof k === 'string' && allowed.indexOf(k) >= 0) continue;
    deleteProperty(G, k);
  }
  defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, enumerable: false, configurable: false });
  defineProperty(G, 'Error', { value: Error, writable: false, enumerable: false, configurable: false });

  async function settle(record, fn, args) {
    await undefined;
    let value;
    try {
      value = apply(fn, undefined, args);
    } catch (e) {
      record.state = 'threw';
      record.value = e;
      return;
    }
    try {
      value = await value;
    } catch (e) {
      record.state = 'rejected';
      record.value = e;
      return;
    }
    record.state = 'returned';
    record.value = value;
  }
  function start(fn, argsJson) {
    const record = { __proto__: null, state: 'pending', value: undefined };
    settle(record, fn, parse(argsJson));
    return record;
  }
  return { __proto__: null, start, objectPrototype: Object.prototype, global: G };
})()`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'implements interface package private protected public await arguments eval undefined NaN Infinity'
  ).split(' '),
);

const PRELUDE = new vm.Script(preludeSource(ALLOWED_GLOBALS), { filename: 'fedhpo-prelude.js' });
/** Evaluating anything runs the context's queued microtasks (the test call) inside the budget. */
const RUN_QUEUED = new vm.Script('void 0', { filename: 'fedhpo-run.js' });
/** Script jobs only: the in-context assert/require/console and the realm's lockdown (see its file). */
const SCRIPT_HARNESS = new vm.Script(`(${scriptHarness.toString()})()`, { filename: 'fedhpo-script-harness.js' });

/**
 * Whether the program uses the `import` keyword (dynamic `import()`; `import.meta` and static
 * imports do not compile in a script anyway). V8 is the tokenizer: every "import" in the text is
 * spelled `\u0069mport`, which leaves a string, template, regex, comment or identifier
 * (`importance`, `o.import`, a method named import) as it was but is a SyntaxError where `import`
 * is a keyword ("Keyword must not contain escaped characters"). Call only for code that compiles.
 */
function usesImportKeyword(code) {
  if (!code.includes('import')) return false;
  try {
    new vm.Script(code.replaceAll('import', '\\u0069mport'));
    return false;
  } catch {
    return true;
  }
}

/** Compiles the first candidate that parses and does not use `import` (compiling runs nothing). */
function compileFirst(candidates) {
  let error = 'no code';
  for (const code of candidates) {
    if (typeof code !== 'string') continue;
    let script;
    try {
      script = new vm.Script(`${code}\n;void 0;`, { filename: 'generated.js' });
    } catch (e) {
      error = `${e?.name}: ${e?.message}`;
      continue;
    }
    if (usesImportKeyword(code)) {
      error = 'import is not available in the sandbox';
      continue;
    }
    return { script };
  }
  return { error };
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A fresh context with the prelude evaluated (and, for script tests, the script harness, which
 * locks the realm down) and the first compiling candidate run: what both kinds of job start with.
 * Returns `{ failure }` when the job is over already, else the context's tools.
 */
function openJob(candidates, timeoutMs, withScriptHarness) {
  const deadline = performance.now() + timeoutMs;
  /** A failure of the whole job; unclean ones (timeouts, setup) make the parent recycle the process. */
  const fail = (error, clean = true) => ({ failure: { error, clean } });

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
  const timedOut = `timed out after ${timeoutMs} ms`;
  /** Evaluate trusted or sample code in the context within what is left of the budget. */
  const evaluate = (script) => {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) throw BUDGET_SPENT;
    return script.runInContext(context, { timeout: left, displayErrors: false });
  };

  let harness;
  let scripts;
  try {
    harness = evaluate(PRELUDE);
    if (withScriptHarness) {
      scripts = evaluate(SCRIPT_HARNESS);
      scripts.lockdown();
    }
  } catch (e) {
    return fail(`sandbox setup failed: ${isVmTimeout(e) ? 'timeout' : 'prelude error'}`, false);
  }
  const realm = { objectPrototype: harness.objectPrototype, refuse: [harness.global] };
  /** What a thrown value was, read without running any of its code. */
  const explain = (e) => (isVmTimeout(e) ? timedOut : `threw ${describeThrown(e, realm)}`);

  const compiled = compileFirst(candidates);
  if (!compiled.script) return fail(compiled.error);
  try {
    evaluate(compiled.script);
  } catch (e) {
    return isVmTimeout(e) ? fail(`top-level code ${timedOut}`, false) : fail(`top-level code ${explain(e)}`);
  }
  return { context, harness, scripts, realm, evaluate, isVmTimeout, timedOut, explain };
}

async function runJob({ candidates, entry, tests, timeoutMs }) {
  const fail = (error, clean = true) => ({ error, clean });
  if (typeof entry !== 'string' || !IDENTIFIER.test(entry) || RESERVED.has(entry))
    return fail(`invalid entry name ${JSON.stringify(entry)}`);
  if (!Array.isArray(tests) || !tests.every((a) => typeof a === 'string')) return fail('sandbox setup failed: bad tests', false);

  const job = openJob(candidates, timeoutMs, false);
  if (job.failure) return job.failure;
  const { harness, realm, evaluate, isVmTimeout, timedOut, explain } = job;
  const start = harness.start;

  // The entry is looked up once, after the top-level code: rebinding it later changes nothing.
  // (A getter on the global object runs here, inside the budget; strict, so it sees no caller.)
  let fn;
  try {
    fn = evaluate(new vm.Script(`(() => { 'use strict'; try { return ${entry}; } catch (_) { return undefined; } })()`));
  } catch (e) {
    return isVmTimeout(e) ? fail(`looking up \`${entry}\` ${timedOut}`, false) : fail(`looking up \`${entry}\` ${explain(e)}`);
  }
  if (typeof fn !== 'function') return fail(`entry \`${entry}\` is not defined as a function`);

  for (let i = 0; i < tests.length; i++) {
    const record = start(fn, tests[i]);
    try {
      evaluate(RUN_QUEUED);
    } catch (e) {
      // Only the budget can end an evaluation of an empty script: no point trying the remaining tests.
      return fail(`test ${i + 1} ${isVmTimeout(e) ? timedOut : 'failed in the sandbox'}`, false);
    }
    process.send({ type: 'test', i, ...testOutcome(record, realm) });
    // Let the message out (the parent keeps the results if it has to kill us).
    await nextTick();
  }
  return { clean: true };
}

/**
 * The test function of a script job: the test code as the body of a function of the context with
 * the parameters require, console and assert (the harness's), or without `assert` when the code
 * declares its own (`const assert = require('node:assert')`). Compiling runs nothing. The body is
 * strict: a sloppy caller would hand the sample its test function through `fn.caller`, and with it
 * the test's source (the expected values) through toString.
 */
function compileTest(code, context) {
  const body = `'use strict';\n${code}`;
  const compile = (params) => vm.compileFunction(body, params, { parsingContext: context, filename: 'test.js' });
  try {
    return { fn: compile(['require', 'console', 'assert']) };
  } catch {
    try {
      return { fn: compile(['require', 'console']) };
    } catch (e) {
      return { error: `the test code does not compile (as strict code): ${isNativeError(e) ? `${e.name}: ${e.message}` : 'error'}` };
    }
  }
}

/**
 * A script job: the sample, then the test code calling it (tests with their expected values in
 * code, e.g. HumanEval-style JavaScript). The verdict is made here from the record only this
 * process holds (see sandbox-script-harness.js): no failed assertion, the test ran to its end, at
 * least one assertion, and every comparison of objects equal as canonical JSON.
 */
async function runScriptJob({ candidates, test, timeoutMs }) {
  const fail = (error, clean = true) => ({ error, clean });
  if (typeof test !== 'string') return fail('sandbox setup failed: bad test', false);
  const job = openJob(candidates, timeoutMs, true);
  if (job.failure) return job.failure;
  const { context, scripts, realm, evaluate, isVmTimeout, timedOut } = job;
  const compiled = compileTest(test, context);
  if (!compiled.fn) return fail(compiled.error);
  const record = scripts.startScript(compiled.fn);
  try {
    evaluate(RUN_QUEUED);
  } catch (e) {
    return fail(`the test ${isVmTimeout(e) ? timedOut : 'failed in the sandbox'}`, false);
  }
  const verdict = scriptVerdict(record, realm);
  if (verdict !== undefined) return fail(verdict);
  process.send({ type: 'script', passed: true, assertions: record.assertions });
  return { clean: true };
}

/** Why a script job failed, or undefined when it passed. */
function scriptVerdict(record, realm) {
  const failure = record.failure;
  if (typeof failure === 'string') return `assertion failed: ${failure}`;
  if (record.state === 'pending') return 'the test returned a promise that never settled';
  if (record.state === 'threw') return `the test threw ${describeThrown(record.value, realm)}`;
  if (record.state !== 'returned') return 'the test did not finish';
  if (!(record.assertions > 0)) return 'the test made no assertion (assert or console.assert)';
  for (let i = 0; i < record.deferredCount; i++) {
    const d = record.deferred[i];
    const a = canonicalJson(d.a, realm);
    if (!('text' in a)) return `assertion failed: ${d.message}: the actual value ${a.refused}`;
    const b = canonicalJson(d.b, realm);
    if (!('text' in b)) return `assertion failed: ${d.message}: the expected value ${b.refused}`;
    if ((a.text === b.text) === d.negate) return `assertion failed: ${d.message}`;
  }
  return undefined;
}

/** What one test produced: the canonical JSON of its result, or why there is none. */
function testOutcome(record, realm) {
  const { state, value } = record;
  if (state === 'pending') return { error: 'returned a promise that never settled' };
  if (state === 'threw') return { error: `threw ${describeThrown(value, realm)}` };
  if (state === 'rejected') return { error: `rejected with ${describeThrown(value, realm)}` };
  const c = canonicalJson(value, realm);
  return 'text' in c ? { result: c.text } : { error: `returned a result that cannot be compared: it ${c.refused}` };
}

process.on('message', async (job) => {
  if (job?.type !== 'job') return;
  let outcome;
  try {
    outcome = await (job.mode === 'script' ? runScriptJob(job) : runJob(job));
  } catch (e) {
    outcome = { error: `sandbox error: ${isNativeError(e) ? e.message : 'unknown'}`, clean: false };
  }
  if (typeof outcome.error === 'string' && outcome.error.length > 500) outcome.error = `${outcome.error.slice(0, 500)}...`;
  process.send({ type: 'done', ...outcome });
});
process.send({ type: 'ready' });
