// The final score of a federated run: the task's test split scored with generation (evaluateRecords)
// and the per-client view of it — the results grouped by each client's share of the test split
// (its category for meta tasks, an iid part otherwise) — as worst / median / best.
import type { TaskRecord } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Metric } from '../data/user-records.js';
import { evaluateUserRecords } from './eval-file.js';
import type { AdapterFeeds, LlamaModel } from '../model/model.js';
import type { Adapter } from '../peft/adapter.js';

export interface Spread {
  worst: number;
  median: number;
  best: number;
}

export interface TestScore extends Spread {
  /** Mean score over the scored records, in [0, 1]. */
  score: number;
  samples: number;
  /** Mean loss over the reference answers' tokens. */
  loss: number;
  /** Mean score per client share (over the scored records of that share). */
  perClient: Record<string, number>;
  seconds: number;
  flops: number;
}

export interface TestScoreOptions {
  /** 'loss': the score is token accuracy (no generation); otherwise each record's own score. */
  metric?: Metric | undefined;
  limit: number;
  batchSize: number;
  maxNewTokens: number;
  seqLen: number;
}

/** Worst / median / best of a list of scores (the median of an even count is the mean of the middle two). */
export function spreadOf(values: readonly number[]): Spread {
  if (!values.length) return { worst: Number.NaN, median: Number.NaN, best: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { worst: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, best: s.at(-1)! };
}

/** Scores `adapter` on the first `limit` test records; `shares[i]` is the client that test record i belongs to. */
export async function scoreTestSplit(
  model: LlamaModel,
  tok: Tokenizer,
  /** An adapter, or feeds laid over the base (e.g. offsite-tuning's plugged-in layers). */
  adapter: Adapter | AdapterFeeds,
  records: readonly TaskRecord[],
  shares: readonly string[],
  o: TestScoreOptions,
): Promise<TestScore> {
  const started = performance.now();
  const report = await evaluateUserRecords(
    model,
    tok,
    { metric: o.metric ?? 'auto-by-record', records: [...records] },
    {
      adapter: 'inference' in adapter ? adapter.inference() : adapter,
      limit: o.limit,
      batchSize: o.batchSize,
      maxNewTokens: o.maxNewTokens,
      seqLen: Math.min(o.seqLen, model.cfg.max_position_embeddings),
    },
  );
  const groups = new Map<string, { sum: number; n: number }>();
  for (const r of report.results) {
    const g = groups.get(shares[r.index] ?? 'other') ?? { sum: 0, n: 0 };
    g.sum += r.score;
    g.n++;
    groups.set(shares[r.index] ?? 'other', g);
  }
  const perClient = Object.fromEntries([...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, g]) => [k, g.sum / g.n]));
  return {
    score: report.score,
    samples: report.samples,
    loss: report.loss,
    perClient,
    ...spreadOf(Object.values(perClient)),
    seconds: (performance.now() - started) / 1000,
    flops: report.costs.flops,
  };
}
