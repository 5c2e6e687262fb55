// Scoring a model, optionally with a LoRA adapter, on a built-in task's split: what `fedhpo eval`,
// the demo and bench/tasks.ts run. It lives in fl because it joins an adapter (peft) to an
// evaluation (eval), two layers that never import each other.
import { loadTask } from '../data/tasks/index.js';
import type { TaskSplit } from '../data/tasks/types.js';
import { UserError } from '../engine/errors.js';
import { EVAL_DEFAULTS, evaluateRecords, type EvalReport } from '../eval/evaluate.js';
import { withModel, type ModelSource } from '../model/source.js';
import type { Adapter } from '../peft/adapter.js';
import { loadAdapter } from '../peft/methods.js';

export interface EvalTaskOptions {
  /** The base model: a directory (loaded on a new or a given engine), or a model already loaded. */
  model: ModelSource;
  /** A LoRA adapter: its directory (PEFT layout) or an adapter in memory. */
  adapter?: string | Adapter | undefined;
  /** A built-in task name (see TASK_NAMES). */
  task: string;
  /** Default EVAL_DEFAULTS.split (test). */
  split?: TaskSplit;
  /** Score the first N samples only. */
  limit?: number | undefined;
  batchSize?: number;
  maxNewTokens?: number;
  /** The task generator's seed (default EVAL_DEFAULTS.seed). */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function evalTask(o: EvalTaskOptions): Promise<EvalReport> {
  const { batchSize, maxNewTokens } = evalSizes(o);
  const records = loadTask(o.task, o.seed ?? EVAL_DEFAULTS.seed)[o.split ?? EVAL_DEFAULTS.split];
  return withModel(o.model, async ({ model, tokenizer }) => {
    const adapter = typeof o.adapter === 'string' ? await loadAdapter(o.adapter, model.cfg) : o.adapter;
    return evaluateRecords(model, tokenizer, records, {
      batchSize,
      maxNewTokens,
      ...(o.limit ? { limit: o.limit } : {}),
      ...(adapter ? { adapter: adapter.inference() } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
  });
}

/** Batch size and new-token limit with their defaults, and the sample limit, checked (eval of a task or a file). */
export function evalSizes(o: { batchSize?: number; maxNewTokens?: number; limit?: number | undefined }): {
  batchSize: number;
  maxNewTokens: number;
} {
  const batchSize = o.batchSize ?? EVAL_DEFAULTS.batchSize;
  const maxNewTokens = o.maxNewTokens ?? EVAL_DEFAULTS.maxNewTokens;
  for (const [k, v] of [
    ['batchSize', batchSize],
    ['maxNewTokens', maxNewTokens],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${k}: expected a positive integer, got ${v}`);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1))
    throw new UserError(`limit: expected a positive integer, got ${o.limit}`);
  return { batchSize, maxNewTokens };
}
