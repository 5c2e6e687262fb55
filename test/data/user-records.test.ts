// A user's files as task records: the format from the keys, each format's reference and answer
// rule, bad records reported by line, and HumanEval-style JavaScript scored through the sandbox.
import { afterAll, describe, expect, it } from 'vitest';
import { completeTest, entryOf, formatOf, metricFor, parseUserRecords } from '../../src/data/user-records.js';
import { closeSandboxPool } from '../../src/eval/sandbox.js';
import { scoreOutput } from '../../src/eval/score.js';
import { dollyRecords, gsm8kRecords, humanevalJsRecords, toJsonl } from '../helpers/user-data.js';

afterAll(() => closeSandboxPool());

describe('user records', () => {
  it('recognises GSM8K, Dolly, HumanEval-style JS and anything else by the keys', () => {
    expect(formatOf(gsm8kRecords(1)[0]!)).toBe('gsm8k');
    expect(formatOf(dollyRecords(1)[0]!)).toBe('dolly');
    expect(formatOf(humanevalJsRecords(1)[0]!)).toBe('humaneval-js');
    expect(formatOf({ prompt: 'p', tests: 't' })).toBe('humaneval-js');
    expect(formatOf({ instruction: 'i', input: '', output: 'o' })).toBe('text');
    expect(formatOf({ text: 't' })).toBe('text');
  });

  it('GSM8K: the number after #### is the reference; the model learns "The answer is N."; bad lines are skipped by line', () => {
    const text = `${toJsonl(gsm8kRecords(2))}not json\n{"question": "q?", "answer": "no final"}\n{"question": "q?"}\n`;
    const r = parseUserRecords(text, 'g.jsonl');
    expect(r.format).toBe('gsm8k');
    expect(r.records.map((x) => x.reference)).toEqual([
      { kind: 'number', value: 5 },
      { kind: 'number', value: 11 },
    ]);
    expect(r.records[0]!.output).toBe('Sam has 3 + 2 = <<3+2=5>>5 pens.\nThe answer is 5.');
    expect(r.lines).toEqual([1, 2]);
    expect(r.skipped).toEqual([
      { line: 3, reason: 'invalid JSON' },
      { line: 4, reason: "field 'answer' does not end in a GSM8K final answer '#### <number>'" },
      { line: 5, reason: "missing field 'answer'" },
    ]);
  });

  it('Dolly: exact match for short answers, token F1 for longer ones, category from the field (or --by)', () => {
    const r = parseUserRecords(toJsonl(dollyRecords(3)), 'd.jsonl');
    expect(r.records.map((x) => [x.category, x.reference])).toEqual([
      ['open_qa', { kind: 'text', answers: ['red'], metric: 'exact' }],
      ['classification', { kind: 'text', answers: ['even'], metric: 'exact' }],
      ['brainstorming', { kind: 'text', answers: ['a map, a hat and some water'], metric: 'f1' }],
    ]);
    expect(r.records[1]!.input).toBe('The number is 2.');
    const byResponse = parseUserRecords(toJsonl(dollyRecords(2)), 'd.jsonl', { by: 'response' });
    expect(byResponse.records.map((x) => x.category)).toEqual(['red', 'even']);
  });

  it('a record of another format is skipped, naming it', () => {
    const text = toJsonl([...gsm8kRecords(1), ...dollyRecords(1)]);
    expect(parseUserRecords(text, 'g.jsonl').skipped[0]!.reason).toMatch(/^a dolly record in a gsm8k file/);
  });

  it('a file with no valid record is one error naming the file and the first lines', () => {
    expect(() => parseUserRecords('{"question": "q", "answer": "x"}\n', 'bad.jsonl')).toThrow(
      "bad.jsonl: no valid gsm8k records (1 skipped; line 1: field 'answer' does not end",
    );
  });

  it('HumanEval-style JS: the entry from entry_point or the prompt; check(candidate) tests get the call appended', () => {
    expect(entryOf('// x\nfunction helper(a) {}\nfunction below_zero(ops){\n')).toBe('below_zero');
    expect(entryOf('/* doc */\nconst sortEven = (l) => {\n')).toBe('sortEven');
    expect(entryOf('function f() {', 'g')).toBe('g');
    expect(() => entryOf('// nothing')).toThrow("no 'entry_point'");
    expect(() => entryOf('function f() {', 'a b')).toThrow("'entry_point' is not a JavaScript name");
    expect(completeTest('const check = (candidate) => { assert.ok(candidate(1)); };', 'f')).toBe(
      'const check = (candidate) => { assert.ok(candidate(1)); };\ncheck(f);\n',
    );
    const called = 'function check(candidate) {}\ncheck(f);';
    expect(completeTest(called, 'f')).toBe(called);
  });

  it('HumanEval-style JS: prompt + a right completion passes in the sandbox, a wrong one fails; MultiPL-E files train nothing', async () => {
    const [rec] = parseUserRecords(toJsonl(humanevalJsRecords(1)), 'h.jsonl').records;
    expect(rec!.prompt).toContain('function add_2(x) {');
    expect(await scoreOutput('  return x + 2;\n}\n\nSome trailing prose.', rec!.reference)).toBe(1);
    expect(await scoreOutput('  return x * 2;\n}\n', rec!.reference)).toBe(0);
    const multiplE = {
      name: 'HumanEval_0_f',
      prompt: 'function f(x){\n',
      tests: "const assert = require('node:assert');\nassert.deepEqual(f(1), 2);",
    };
    expect(parseUserRecords(toJsonl([multiplE]), 'm.jsonl').records[0]!.output).toBe('');
    expect(() => parseUserRecords(toJsonl([multiplE]), 'm.jsonl', { train: true })).toThrow("no 'canonical_solution' to train on");
  });

  it('HumanEval-X js as it ships (no entry_point, an arrow function, console.assert tests) scores through the sandbox', async () => {
    const rec = {
      task_id: 'JavaScript/1',
      prompt: '/* Return the sum of the list.\n  >>> sumList([1, 2])\n  3\n  */\nconst sumList = (numbers) => {\n',
      declaration: '\nconst sumList = (numbers) => {\n',
      canonical_solution: '  return numbers.reduce((a, b) => a + b, 0);\n}\n',
      test: 'const testSumList = () => {\n  console.assert(sumList([1, 2]) === 3)\n  console.assert(sumList([]) === 0)\n}\n\ntestSumList()\n',
      example_test: '',
    };
    const [r] = parseUserRecords(toJsonl([rec]), 'x.jsonl').records;
    expect(r!.reference).toMatchObject({ kind: 'script', entry: 'sumList' });
    expect(await scoreOutput(rec.canonical_solution, r!.reference)).toBe(1);
    expect(await scoreOutput('  return numbers.length;\n}\n', r!.reference)).toBe(0);
  });

  it('the metric follows the format; a metric the format cannot give is refused naming the file', () => {
    expect(metricFor('gsm8k', 'auto', 'f')).toBe('accuracy');
    expect(metricFor('humaneval-js', 'auto', 'f')).toBe('pass@1');
    expect(metricFor('dolly', 'loss', 'f')).toBe('loss');
    expect(metricFor('text', 'auto', 'f')).toBe('loss');
    expect(() => metricFor('dolly', 'pass@1', 'd.jsonl')).toThrow('d.jsonl: metric pass@1 needs HumanEval-style JavaScript');
  });
});
