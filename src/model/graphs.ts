// The three exported graphs of a model: training (loss + gradients of the trainable tensors only),
// evaluation (per-token loss) and generation (next-token logits with a KV cache). Built once per
// (architecture, adapter layout) and cached: rank, batch and sequence length are symbolic dims.
import { gradients } from '../engine/autodiff.js';
import { chunkedCrossEntropy } from '../engine/chunked-loss.js';
import { Graph, type Tensor } from '../engine/graph.js';
import { exportOnnx, type ExportedModel } from '../engine/onnx.js';
import { IGNORE_INDEX } from '../data/batching.js';
import type { LlamaConfig } from './config.js';
import { LlamaGraph, cachedBias, causalBias, type DecoderHooks, type DecoderOutputs } from './llama.js';

/** What a training graph differentiates: an adapter's tensors, or every base weight. */
export type Trainable = 'adapter' | 'all';
/** Which graph an adapter is built into: training may differ (dropout, reparameterisation). */
export type GraphMode = 'train' | 'eval' | 'generate';

/** What one adapter builds into one graph (src/peft implements it; see DecoderHooks). */
export interface AdapterGraph {
  hooks?: DecoderHooks;
  /** Its trainable graph inputs by name, filled while the decoder is built: gradients are taken for these. */
  trainable: Map<string, Tensor>;
  /**
   * Virtual-token embeddings [v, hidden] ahead of every sequence (prompt tuning): v is static in
   * training and evaluation; in generation a symbolic 'v', fed with 0 rows once they are cached.
   */
  virtualTokens?: Tensor;
  /** Per-layer key/value prefix [1, kv, n, hd], static n (prefix tuning; generation feeds it as the initial cache instead). */
  prefix?: { key: Tensor; value: Tensor }[];
}

/** An adapter's graph layout: graphs are built once per (architecture, key, mode) and cached. */
export interface AdapterGraphSpec {
  /** Equal keys build identical graphs. */
  readonly key: string;
  build(g: Graph, cfg: LlamaConfig, mode: GraphMode): AdapterGraph;
}
export const gradName = (param: string): string => `grad.${param}`;
export const pastName = (layer: number, kv: 'key' | 'value'): string => `past_key_values.${layer}.${kv}`;
export const presentName = (layer: number, kv: 'key' | 'value'): string => `present.${layer}.${kv}`;

const cache = new Map<string, ExportedModel & { params: string[] }>();

function cached(
  kind: string,
  cfg: LlamaConfig,
  spec: AdapterGraphSpec | undefined,
  extra: string,
  build: () => ExportedModel & { params: string[] },
) {
  const key = JSON.stringify([kind, cfg, spec?.key ?? null, extra]);
  let m = cache.get(key);
  if (!m) {
    m = build();
    cache.set(key, m);
  }
  return m;
}

/**
 * Summed next-token cross-entropy over non-ignored labels, the count of those labels and the
 * per-position loss. 'lean' computes the loss over vocabulary chunks from the final hidden state,
 * never materialising the [b*s, vocab] logits.
 */
function lossTerms(g: Graph, out: DecoderOutputs, labels: Tensor, cfg: LlamaConfig, memory: ActivationMemory) {
  const targets = g.reshape(labels, [-1]);
  const tokenLoss =
    memory === 'lean'
      ? chunkedCrossEntropy(g, g.reshape(out.hidden, [-1, cfg.hidden_size]), out.head, targets, {
          ignoreIndex: IGNORE_INDEX,
          chunk: LOSS_VOCAB_CHUNK,
        })
      : g.crossEntropy(g.reshape(out.logits, [-1, cfg.vocab_size]), targets, IGNORE_INDEX);
  const valid = g.cast(g.not(g.equal(labels, g.scalar(IGNORE_INDEX, 'int64'))), 'float32');
  return { tokenLoss, lossSum: g.sumAll(tokenLoss), tokens: g.sumAll(valid) };
}

function decoderForBatch(cfg: LlamaConfig, mode: 'train' | 'eval', spec: AdapterGraphSpec | undefined, memory: ActivationMemory) {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['b', 's']);
  let labels = g.input('labels', 'int64', ['b', 's']);
  const adapter = spec?.build(g, cfg, mode);
  const virtualTokens = adapter?.virtualTokens;
  const v = virtualTokens ? staticDim(virtualTokens.shape[0]!, 'virtual tokens') : 0;
  const n = adapter?.prefix ? staticDim(adapter.prefix[0]!.key.shape[2]!, 'prefix length') : 0;
  const { bias, positions } = causalBias(g, ids, { virtual: v, prefix: n });
  const past = adapter?.prefix?.map(({ key, value }) => {
    const shape = g.concat([g.unsqueeze(g.dimOf(ids, 0), [0]), g.ints([cfg.num_key_value_heads, n, cfg.head_dim])], 0);
    const dims = [ids.shape[0]!, cfg.num_key_value_heads, n, cfg.head_dim];
    return { key: g.expand(key, shape, dims), value: g.expand(value, shape, dims) };
  });
  const model = new LlamaGraph(g, cfg, adapter?.hooks);
  const out = model.forward({ ids, positions, bias, ...(past ? { past } : {}), ...(virtualTokens ? { virtualTokens } : {}) });
  if (v) labels = g.concat([ignoredLabels(g, ids, v), labels], 1);
  return { g, labels, out, adapter, ...lossTerms(g, out, labels, cfg, memory) };
}

/** int64 [b, v] of IGNORE_INDEX: the labels of v virtual tokens (no loss on them, as PEFT labels them -100). */
function ignoredLabels(g: Graph, ids: Tensor, v: number): Tensor {
  const row = g.constant(new BigInt64Array(v).fill(BigInt(IGNORE_INDEX)), [1, v], 'int64');
  return g.expand(row, g.concat([g.unsqueeze(g.dimOf(ids, 0), [0]), g.ints([v])], 0), [ids.shape[0]!, v]);
}

function staticDim(d: Tensor['shape'][number], what: string): number {
  if (typeof d !== 'number') throw new Error(`an adapter's ${what} must be a static size in training and evaluation graphs`);
  return d;
}

/**
 * How a training graph spends memory. 'keep' holds every activation from the forward pass for the
 * backward one (fastest). 'lean' recomputes each decoder layer in the backward pass from its input
 * and computes the loss over vocabulary chunks without the full logits (about one more forward
 * pass of work; activations drop from O(layers x tokens x width) to one layer's, and the
 * [tokens, vocab] logits and their gradient are never materialised).
 */
export type ActivationMemory = 'keep' | 'lean';

/** Vocabulary entries per chunk of the lean loss: [1024 tokens, 8192] float32 logits = 32 MiB. */
export const LOSS_VOCAB_CHUNK = 8192;

/**
 * Float32 bytes the 'keep' graph holds for the backward pass, roughly: per token and layer ~10
 * hidden-wide and ~5 ffn-wide tensors plus 3 attention maps (heads x seq), and ~5 logits-wide
 * tensors for the loss. A lower bound: 3.3 GiB at the SmolLM-135M shape and 4 x 256, where peak
 * RSS grew ~4.8 GiB beyond the weights (onnxruntime's arena rounds up and keeps its peak).
 */
export function keptActivationBytes(cfg: LlamaConfig, batch: number, seq: number): number {
  const perLayer = 10 * cfg.hidden_size + 5 * cfg.intermediate_size + 3 * cfg.num_attention_heads * seq;
  return 4 * batch * seq * (cfg.num_hidden_layers * perLayer + 5 * cfg.vocab_size);
}

/** Above this many bytes of kept activations a training step goes lean (see ActivationMemory). */
export const LEAN_ABOVE_BYTES = 1024 * 2 ** 20;

export const activationMemoryFor = (cfg: LlamaConfig, batch: number, seq: number): ActivationMemory =>
  keptActivationBytes(cfg, batch, seq) > LEAN_ABOVE_BYTES ? 'lean' : 'keep';

/**
 * Training graph: outputs loss_sum (summed over target tokens, so gradient accumulation can
 * normalise by the total), tokens, and grad.<name> for each trainable tensor.
 */
export function trainingGraph(
  cfg: LlamaConfig,
  trainable: Trainable,
  spec?: AdapterGraphSpec,
  memory: ActivationMemory = 'keep',
): ExportedModel & { params: string[] } {
  if (trainable === 'adapter' && !spec) throw new Error('adapter training needs an adapter');
  return cached('train', cfg, spec, `${trainable}:${memory}`, () => {
    const { g, out, adapter, lossSum, tokens } = decoderForBatch(cfg, 'train', spec, memory);
    const params = trainable === 'adapter' ? [...adapter!.trainable.values()] : [...out.weights.values()];
    if (!params.length) throw new Error('the adapter has no trainable tensors');
    const grads = gradients(g, lossSum, params, { recompute: memory === 'lean' });
    const outputs: Record<string, Tensor> = { loss_sum: lossSum, tokens };
    params.forEach((p, i) => {
      outputs[gradName(p.inputName!)] = grads[i]!;
    });
    return { ...exportOnnx(g, outputs), params: params.map((p) => p.inputName!) };
  });
}

/** Above this many bytes of float32 logits an evaluation computes its loss over vocabulary chunks. */
export const CHUNKED_EVAL_LOSS_ABOVE_BYTES = 64 * 2 ** 20;

/**
 * The evaluation graph's loss for a batch: 'lean' (vocabulary-chunked, the same MatMul work) when
 * the full logits would pass CHUNKED_EVAL_LOSS_ABOVE_BYTES (201 MB at 4 x 256 x 49k vocabulary).
 */
export const evalMemoryFor = (cfg: LlamaConfig, batch: number, seq: number): ActivationMemory =>
  4 * batch * seq * cfg.vocab_size > CHUNKED_EVAL_LOSS_ABOVE_BYTES ? 'lean' : 'keep';

/** Evaluation graph: token_loss [b*s] (0 where the label is ignored), loss_sum, tokens. */
export function evalGraph(
  cfg: LlamaConfig,
  spec?: AdapterGraphSpec,
  memory: ActivationMemory = 'keep',
): ExportedModel & { params: string[] } {
  return cached('eval', cfg, spec, memory, () => {
    const { g, tokenLoss, lossSum, tokens } = decoderForBatch(cfg, 'eval', spec, memory);
    return { ...exportOnnx(g, { token_loss: tokenLoss, loss_sum: lossSum, tokens }), params: [] };
  });
}

/**
 * Generation graph with a KV cache: input_ids/position_ids [b, s], attention_mask [b, p+s],
 * past_key_values.N.key|value [b, kv, p, hd] (p may be 0) -> logits [b, s, vocab], present.N.*.
 */
export function generationGraph(cfg: LlamaConfig, spec?: AdapterGraphSpec): ExportedModel & { params: string[] } {
  return cached('gen', cfg, spec, '', () => {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['b', 's']);
    const adapter = spec?.build(g, cfg, 'generate');
    if (adapter?.prefix) throw new Error('generation takes a prefix as its initial cache, not as a graph input');
    const virtualTokens = adapter?.virtualTokens;
    // Positions cover the virtual tokens too; 'p+s' is the symbol Concat gives the cached length,
    // so shapes unify symbolically.
    const positions = g.input('position_ids', 'int64', ['b', virtualTokens ? 'v+s' : 's']);
    const mask = g.input('attention_mask', 'int64', ['b', virtualTokens ? 'p+v+s' : 'p+s']);
    const past = Array.from({ length: cfg.num_hidden_layers }, (_, i) => ({
      key: g.input(pastName(i, 'key'), 'float32', ['b', cfg.num_key_value_heads, 'p', cfg.head_dim]),
      value: g.input(pastName(i, 'value'), 'float32', ['b', cfg.num_key_value_heads, 'p', cfg.head_dim]),
    }));
    const bias = cachedBias(g, ids, mask, g.dimOf(past[0]!.key, 2), virtualTokens);
    const out = new LlamaGraph(g, cfg, adapter?.hooks).forward({ ids, positions, bias, past, ...(virtualTokens ? { virtualTokens } : {}) });
    const outputs: Record<string, Tensor> = { logits: out.logits };
    out.present.forEach((p, i) => {
      outputs[presentName(i, 'key')] = p.key;
      outputs[presentName(i, 'value')] = p.value;
    });
    return { ...exportOnnx(g, outputs), params: [] };
  });
}
