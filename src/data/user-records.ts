// A user's own data file as task records, scored like the built-in task of the same kind. The
// file's format is recognised from its first record's keys (every record must then be of it):
//  - gsm8k: {question, answer}, the answer ending in `#### <number>` (GSM8K's layout). The model
//    learns the answer with `####` spelt "The answer is" (FederatedScope-LLM's preprocessing), and
//    is scored by the reference's rule (src/eval/extract.ts): accuracy of the number after "the
//    answer is", else the last number, against the number after `####`.
//  - dolly: {instruction, context?, response, category?} (databricks-dolly-15k): EM/F1 like the
//    instruct task (HELM-like): exact match for short answers (at most SHORT_ANSWER_WORDS words),
//    token F1 for longer ones; per category when the field exists.
//  - humaneval-js: {prompt, test | tests, entry_point?, canonical_solution?}: JavaScript HumanEval
//    translations (MultiPL-E humaneval-js ships `tests`, HumanEval-X js and OpenAI-style files
//    `test`): generation continues the prompt and the program is prompt + generation, scored by
//    pass@1 of the record's test code in the sandbox. A test that only defines `check(candidate)`
//    (HumanEval's layout) gets `check(<entry>)` appended, as HumanEval's harness does.
//  - text: anything else src/data/records.ts reads ({text}, {prompt, completion}, Alpaca): loss
//    and token accuracy only.
// Bad records are skipped with their line; the rest are used.
import { DataError, fieldLabel, parseRawRecords, type RawRecord, type Skipped, toExample, typeName } from './records.js';
import type { TaskRecord } from './tasks/types.js';

export const USER_FORMATS = ['gsm8k', 'dolly', 'humaneval-js', 'text'] as const;
export type UserFormat = (typeof USER_FORMATS)[number];

/** What each format is scored by; `loss` (with token accuracy) applies to every format. */
export const METRICS = ['auto', 'accuracy', 'em-f1', 'pass@1', 'loss'] as const;
export type MetricChoice = (typeof METRICS)[number];
export type Metric = Exclude<MetricChoice, 'auto'>;
export const FORMAT_METRIC: Record<UserFormat, Metric> = { gsm8k: 'accuracy', dolly: 'em-f1', 'humaneval-js': 'pass@1', text: 'loss' };

/** Dolly answers of at most this many words are scored by exact match, longer ones by token F1. */
export const SHORT_ANSWER_WORDS = 3;

/** The format a record's keys say it is in. */
export function formatOf(value: Record<string, unknown>): UserFormat {
  if ('question' in value && 'answer' in value) return 'gsm8k';
  if ('instruction' in value && 'response' in value && !('output' in value)) return 'dolly';
  if ('prompt' in value && ('test' in value || 'tests' in value)) return 'humaneval-js';
  return 'text';
}

type Json = Record<string, unknown>;

function str(rec: Json, key: string, optional = false): string | undefined {
  const v = rec[key];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new Error(`missing field '${key}'`);
  }
  if (typeof v !== 'string') throw new Error(`field '${key}' must be a string, got ${typeName(v)}`);
  if (!optional && v.trim() === '') throw new Error(`field '${key}' is empty`);
  return v;
}

/** GSM8K's final answer line: `#### 1,234`. */
const FINAL_ANSWER = /####\s*([-+]?[\d,]*\.?\d+)\s*$/;

function gsm8k(rec: Json): Pick<TaskRecord, 'instruction' | 'output' | 'reference'> {
  const question = str(rec, 'question')!;
  const answer = str(rec, 'answer')!;
  const m = FINAL_ANSWER.exec(answer);
  if (!m) throw new Error("field 'answer' does not end in a GSM8K final answer '#### <number>'");
  const value = Number(m[1]!.replace(/,/g, ''));
  if (!Number.isFinite(value)) throw new Error(`field 'answer': '#### ${m[1]}' is not a number`);
  return {
    instruction: question,
    output: `${answer.slice(0, m.index).trimEnd()}\nThe answer is ${m[1]}.`.trimStart(),
    reference: { kind: 'number', value },
  };
}

function dolly(rec: Json): Pick<TaskRecord, 'instruction' | 'input' | 'output' | 'reference'> {
  const instruction = str(rec, 'instruction')!;
  const context = str(rec, 'context', true);
  const response = str(rec, 'response')!;
  const words = response.trim().split(/\s+/).length;
  return {
    instruction,
    ...(context?.trim() ? { input: context } : {}),
    output: response,
    reference: { kind: 'text', answers: [response], metric: words <= SHORT_ANSWER_WORDS ? 'exact' : 'f1' },
  };
}

const IDENT = '[A-Za-z_$][\\w$]*';
/** The last definition in a prompt: `function name(`, `const name = (...) =>` or `const name = function`. */
const DEFINITION = new RegExp(`(?:function\\s*\\*?\\s*(${IDENT})\\s*\\(|(?:const|let|var)\\s+(${IDENT})\\s*=)`, 'g');

/** The function a HumanEval-style prompt asks for: `entry_point`, else its last definition. */
export function entryOf(prompt: string, entryPoint?: string): string {
  if (entryPoint !== undefined) {
    if (!new RegExp(`^${IDENT}$`).test(entryPoint))
      throw new Error(`field 'entry_point' is not a JavaScript name: ${JSON.stringify(entryPoint)}`);
    return entryPoint;
  }
  const names = [...prompt.matchAll(DEFINITION)].map((m) => m[1] ?? m[2]!);
  if (!names.length) throw new Error("no 'entry_point' and no function definition in 'prompt'");
  return names.at(-1)!;
}

/** HumanEval's layout: the test defines check(candidate) and the harness calls it with the entry. */
export function completeTest(test: string, entry: string): string {
  const definesCheck = /\bfunction\s+check\s*\(|\b(?:const|let|var)\s+check\s*=/.test(test);
  const callsCheck = /^\s*check\s*\(/m.test(test);
  return definesCheck && !callsCheck ? `${test}\ncheck(${entry});\n` : test;
}

function humanevalJs(rec: Json): Pick<TaskRecord, 'instruction' | 'prompt' | 'output' | 'reference'> {
  const prompt = str(rec, 'prompt')!;
  const testKey = 'test' in rec ? 'test' : 'tests';
  const test = str(rec, testKey)!;
  const entry = entryOf(prompt, str(rec, 'entry_point', true));
  return {
    instruction: '',
    prompt,
    // Files that ship no solution (MultiPL-E) can be scored but not trained on (see userTrainRecord).
    output: str(rec, 'canonical_solution', true) ?? '',
    reference: { kind: 'script', entry, test: completeTest(test, entry), prefix: prompt },
  };
}

function text(rec: Json): Pick<TaskRecord, 'instruction' | 'prompt' | 'output' | 'reference'> {
  const ex = toExample(rec);
  return { instruction: '', prompt: ex.prompt, output: ex.target, reference: { kind: 'none' } };
}

/**
 * The category of a record: the field `by` when given, else `category` (or `label`) when present,
 * else 'all'. A value that is not a string, number or boolean is a bad record.
 */
function categoryOf(rec: Json, by: string | undefined): string {
  for (const key of by === undefined ? ['category', 'label'] : [by]) {
    const l = fieldLabel(rec, key);
    if (l instanceof Error) throw l;
    if (l !== undefined) return l;
  }
  return by === undefined ? 'all' : '(missing)';
}

/** One record of a file in `format` as a task record; throws an Error whose message is the skip reason. */
export function userRecord(value: Json, format: UserFormat, by?: string): TaskRecord {
  const found = formatOf(value);
  // A record of another known format is refused; one missing a field is read as this format (the missing field is named).
  if (found !== format && found !== 'text')
    throw new Error(`a ${found} record in a ${format} file (keys: ${Object.keys(value).slice(0, 6).join(', ')})`);
  const body =
    format === 'gsm8k' ? gsm8k(value) : format === 'dolly' ? dolly(value) : format === 'humaneval-js' ? humanevalJs(value) : text(value);
  return { ...body, category: categoryOf(value, by) };
}

export interface UserRecords {
  file: string;
  format: UserFormat;
  records: TaskRecord[];
  /** The 1-based line of each record (records[i] starts on lines[i]). */
  lines: number[];
  skipped: Skipped[];
}

export interface UserRecordOptions {
  /** Field whose value is a record's category (reported per category); default category/label. */
  by?: string | undefined;
  /** Keep only records that have a reference answer to train on (skip the others with a reason). */
  train?: boolean;
}

/** Parses a JSONL/JSON-array text of user records; throws DataError (naming the file) when none is valid. */
export function parseUserRecords(text: string, file: string, o: UserRecordOptions = {}): UserRecords {
  const raw = parseRawRecords(text, file);
  const format = formatOf(raw.records[0]!.value);
  const records: TaskRecord[] = [];
  const lines: number[] = [];
  const skipped = [...raw.skipped];
  const take = (r: RawRecord): void => {
    try {
      const rec = userRecord(r.value, format, o.by);
      if (o.train && rec.output === '') throw new Error("no 'canonical_solution' to train on");
      records.push(rec);
      lines.push(r.line);
    } catch (e) {
      skipped.push({ line: r.line, reason: (e as Error).message });
    }
  };
  for (const r of raw.records) take(r);
  skipped.sort((a, b) => a.line - b.line);
  if (!records.length) {
    const first = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`);
    // A text-format file is training records as `fedhpo train` reads them.
    throw new DataError(
      `${file}: no valid ${format === 'text' ? 'training' : format} records (${skipped.length} skipped; ${first.join('; ')})`,
    );
  }
  // A `by` field that no record has is a typo (every score would land in one '(missing)' group).
  if (o.by !== undefined && records.every((r) => r.category === '(missing)'))
    throw new DataError(`${file}: no record has a field '${o.by}' to report the scores by`);
  return { file, format, records, lines, skipped };
}

/** The metric a file is scored by: its format's, or `choice` when the format allows it. */
export function metricFor(format: UserFormat, choice: MetricChoice, where: string): Metric {
  if (choice === 'auto' || choice === 'loss') return choice === 'loss' ? 'loss' : FORMAT_METRIC[format];
  if (FORMAT_METRIC[format] !== choice)
    throw new DataError(
      `${where}: metric ${choice} needs ${METRIC_FORMAT[choice]} records, but the file is ${format}-format (use ${FORMAT_METRIC[format] === 'loss' ? 'loss' : `${FORMAT_METRIC[format]}, loss`} or auto)`,
    );
  return choice;
}

const METRIC_FORMAT: Record<Exclude<Metric, 'loss'>, string> = {
  accuracy: 'GSM8K-format (question, answer)',
  'em-f1': 'Dolly-format (instruction, context, response)',
  'pass@1': 'HumanEval-style JavaScript (prompt, test)',
};
