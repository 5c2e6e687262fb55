import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataError,
  MAX_RECORD_DEPTH,
  describeSkipped,
  formatInstruction,
  loadExamples,
  parseExamples,
  parseRawRecords,
} from '../../src/data/records.js';
import { deepJson, expectCleanError } from '../bounded.js';

const WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n### Instruction:\nSum\n\n### Input:\n1 2\n\n### Response:\n';
const NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\nSay hi\n\n### Response:\n';

const jsonl = (...recs: unknown[]) => recs.map((r) => JSON.stringify(r)).join('\n');

describe('template', () => {
  it('renders the Alpaca prompt with and without input', () => {
    expect(formatInstruction('Sum', '1 2')).toBe(WITH_INPUT);
    expect(formatInstruction('Say hi')).toBe(NO_INPUT);
    expect(formatInstruction('Say hi', '  ')).toBe(NO_INPUT);
  });
  it('does not interpret $ patterns in the data', () => {
    expect(formatInstruction("$& $' $1", '$$')).toContain("### Instruction:\n$& $' $1\n\n### Input:\n$$\n");
  });
});

describe('parseExamples', () => {
  it('normalises every record kind', () => {
    const text = jsonl(
      { text: 'plain text' },
      { instruction: 'Sum', input: '1 2', output: '3' },
      { instruction: 'Say hi', input: '', output: 'hi' },
      { instruction: 'Say hi', context: '', response: 'hello', category: 'open_qa' },
      { instruction: 'Sum', context: '1 2', response: '3', category: 'closed_qa' },
      { question: 'What is 2+2?', answer: '4\n#### 4' },
      { prompt: 'Q: x\nA:', completion: ' y', label: 7 },
    );
    const { examples, skipped } = parseExamples(text, 'mixed.jsonl');
    expect(skipped).toEqual([]);
    expect(examples).toEqual([
      { prompt: '', target: 'plain text', meta: {} },
      { prompt: WITH_INPUT, target: '3', meta: {} },
      { prompt: NO_INPUT, target: 'hi', meta: {} },
      { prompt: NO_INPUT, target: 'hello', meta: { category: 'open_qa' } },
      { prompt: WITH_INPUT, target: '3', meta: { category: 'closed_qa' } },
      { prompt: NO_INPUT.replace('Say hi', 'What is 2+2?'), target: '4\n#### 4', meta: {} },
      { prompt: 'Q: x\nA:', target: ' y', meta: { category: '7' } },
    ]);
  });

  it('prefers instruction fields over a pre-formatted text field', () => {
    const { examples } = parseExamples(jsonl({ instruction: 'Say hi', output: 'hi', text: 'ignored' }), 'a.jsonl');
    expect(examples[0]).toEqual({ prompt: NO_INPUT, target: 'hi', meta: {} });
  });

  it('skips and reports bad lines with 1-based line numbers', () => {
    const lines = [
      JSON.stringify({ text: 'ok' }), // 1
      '{"text": "unterminated', // 2
      '', // 3: blank, ignored silently
      JSON.stringify({ instruction: 'Do it' }), // 4
      JSON.stringify({ instruction: 'Do it', context: '', response: '   ' }), // 5
      JSON.stringify([1, 2]), // 6
      JSON.stringify({ instruction: 5, output: 'x' }), // 7
      JSON.stringify({ question: 'q' }), // 8
      JSON.stringify({ foo: 'bar' }), // 9
      JSON.stringify({ text: 'ok', category: { a: 1 } }), // 10
      JSON.stringify({ instruction: 'Sum', input: '1 2', output: '3' }), // 11
    ];
    const result = parseExamples(lines.join('\r\n'), 'data.jsonl');
    expect(result.examples).toHaveLength(2);
    expect(result.skipped.map((s) => s.line)).toEqual([2, 4, 5, 6, 7, 8, 9, 10]);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.line, s.reason]));
    expect(reasons[2]).toBe('invalid JSON');
    expect(reasons[4]).toMatch(/missing field 'output'/);
    expect(reasons[5]).toMatch(/field 'response' is empty/);
    expect(reasons[6]).toMatch(/must be a JSON object, got array/);
    expect(reasons[7]).toMatch(/'instruction' must be a string, got number/);
    expect(reasons[8]).toMatch(/missing field 'answer'/);
    expect(reasons[9]).toMatch(/unrecognised record/);
    expect(reasons[10]).toMatch(/'category' must be a string/);
    expect(describeSkipped(result)[0]).toBe('data.jsonl:2: invalid JSON');
  });

  it('reads a JSON array file and reports elements by their starting line', () => {
    const text = `[
  {"instruction": "Sum", "input": "1 2", "output": "3"},
  {"instruction": "Say hi", "output": ""},
  {
    "question": "What is 2+2?",
    "answer": "4"
  },
  "not an object"
]`;
    const { examples, skipped } = parseExamples(text, 'data.json');
    expect(examples.map((e) => e.target)).toEqual(['3', '4']);
    expect(skipped).toEqual([
      { line: 3, reason: "field 'output' is empty" },
      { line: 8, reason: 'record must be a JSON object, got string' },
    ]);
  });

  it('rejects an empty file, a file with no valid record and a broken array file, naming the file', () => {
    expect(() => parseExamples('', 'empty.jsonl')).toThrow(DataError);
    expect(() => parseExamples('\n  \n', 'empty.jsonl')).toThrow(/empty\.jsonl: no valid training records \(file is empty\)/);
    expect(() => parseExamples('[]', 'empty.json')).toThrow(/empty\.json: no valid training records/);
    expect(() => parseExamples('nope\n{"foo":1}', 'bad.jsonl')).toThrow(/bad\.jsonl: .*2 skipped; line 1: invalid JSON/);
    expect(() => parseExamples('[{"text": "a"},', 'broken.json')).toThrow(/broken\.json: invalid JSON array file/);
  });
});

describe('deeply nested records', () => {
  // A record nested 100,000 levels deep: JSON.parse reads it (V8's parser is iterative), but
  // copying it (JSON.stringify) overflowed the stack and killed the whole JSON-array file.
  const deep = `{"text": "deep", "extra": ${deepJson(100_000)}}`;
  const reason = `record nests arrays/objects more than ${MAX_RECORD_DEPTH} levels deep`;

  it('is reported and skipped the same way in a JSON array file and in JSONL (was: stack overflow for the array)', async () => {
    const arrayText = `[\n{"text": "a"},\n${deep},\n{"text": "b"}\n]`;
    const jsonlText = `{"text": "a"}\n${deep}\n{"text": "b"}\n`;
    for (const [text, file, line] of [
      [arrayText, 'data.json', 3],
      [jsonlText, 'data.jsonl', 2],
    ] as const) {
      const started = performance.now();
      const result = parseExamples(text, file);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(result.examples.map((e) => e.target)).toEqual(['a', 'b']);
      expect(describeSkipped(result)).toEqual([`${file}:${line}: ${reason}`]);
    }
  });

  it('keeps records nested as deep as the limit, and copies them for data split', () => {
    const ok = `{"text": "ok", "extra": ${deepJson(MAX_RECORD_DEPTH - 1)}}`;
    const { records, skipped } = parseRawRecords(`[${ok}]`, 'x.json');
    expect(skipped).toEqual([]);
    expect(JSON.parse(records[0]!.text)).toEqual(JSON.parse(ok));
    expect(parseRawRecords(`[${ok.replace('"extra": ', '"extra": [').replace(/\}$/, ']}')}, {"text": "b"}]`, 'x.json').skipped).toEqual([
      { line: 1, reason },
    ]);
  });

  it('a data file that is a FIFO or /dev/zero is refused at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-records-hostile-'));
    try {
      const fifo = join(dir, 'data.jsonl');
      execFileSync('mkfifo', [fifo]);
      await expectCleanError(() => loadExamples(fifo), [`${fifo}: not a regular file`], { ms: 5000 });
      const zero = join(dir, 'zero.jsonl');
      await symlink('/dev/zero', zero);
      await expectCleanError(() => loadExamples(zero), [`${zero}: not a regular file`], { ms: 5000, peakRiseMb: 100 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loadExamples', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-records-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads JSONL and JSON array files from disk', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.json');
    await writeFile(a, `\uFEFF${jsonl({ text: 'x' }, { prompt: 'p', completion: 'c' })}\n`);
    await writeFile(b, JSON.stringify([{ text: 'y' }], null, 2));
    const ra = await loadExamples(a);
    expect(ra.file).toBe(a);
    expect(ra.examples.map((e) => e.target)).toEqual(['x', 'c']);
    expect((await loadExamples(b)).examples).toEqual([{ prompt: '', target: 'y', meta: {} }]);
  });

  it('names the file when it is empty', async () => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    await expect(loadExamples(empty)).rejects.toThrow(empty);
  });
});
