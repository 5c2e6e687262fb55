// Loss and token accuracy of reference answers: the score of records that have no answer to
// generate and check (plain text, {prompt, completion}, instruction records of no known benchmark).
// Token accuracy is the share of answer tokens the model ranks first given the true prefix
// (teacher forcing): a cheap, generation-free measure that moves with fine-tuning.
import { encodeExample, IGNORE_INDEX, makeBatches } from '../data/batching.js';
import { promptOf } from '../data/tasks/prompt.js';
import type { TaskRecord } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { CostMeter } from '../engine/costs.js';
import type { AdapterFeeds, LlamaModel } from '../model/model.js';
import { EVAL_DEFAULTS, type EvalOptions, type EvalReport } from './evaluate.js';

/** An EvalReport whose score (overall, per category and per sample) is token accuracy; nothing is generated. */
export async function evaluateTokenAccuracy(
  model: LlamaModel,
  tok: Tokenizer,
  records: readonly TaskRecord[],
  o: Pick<EvalOptions, 'adapter' | 'limit' | 'batchSize' | 'seqLen' | 'onProgress'> = {},
): Promise<EvalReport> {
  const items = records.slice(0, o.limit ?? records.length);
  if (!items.length) throw new Error('evaluate: no records');
  const meter = new CostMeter();
  const seqLen = Math.min(o.seqLen ?? EVAL_DEFAULTS.seqLen, model.cfg.max_position_embeddings);
  const encoded = items.map((r) => encodeExample(tok, { prompt: promptOf(r), target: r.output, meta: {} }, seqLen));
  const batches = makeBatches(encoded, { batchSize: o.batchSize ?? EVAL_DEFAULTS.batchSize, seqLen, shuffle: false, padId: tok.padId });
  const { loss } = await model.meanLoss(batches, o.adapter, { meter });
  const results: EvalReport['results'] = [];
  // Micro averages (over answer tokens), overall and per category alike; a sample's score is its own share.
  const tally = new Map<string, { samples: number; hits: number; tokens: number }>();
  let hits = 0;
  let counted = 0;
  for (let index = 0; index < encoded.length; index++) {
    const e = encoded[index]!;
    const category = items[index]!.category;
    const { correct, total } = await rankedFirst(model, e.ids.slice(0, -1), e.labels, o.adapter, meter, model.cfg.vocab_size);
    hits += correct;
    counted += total;
    const t = tally.get(category) ?? { samples: 0, hits: 0, tokens: 0 };
    tally.set(category, { samples: t.samples + 1, hits: t.hits + correct, tokens: t.tokens + total });
    results.push({ index, category, output: '', score: total ? correct / total : 0 });
    o.onProgress?.(index + 1, encoded.length);
  }
  const byCategory: EvalReport['byCategory'] = {};
  for (const [c, t] of tally) byCategory[c] = { samples: t.samples, score: t.tokens ? t.hits / t.tokens : 0 };
  return {
    samples: results.length,
    score: counted ? hits / counted : 0,
    byCategory,
    loss,
    generatedTokens: 0,
    generationTokensPerSecond: 0,
    costs: meter.report(),
    results,
  };
}

/** How many labelled positions of one sequence the model ranks first (argmax of its logits). */
async function rankedFirst(
  model: LlamaModel,
  input: number[],
  labels: number[],
  adapter: AdapterFeeds | undefined,
  meter: CostMeter,
  vocab: number,
): Promise<{ correct: number; total: number }> {
  const [logits] = await model.logits([input], adapter, { meter });
  let correct = 0;
  let total = 0;
  for (let pos = 0; pos < labels.length; pos++) {
    const label = labels[pos]!;
    if (label === IGNORE_INDEX) continue;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits![pos * vocab + v]! > logits![pos * vocab + best]!) best = v;
    total++;
    if (best === label) correct++;
  }
  return { correct, total };
}
