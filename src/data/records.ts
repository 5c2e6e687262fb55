// Training data records: JSONL (one object per line) or a JSON array file, normalised to
// prompt/target pairs. Plain `{text}` records train on every token (prompt = ''); instruction
// records (Alpaca/CodeAlpaca, Dolly, GSM8K) go through one Alpaca-style template; generic
// `{prompt, completion}` records are used verbatim. Bad records are skipped and reported, the same
// way in both layouts (a record too deeply nested included).
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { nestedDeeperThan } from '../engine/json.js';

/**
 * Data files: 256 MiB (Alpaca is 22 MB, Dolly 13 MB, GSM8K 5 MB; the text must also fit one V8
 * string, at most ~512M characters).
 */
export const MAX_DATA_FILE_BYTES = 256 * 2 ** 20;

/**
 * Deepest nesting of arrays/objects in one record. Real records nest 1-4 levels (chat messages);
 * a deeper one would overflow the stack where it is copied (JSON.stringify), so it is skipped.
 */
export const MAX_RECORD_DEPTH = 64;

export interface Example {
  prompt: string;
  target: string;
  meta: Record<string, string>;
}

/** A skipped record: 1-based line of the JSONL line (or of the element's start in a JSON array). */
export interface Skipped {
  line: number;
  reason: string;
}

export interface ParseResult {
  file: string;
  examples: Example[];
  skipped: Skipped[];
}

export class DataError extends UserError {
  override name = 'DataError';
}

const PROMPT_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
const PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

/** The Alpaca prompt; an absent or blank input selects the no-input variant. */
export function formatInstruction(instruction: string, input?: string): string {
  // Function replacers: '$' sequences in the data must not be treated as patterns.
  if (input === undefined || input.trim() === '') return PROMPT_NO_INPUT.replace('{instruction}', () => instruction);
  return PROMPT_WITH_INPUT.replace('{instruction}', () => instruction).replace('{input}', () => input);
}

type Json = Record<string, unknown>;

/** A required non-blank string field (throws the skip reason). */
function required(rec: Json, key: string): string {
  const v = rec[key];
  if (v === undefined || v === null) throw new Error(`missing field '${key}'`);
  if (typeof v !== 'string') throw new Error(`field '${key}' must be a string, got ${typeName(v)}`);
  if (v.trim() === '') throw new Error(`field '${key}' is empty`);
  return v;
}

/** An optional string field (null/absent -> undefined). */
function optional(rec: Json, key: string): string | undefined {
  const v = rec[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`field '${key}' must be a string, got ${typeName(v)}`);
  return v;
}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** meta.category from `category`, else `label` (numbers and booleans are stringified). */
function meta(rec: Json): Record<string, string> {
  for (const key of ['category', 'label']) {
    const v = rec[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { category: String(v) };
    throw new Error(`field '${key}' must be a string, got ${typeName(v)}`);
  }
  return {};
}

/** Normalise one parsed JSON value; throws an Error whose message is the skip reason. */
export function toExample(value: unknown): Example {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`record must be a JSON object, got ${typeName(value)}`);
  }
  const rec = value as Json;
  // Instruction keys take precedence: Alpaca dumps often carry a pre-formatted `text` as well.
  if ('instruction' in rec) {
    const instruction = required(rec, 'instruction');
    const targetKey = rec.output != null ? 'output' : rec.response != null ? 'response' : undefined;
    if (!targetKey) throw new Error(`missing field 'output' (or 'response')`);
    const target = required(rec, targetKey);
    const input = 'input' in rec ? optional(rec, 'input') : optional(rec, 'context');
    return { prompt: formatInstruction(instruction, input), target, meta: meta(rec) };
  }
  if ('question' in rec) {
    return { prompt: formatInstruction(required(rec, 'question')), target: required(rec, 'answer'), meta: meta(rec) };
  }
  if ('prompt' in rec) {
    return { prompt: required(rec, 'prompt'), target: required(rec, 'completion'), meta: meta(rec) };
  }
  if ('text' in rec) return { prompt: '', target: required(rec, 'text'), meta: meta(rec) };
  const keys = Object.keys(rec).slice(0, 5).join(', ');
  throw new Error(`unrecognised record (keys: ${keys || 'none'}); expected text, instruction, question or prompt`);
}

/** 1-based line on which each top-level element of a (valid) JSON array starts. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectElement = false;
  for (const ch of text) {
    if (ch === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (expectElement && ch.trim() !== '' && ch !== ']') {
      lines.push(line);
      expectElement = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expectElement = true;
  }
  return lines;
}

/** A JSON object read from a data file, with the line it starts on and its text. */
export interface RawRecord {
  line: number;
  value: Record<string, unknown>;
  text: string;
}

/**
 * The JSON objects of a JSONL or JSON-array text. Lines that are not JSON, or not objects, are
 * skipped and reported by line; throws DataError (naming `file` and `what`) if none is valid.
 */
export function parseRawRecords(text: string, file: string, what = 'records'): { records: RawRecord[]; skipped: Skipped[] } {
  const records: RawRecord[] = [];
  const skipped: Skipped[] = [];
  // `raw` gives the record's text (JSONL: the line as written), called only for a record kept.
  const add = (line: number, value: unknown, raw: () => string) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      skipped.push({ line, reason: `record must be a JSON object, got ${typeName(value)}` });
    } else if (nestedDeeperThan(value, MAX_RECORD_DEPTH)) {
      skipped.push({ line, reason: `record nests arrays/objects more than ${MAX_RECORD_DEPTH} levels deep` });
    } else records.push({ line, value: value as Record<string, unknown>, text: raw() });
  };
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('[')) {
    let items: unknown;
    try {
      items = JSON.parse(body);
    } catch (e) {
      throw new DataError(`${file}: invalid JSON array file: ${(e as Error).message}`);
    }
    if (!Array.isArray(items)) throw new DataError(`${file}: expected a JSON array`);
    const lines = elementLines(body);
    items.forEach((item, i) => {
      add(lines[i] ?? 1, item, () => JSON.stringify(item));
    });
  } else {
    body.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        skipped.push({ line: i + 1, reason: 'invalid JSON' });
        return;
      }
      add(i + 1, value, () => line);
    });
  }
  if (records.length === 0) throw noValid(file, what, skipped);
  return { records, skipped };
}

function noValid(file: string, what: string, skipped: Skipped[]): DataError {
  const first = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`);
  const detail = skipped.length ? ` (${skipped.length} skipped; ${first.join('; ')})` : ' (file is empty)';
  return new DataError(`${file}: no valid ${what}${detail}`);
}

/** Parse a JSONL or JSON-array text; `file` names it in errors. Throws DataError if nothing is valid. */
export function parseExamples(text: string, file: string): ParseResult {
  const raw = parseRawRecords(text, file, 'training records');
  const examples: Example[] = [];
  const skipped = [...raw.skipped];
  for (const r of raw.records) {
    try {
      examples.push(toExample(r.value));
    } catch (e) {
      skipped.push({ line: r.line, reason: (e as Error).message });
    }
  }
  skipped.sort((a, b) => a.line - b.line);
  if (examples.length === 0) throw noValid(file, 'training records', skipped);
  return { file, examples, skipped };
}

/** Read and parse a training data file (JSONL or JSON array; a regular file of at most MAX_DATA_FILE_BYTES). */
export async function loadExamples(path: string): Promise<ParseResult> {
  return parseExamples(await readRegularText(path, { maxBytes: MAX_DATA_FILE_BYTES }), path);
}

/** Human-readable "file:line: reason" lines for the skipped records of a result. */
export function describeSkipped(result: ParseResult): string[] {
  return result.skipped.map((s) => `${result.file}:${s.line}: ${s.reason}`);
}

/**
 * The label of a record: the field `by` (or, if absent and `by` has dots, the nested path),
 * stringified if a number or boolean. Missing, null and blank values give undefined; objects and
 * arrays give an Error.
 */
export function fieldLabel(rec: Record<string, unknown>, by: string): string | undefined | Error {
  let v: unknown = rec[by];
  if (!Object.hasOwn(rec, by) && by.includes('.')) {
    v = rec;
    for (const part of by.split('.')) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, part)) {
        v = undefined;
        break;
      }
      v = (v as Record<string, unknown>)[part];
    }
  } else if (!Object.hasOwn(rec, by)) v = undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return new Error(`field '${by}' must be a string, number or boolean, got ${typeName(v)}`);
}
