// Cross-entropy of a linear head without the full logits: the vocabulary is cut into chunks, each
// a recomputable segment giving its log-sum-exp, so with `gradients(..., { recompute: true })`
// neither the forward nor the backward pass holds more than one chunk's logits [N, chunk] (the full
// [N, vocab] logits and their gradient are 200 MB each at 1024 tokens x 49k vocabulary).
import { ShapeError, type Graph, type Tensor } from './graph.js';

export interface ChunkedCrossEntropyOptions {
  /** Targets equal to this get loss 0 (as SoftmaxCrossEntropyLoss's ignore_index). */
  ignoreIndex: number;
  /** Vocabulary entries per chunk. */
  chunk: number;
}

/**
 * Per-row loss [N] of softmax(hidden @ head^T) against targets: hidden [N, D], head [V, D] with V
 * static, targets int64 [N]. Equals crossEntropy(matmul(hidden, head^T), targets) up to rounding.
 */
export function chunkedCrossEntropy(g: Graph, hidden: Tensor, head: Tensor, targets: Tensor, o: ChunkedCrossEntropyOptions): Tensor {
  const vocab = head.shape[0];
  if (hidden.shape.length !== 2 || head.shape.length !== 2 || targets.shape.length !== 1)
    throw new ShapeError('chunkedCrossEntropy: want hidden [N,D], head [V,D] and targets [N]');
  if (typeof vocab !== 'number') throw new ShapeError('chunkedCrossEntropy: the vocabulary size must be static');
  if (!(o.chunk >= 1)) throw new ShapeError(`chunkedCrossEntropy: chunk must be >= 1, got ${o.chunk}`);
  const lses: Tensor[] = [];
  for (let v0 = 0; v0 < vocab; v0 += o.chunk) {
    g.beginSegment();
    const rows = g.slice(head, 0, v0, Math.min(vocab, v0 + o.chunk));
    lses.push(g.logSumExp(g.matmul(hidden, g.transposeLast(rows)), [1], true)); // [N, 1]
    g.endSegment();
  }
  const lse = lses.length === 1 ? g.squeeze(lses[0]!, [1]) : g.logSumExp(g.concat(lses, 1), [1]); // [N]
  const valid = g.not(g.equal(targets, g.scalar(o.ignoreIndex, 'int64')));
  const safe = g.where(valid, targets, g.scalar(0, 'int64'));
  // The target's logit as a dot product with its head row: no [N, V] one-hot.
  const targetLogit = g.sum(g.mul(hidden, g.gather(head, safe)), [1]);
  return g.mul(g.sub(lse, targetLogit), g.cast(valid, hidden.dtype));
}
