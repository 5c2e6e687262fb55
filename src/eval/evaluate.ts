// Task evaluation: validation loss on the reference answers, then greedy generation with the KV
// cache and the task's score per sample (accuracy, pass@1, EM/F1), overall and per category.
import { encodeExample, makeBatches } from '../data/batching.js';
import { promptOf } from '../data/tasks/prompt.js';
import { UserError } from '../engine/errors.js';
import type { TaskRecord } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { CostMeter, type CostReport } from '../engine/costs.js';
import type { AdapterFeeds, LlamaModel } from '../model/model.js';
import { DEFAULT_THREADS } from '../model/source.js';
import { scoreOutput } from './score.js';

/**
 * The evaluation defaults: of evaluateRecords (batch size, new tokens, loss window) and of a task
 * evaluation (split, task generator seed, engine threads), for `fedhpo eval`, the demo and
 * bench/tasks.ts alike, so their scores compare.
 */
export const EVAL_DEFAULTS = { split: 'test', threads: DEFAULT_THREADS, batchSize: 16, maxNewTokens: 96, seqLen: 256, seed: 0 } as const;

export interface EvalOptions {
  adapter?: AdapterFeeds;
  /** Evaluate the first N records only. */
  limit?: number;
  batchSize?: number;
  maxNewTokens?: number;
  /** Longest prompt+answer for the loss pass (longer ones are cut). */
  seqLen?: number;
  /** Called after each generation batch with the samples done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface SampleResult {
  index: number;
  category: string;
  /** The answer scored: the stub given to the model (if any) followed by its generation. */
  output: string;
  score: number;
}

export interface EvalReport {
  samples: number;
  /** Mean score in [0, 1]. */
  score: number;
  byCategory: Record<string, { samples: number; score: number }>;
  /** Mean loss over the reference answers' tokens (NaN when no record has a reference answer). */
  loss: number;
  generatedTokens: number;
  generationTokensPerSecond: number;
  costs: CostReport;
  results: SampleResult[];
}

export { promptOf };

/** The start of the answer the model is given (a code exercise's signature line), else ''. */
export function answerStubOf(r: TaskRecord): string {
  return r.reference.kind === 'code' ? (r.reference.stub ?? '') : '';
}

export async function evaluateRecords(model: LlamaModel, tok: Tokenizer, records: TaskRecord[], o: EvalOptions = {}): Promise<EvalReport> {
  const items = records.slice(0, o.limit ?? records.length);
  if (!items.length) throw new Error('evaluate: no records');
  // The report's own meter, passed with every call: other users of the model are not counted.
  const meter = new CostMeter();
  const batchSize = o.batchSize ?? EVAL_DEFAULTS.batchSize;
  // Never past the positions the model was built for (batches are only as wide as their longest row).
  const maxPos = model.cfg.max_position_embeddings;
  if (o.seqLen !== undefined && o.seqLen > maxPos)
    throw new UserError(`evaluate: seqLen ${o.seqLen} is over the model's max_position_embeddings ${maxPos}`);
  const seqLen = o.seqLen ?? Math.min(EVAL_DEFAULTS.seqLen, maxPos);
  // The loss is over the reference answers: records without one (a code benchmark that ships tests only) are left out.
  const answered = items.filter((r) => r.output !== '');
  const encoded = answered.map((r) => encodeExample(tok, { prompt: promptOf(r), target: r.output, meta: {} }, seqLen));
  const lossBatches = makeBatches(encoded, { batchSize, seqLen, shuffle: false, padId: tok.padId });
  const loss = encoded.length ? (await model.meanLoss(lossBatches, o.adapter, { meter })).loss : Number.NaN;

  // Generate in length-sorted batches so left padding stays small. A stub is encoded apart from
  // the prompt, as the answer is in training, so its tokens are those the model was trained on.
  const prompts = items.map((r, index) => {
    const stub = answerStubOf(r);
    return { index, stub, ids: [tok.bosId, ...tok.encode(promptOf(r)), ...tok.encode(stub)] };
  });
  prompts.sort((a, b) => a.ids.length - b.ids.length);
  const outputs = new Array<string>(items.length);
  let generated = 0;
  const genStart = performance.now();
  for (let i = 0; i < prompts.length; i += batchSize) {
    const chunk = prompts.slice(i, i + batchSize);
    const outs = await model.generate(
      chunk.map((p) => p.ids),
      {
        maxNewTokens: o.maxNewTokens ?? EVAL_DEFAULTS.maxNewTokens,
        eosId: tok.eosId,
        padId: tok.padId,
        meter,
        ...(o.adapter ? { adapter: o.adapter } : {}),
      },
    );
    outs.forEach((ids, k) => {
      outputs[chunk[k]!.index] = chunk[k]!.stub + tok.decode(ids);
      generated += ids.length;
    });
    o.onProgress?.(Math.min(i + batchSize, prompts.length), prompts.length);
  }
  const genSeconds = (performance.now() - genStart) / 1000;

  const results: SampleResult[] = [];
  for (let index = 0; index < items.length; index++) {
    const r = items[index]!;
    results.push({ index, category: r.category, output: outputs[index]!, score: await scoreOutput(outputs[index]!, r.reference) });
  }
  const byCategory: EvalReport['byCategory'] = {};
  for (const r of results) {
    const c = (byCategory[r.category] ??= { samples: 0, score: 0 });
    c.samples += 1;
    c.score += r.score;
  }
  for (const c of Object.values(byCategory)) c.score /= c.samples;
  return {
    samples: results.length,
    score: results.reduce((s, r) => s + r.score, 0) / results.length,
    byCategory,
    loss,
    generatedTokens: generated,
    generationTokensPerSecond: generated / genSeconds,
    costs: meter.report(),
    results,
  };
}
