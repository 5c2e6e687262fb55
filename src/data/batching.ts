// Examples -> fixed-shape causal-LM batches. Loss is only on target tokens and eos: label positions
// that predict prompt tokens (and padding) hold IGNORE_INDEX.
import type { Example } from './records.js';
import type { Tokenizer } from './tokenizer.js';

export const IGNORE_INDEX = -100;

/**
 * `ids` is [bos, ...prompt, ...target, eos] cut to at most maxLen + 1 tokens (n). The model input is
 * ids.slice(0, n - 1) and `labels` (length n - 1) is ids.slice(1) with prompt predictions masked.
 */
export interface Encoded {
  ids: number[];
  labels: number[];
}

export interface Batch {
  /** Row-major [batch, seq], right padded with padId. */
  inputIds: BigInt64Array;
  /** Row-major [batch, seq]; IGNORE_INDEX on prompt predictions and padding. */
  labels: BigInt64Array;
  batch: number;
  seq: number;
  /** Number of labels that count towards the loss. */
  targetTokens: number;
}

export interface BatchOptions {
  batchSize: number;
  seqLen: number;
  shuffle: boolean;
  /** Required when shuffle is true; int(n) returns an integer in [0, n). */
  rng?: { int(n: number): number };
  padId: number;
}

export function encodeExample(tok: Tokenizer, ex: Example, maxLen: number): Encoded {
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new Error(`maxLen must be a positive integer, got ${maxLen}`);
  // Only the tokens that fit are encoded, so a record of any length costs what a short one does.
  const prompt = tok.encode(ex.prompt, { maxTokens: maxLen });
  const target = tok.encode(ex.target, { maxTokens: maxLen - prompt.length });
  const all = [tok.bosId, ...prompt, ...target, tok.eosId];
  const ids = all.slice(0, maxLen + 1);
  // labels[i] predicts ids[i + 1]; ids[1..prompt.length] are prompt tokens.
  const labels = ids.slice(1).map((id, i) => (i < prompt.length ? IGNORE_INDEX : id));
  return { ids, labels };
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

/**
 * Groups encoded examples into batches (in order, or shuffled with opts.rng). Longer sequences are
 * cut to seqLen; each batch is as wide as its longest (cut) sequence, not seqLen, so a generous
 * seqLen costs nothing (padding is on the right and masked, so the loss is the same either way).
 * The last batch may have fewer rows.
 */
export function makeBatches(encoded: Encoded[], opts: BatchOptions): Batch[] {
  const { batchSize, seqLen, padId } = opts;
  positiveInt('batchSize', batchSize);
  positiveInt('seqLen', seqLen);
  const order = encoded.map((_, i) => i);
  if (opts.shuffle) {
    if (!opts.rng) throw new Error('makeBatches: shuffle needs an rng');
    for (let i = order.length - 1; i > 0; i--) {
      const j = opts.rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const batches: Batch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    const lengths = rows.map((idx) => Math.min(encoded[idx].ids.length - 1, seqLen));
    const seq = lengths.reduce((a, b) => Math.max(a, b), 1); // (a spread of 10^5 rows would overflow the stack)
    const inputIds = new BigInt64Array(rows.length * seq).fill(BigInt(padId));
    const labels = new BigInt64Array(rows.length * seq).fill(BigInt(IGNORE_INDEX));
    let targetTokens = 0;
    rows.forEach((idx, r) => {
      const ex = encoded[idx];
      for (let t = 0; t < lengths[r]; t++) {
        inputIds[r * seq + t] = BigInt(ex.ids[t]);
        labels[r * seq + t] = BigInt(ex.labels[t]);
        if (ex.labels[t] !== IGNORE_INDEX) targetTokens++;
      }
    });
    batches.push({ inputIds, labels, batch: rows.length, seq, targetTokens });
  }
  return batches;
}
