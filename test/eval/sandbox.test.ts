import { afterAll, describe, expect, it } from 'vitest';
import { extractCode, extractCodeCandidates, stripFences } from '../../src/eval/code-extract.js';
import { scoreOutput } from '../../src/eval/score.js';
import { closeSandboxPool, runCodeCandidates, runCodeTests, scoreCode } from '../../src/eval/sandbox.js';

const ADD_TESTS = [
  { args: [1, 2], expected: 3 },
  { args: [-4, 4], expected: 0 },
  { args: [10, 5], expected: 15 },
];
const GOOD = 'function add(a, b) { return a + b; }';
const FAST = { timeoutMs: 1000 };

afterAll(() => closeSandboxPool());

async function expectHealthy(): Promise<void> {
  expect(await runCodeTests(GOOD, 'add', ADD_TESTS)).toEqual({ passed: true, passedTests: 3 });
}

describe('runCodeTests', () => {
  it('passes a correct function', async () => {
    expect(await runCodeTests(GOOD, 'add', ADD_TESTS)).toEqual({ passed: true, passedTests: 3 });
    expect(await runCodeTests('const add = (a, b) => a + b;', 'add', ADD_TESTS)).toMatchObject({ passed: true });
    expect(await runCodeTests('async function add(a, b) { await null; return a + b; }', 'add', ADD_TESTS)).toMatchObject({ passed: true });
  });

  it('fails a wrong function, counting the tests it passes', async () => {
    const r = await runCodeTests('function add(a, b) { return a > 0 ? a + b : 1; }', 'add', ADD_TESTS);
    expect(r.passed).toBe(false);
    expect(r.passedTests).toBe(2);
    // What the sample returned, never the expected value (the old message, "expected 0, got 1",
    // handed the expected value to anyone who could read a failure message).
    expect(r.error).toBe('test 2: wrong result, got 1');
  });

  it('fails a syntax error, a missing entry and a throwing function', async () => {
    const syntax = await runCodeTests('function add(a, b) { return a + ; }', 'add', ADD_TESTS);
    expect(syntax).toMatchObject({ passed: false, passedTests: 0 });
    expect(syntax.error).toMatch(/SyntaxError/);
    const missing = await runCodeTests('function plus(a, b) { return a + b; }', 'add', ADD_TESTS);
    expect(missing.error).toMatch(/not defined as a function/);
    const throws = await runCodeTests('function add() { throw new RangeError("boom"); }', 'add', ADD_TESTS);
    expect(throws.error).toMatch(/RangeError: boom/);
  });

  it('compares results as canonical JSON', async () => {
    const tests = [
      { args: [], expected: { b: [1, { c: null }], a: 'x' } },
      { args: [], expected: { b: [1, { c: null }], a: 'x' } },
    ];
    expect(await runCodeTests('function f() { return { a: "x", b: [1, { c: null }] }; }', 'f', tests)).toMatchObject({ passed: true });
    expect(await runCodeTests('function f() { return { a: "x", b: [1, { c: 0 }] }; }', 'f', tests)).toMatchObject({ passed: false });
    expect(await runCodeTests('function f() { return new Map(); }', 'f', [{ args: [], expected: {} }])).toMatchObject({ passed: false });
    expect(await runCodeTests('function f() {}', 'f', [{ args: [], expected: undefined }])).toMatchObject({ passed: true });
    expect(await runCodeTests('function f() {}', 'f', [{ args: [], expected: null }])).toMatchObject({ passed: false });
    // Each test gets fresh arguments, even if the function mutates them.
    const push = [
      { args: [[1]], expected: [1, 0] },
      { args: [[1]], expected: [1, 0] },
    ];
    expect(await runCodeTests('function f(a) { a.push(0); return a; }', 'f', push)).toMatchObject({ passed: true });
  });

  it('cannot fake a pass by patching the intrinsics', async () => {
    const r = await runCodeTests(
      'JSON.stringify = () => "3"; JSON.parse = () => [3]; Array.prototype.sort = null; function add() { return 0; }',
      'add',
      ADD_TESTS,
    );
    expect(r.passed).toBe(false);
  });

  it('runs several samples concurrently', async () => {
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, k) => runCodeTests(k % 2 ? GOOD : 'function add() { return 0; }', 'add', ADD_TESTS)),
    );
    expect(rs.map((r) => r.passed)).toEqual([false, true, false, true, false, true, false, true]);
  });
});

describe('runCodeTests with hostile code', () => {
  // [name, code, expected error, budget ms]
  const hostile: [string, string, RegExp, number?][] = [
    ['top-level infinite loop', 'while (true) {}', /timed out/],
    ['infinite loop in the function', 'function add() { while (true) {} }', /timed out/],
    ['async infinite loop', 'async function add() { for (;;) await null; }', /timed out/],
    ['never-resolving promise', 'async function add() { await new Promise(() => {}); }', /never settled/],
    ['huge allocation', 'const a = []; while (true) a.push(new Array(1e6).fill(1)); function add() {}', /memory limit/, 5000],
    // Fatal for the whole process under a worker thread's resourceLimits (V8 "CALL_AND_RETRY_LAST").
    ['one-shot huge allocation', 'function add() { return new Array(2 ** 27).fill(0).length; }', /memory limit|timed out/],
    ['require', 'function add() { return require("fs").readFileSync("/etc/passwd", "utf8"); }', /require is not defined/],
    ['process.exit', 'function add() { process.exit(0); }', /process is not defined/],
    ['globalThis.process', 'function add() { return globalThis.process.exit(0); }', /TypeError/],
    ['constructor escape', 'function add() { return this.constructor.constructor("return process")().exit(0); }', /EvalError/],
    ['Function from an arrow', 'function add() { return (() => {}).constructor("return process")().pid; }', /EvalError/],
    ['eval', 'function add() { return eval("process").pid; }', /eval is not defined|EvalError/],
    ['import()', 'async function add() { return (await import("fs")).readFileSync("/etc/passwd"); }', /import is not available/],
    [
      'import() error constructor escape',
      'function add() { import("fs").catch((e) => e.constructor.constructor("return process")().exit(0)); return 3; }',
      /import is not available/,
    ],
    ['fetch', 'async function add() { return await fetch("http://example.com"); }', /fetch is not defined/],
    ['stack overflow', 'function add(a, b) { return add(a, b); }', /Maximum call stack/],
    // Described without running its traps (it used to be described by running them, until the budget ran out).
    [
      'throwing a hostile Proxy',
      'function add() { throw new Proxy({}, { get() { for (;;) {} }, getPrototypeOf() { for (;;) {} } }); }',
      /threw a Proxy/,
    ],
  ];

  it.each(hostile)('%s: fails the sample; the sandbox still works afterwards', async (_name, code, why, timeoutMs = 1000) => {
    const r = await runCodeTests(code, 'add', ADD_TESTS, { timeoutMs });
    expect(r.passed).toBe(false);
    expect(typeof r.error).toBe('string');
    expect(r.error).toMatch(why);
    await expectHealthy();
  });

  it('sees only plain ECMAScript globals', async () => {
    const code =
      'function g() { return ["process", "require", "fetch", "console", "setTimeout", "ArrayBuffer", "WebAssembly", "SharedArrayBuffer", "eval"].filter((k) => k in globalThis); }';
    expect(await runCodeTests(code, 'g', [{ args: [], expected: [] }])).toMatchObject({ passed: true });
  });
});

describe('the word "import"', () => {
  // Correct code that only mentions the word (defect 3: `/* no import needed */` used to fail it).
  const mentions = [
    '/* no import needed */ function add(a, b) { return a + b; }',
    '// import nothing\nfunction add(a, b) { return a + b; }',
    'function add(a, b) { const s = "import(\'fs\')"; return s.length ? a + b : 0; }',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code holds a template literal
    'function add(a, b) { const t = `import ${a}`; return t ? a + b : 0; }',
    'function add(a, b) { return /import\\(/.test("x") ? 0 : a + b; }',
    'function add(a, b) { const importance = a; const reimport = b; return importance + reimport; }',
    'const o = { import: (a, b) => a + b, [`imports`]: 1 }; function add(a, b) { return o.import(a, b); }',
    'class Loader { import(a, b) { return a + b; } } function add(a, b) { return new Loader().import(a, b); }',
  ];
  it.each(mentions)('passes %s', async (code) => {
    expect(await runCodeTests(code, 'add', ADD_TESTS)).toEqual({ passed: true, passedTests: 3 });
  });

  // Dynamic import in every spelling the grammar allows, including after `{} /`, where a
  // hand-written tokenizer would take `/ import(...) /` for a regular expression.
  const imports = [
    'async function add() { return import("fs"); }',
    'async function add() { return import ("fs"); }',
    'async function add() { return import/**/("fs"); }',
    'async function add() { return import\n("fs"); }',
    'function add() { const x = {} / import("fs") / 1; return x; }',
    'function add() { return [...import("fs")]; }',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code holds a template literal
    'function add() { return `${import("fs")}`; }',
    'function never() { return import("fs"); } function add(a, b) { return a + b; }',
  ];
  it.each(imports)('refuses %s', async (code) => {
    const r = await runCodeTests(code, 'add', ADD_TESTS);
    expect(r).toEqual({ passed: false, passedTests: 0, error: 'import is not available in the sandbox' });
  });

  it('refuses import.meta and static imports (they do not compile in a script)', async () => {
    expect((await runCodeTests('function add() { return import.meta.url; }', 'add', ADD_TESTS)).error).toMatch(/SyntaxError/);
    expect((await runCodeTests('import fs from "fs"; function add() {}', 'add', ADD_TESTS)).error).toMatch(/SyntaxError/);
  });

  it('a later candidate without import is run when the first one uses it', async () => {
    const r = await runCodeCandidates(['const fs = import("fs"); function add(a, b) { return a + b; }', GOOD], 'add', ADD_TESTS);
    expect(r).toEqual({ passed: true, passedTests: 3 });
  });
});

describe('code extraction', () => {
  it('strips markdown fences', () => {
    expect(stripFences('Here you go:\n```javascript\nfunction add(a, b) {\n  return a + b;\n}\n```\nDone.')).toBe(
      'function add(a, b) {\n  return a + b;\n}',
    );
    expect(stripFences('```\nfoo()\n```\n```js\nfunction add() {}\n```', 'add')).toBe('function add() {}');
    expect(stripFences('no fences')).toBe('no fences');
  });

  it('cuts trailing junk after the first top-level function (and the definitions right after it)', () => {
    expect(extractCode('function add(a, b) {\n  return a + b;\n}\n\nExplanation: it adds { things }.', 'add')).toBe(
      'function add(a, b) {\n  return a + b;\n}',
    );
    const src =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code holds a template literal
      'function add(a, b) {\n  const s = "}{";\n  const r = /\\}{2}/;\n  return `${a + b}` * 1; // }\n}\nfunction helper() { return 1; }\nconsole.log(add(1, 2));\n### Instruction';
    expect(extractCode(src, 'add')).toBe(src.slice(0, src.indexOf('\nconsole.log')));
    expect(extractCode('const add = (a, b) => {\n  return a + b;\n};\nadd(1, 2) // prints 3\nfoo', 'add')).toBe(
      'const add = (a, b) => {\n  return a + b;\n};',
    );
  });

  it('offers the code without a prose preamble and the whole text as fallbacks', () => {
    const out = "Here's the function:\nfunction add(a, b) { return a + b; }\nHope it helps!";
    const c = extractCodeCandidates(out, 'add');
    expect(c).toContain('function add(a, b) { return a + b; }');
    expect(c[c.length - 1]).toBe(out);
  });
});

describe('scoreCode / scoreOutput (code)', () => {
  const ref = { kind: 'code' as const, entry: 'add', tests: ADD_TESTS };

  it('scores a fenced generation with trailing junk as a pass', async () => {
    const output = 'Sure!\n```js\nfunction add(a, b) {\n  return a + b;\n}\nconsole.log(add(2, 3));\n```\nThis prints 5.';
    expect(await scoreCode(output, ref)).toBe(1);
    expect(await scoreOutput("Here's the function:\nfunction add(a, b) { return a + b; }\n\n### Instruction:\nWrite more", ref)).toBe(1);
  });

  it('scores wrong or hostile generations as 0', async () => {
    expect(await scoreOutput('function add(a, b) { return a - b; }', ref)).toBe(0);
    expect(await scoreOutput('function add(a, b) { while (true) {} }', ref, FAST)).toBe(0);
    expect(await scoreOutput('I do not know.', ref)).toBe(0);
  });
});
