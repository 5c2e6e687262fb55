// Scoring a model, optionally with a LoRA adapter, on a user's data file: what `fedhpo eval --data`
// runs. The metric follows the file's format (src/data/user-records.ts): accuracy (GSM8K), EM/F1
// (Dolly), pass@1 of the file's JavaScript tests in the sandbox (HumanEval-style), else loss and
// token accuracy. Lives in fl for the same reason as eval-task.ts (adapter + evaluation).
import { MAX_DATA_FILE_BYTES } from '../data/records.js';
import type { TaskRecord } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { type Metric, type MetricChoice, metricFor, parseUserRecords, type UserFormat } from '../data/user-records.js';
import { DataError } from '../data/records.js';
import { readRegularText } from '../engine/files.js';
import { type EvalOptions, type EvalReport, evaluateRecords } from '../eval/evaluate.js';
import { evaluateTokenAccuracy } from '../eval/token-accuracy.js';
import type { LlamaModel } from '../model/model.js';
import { withModel, type ModelSource } from '../model/source.js';
import type { Adapter } from '../peft/adapter.js';
import { loadAdapter } from '../peft/methods.js';
import { evalSizes } from './eval-task.js';

export interface UserEvalData {
  file: string;
  format: UserFormat;
  metric: Metric;
  records: TaskRecord[];
  /** "file:line: reason" of every record left out. */
  skipped: string[];
}

/** Reads a user's file for scoring with `metric` (auto: the format's). */
export async function loadEvalFile(file: string, metric: MetricChoice = 'auto', by?: string): Promise<UserEvalData> {
  const text = await readRegularText(file, { maxBytes: MAX_DATA_FILE_BYTES });
  const parsed = parseUserRecords(text, file, { by });
  const m = metricFor(parsed.format, metric, file);
  const skipped = parsed.skipped.map((s) => `${file}:${s.line}: ${s.reason}`);
  let records = parsed.records;
  if (m === 'loss') {
    // Loss needs a reference answer (a code benchmark may ship tests only).
    records = [];
    parsed.records.forEach((r, i) => {
      if (r.output !== '') records.push(r);
      else skipped.push(`${file}:${parsed.lines[i]}: no reference answer for the loss`);
    });
    if (!records.length) throw new DataError(`${file}: no record has a reference answer to compute a loss on`);
  }
  return { file, format: parsed.format, metric: m, records, skipped };
}

/** Scores records with their metric: 'loss' is loss and token accuracy, anything else generation + each record's score. */
export function evaluateUserRecords(
  model: LlamaModel,
  tok: Tokenizer,
  data: { metric: Metric | 'auto-by-record'; records: TaskRecord[] },
  o: EvalOptions,
): Promise<EvalReport> {
  return data.metric === 'loss' ? evaluateTokenAccuracy(model, tok, data.records, o) : evaluateRecords(model, tok, data.records, o);
}

export interface EvalFileOptions {
  model: ModelSource;
  adapter?: string | Adapter | undefined;
  file: string;
  metric?: MetricChoice;
  /** Report scores per value of this field (default: category, when present). */
  by?: string | undefined;
  limit?: number | undefined;
  batchSize?: number;
  maxNewTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalFileReport extends EvalReport {
  file: string;
  format: UserFormat;
  metric: Metric;
  skipped: string[];
}

export async function evalFile(o: EvalFileOptions): Promise<EvalFileReport> {
  const { batchSize, maxNewTokens } = evalSizes(o);
  const data = await loadEvalFile(o.file, o.metric ?? 'auto', o.by);
  const report = await withModel(o.model, async ({ model, tokenizer }) => {
    const adapter = typeof o.adapter === 'string' ? await loadAdapter(o.adapter, model.cfg) : o.adapter;
    return evaluateUserRecords(model, tokenizer, data, {
      batchSize,
      maxNewTokens,
      ...(o.limit ? { limit: o.limit } : {}),
      ...(adapter ? { adapter: adapter.inference() } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
  });
  return { ...report, file: o.file, format: data.format, metric: data.metric, skipped: data.skipped };
}
