// The three exported graphs of a model: training (loss + gradients of the trainable tensors only),
// evaluation (per-token loss) and generation (next-token logits with a KV cache). Built once per
// (architecture, adapter layout) and cached: rank, batch and sequence length are symbolic dims.
import { gradients } from '../engine/autodiff.js';
import { chunkedCrossEntropy } from '../engine/chunked-loss.js';
import { Graph, type Tensor } from '../engine/graph.js';
import { exportOnnx, type ExportedModel } from '../engine/onnx.js';
import { IGNORE_INDEX } from '../data/batching.js';
import type { LlamaConfig } from './config.js';
import { LlamaGraph, cachedBias, causalBias, type LoraGraphSpec } from './llama.js';

export type Trainable = 'lora' | 'all';
export const gradName = (param: string): string => `grad.${param}`;
export const pastName = (layer: number, kv: 'key' | 'value'): string => `past_key_values.${layer}.${kv}`;
export const presentName = (layer: number, kv: 'key' | 'value'): string => `present.${layer}.${kv}`;

const cache = new Map<string, ExportedModel & { params: string[] }>();

function cached(
  kind: string,
  cfg: LlamaConfig,
  lora: LoraGraphSpec | undefined,
  extra: string,
  build: () => ExportedModel & { params: string[] },
) {
  const key = JSON.stringify([kind, cfg, lora ?? null, extra]);
  let m = cache.get(key);
  if (!m) {
    m = build();
    cache.set(key, m);
  }
  return m;
}

/**
 * The decoder on a batch with its summed next-token cross-entropy over non-ignored labels, the
 * count of those labels and the per-position loss. 'lean' computes the loss over vocabulary chunks
 * from the final hidden state, never materialising the [b*s, vocab] logits.
 */
function decoderForBatch(cfg: LlamaConfig, lora: LoraGraphSpec | undefined, memory: ActivationMemory) {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['b', 's']);
  const labels = g.input('labels', 'int64', ['b', 's']);
  const { bias, positions } = causalBias(g, ids);
  const out = new LlamaGraph(g, cfg, lora).forward({ ids, positions, bias });
  const targets = g.reshape(labels, [-1]);
  const tokenLoss =
    memory === 'lean'
      ? chunkedCrossEntropy(g, g.reshape(out.hidden, [-1, cfg.hidden_size]), out.head, targets, {
          ignoreIndex: IGNORE_INDEX,
          chunk: LOSS_VOCAB_CHUNK,
        })
      : g.crossEntropy(g.reshape(out.logits, [-1, cfg.vocab_size]), targets, IGNORE_INDEX);
  const valid = g.cast(g.not(g.equal(labels, g.scalar(IGNORE_INDEX, 'int64'))), 'float32');
  return { g, out, tokenLoss, lossSum: g.sumAll(tokenLoss), tokens: g.sumAll(valid) };
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
  lora?: LoraGraphSpec,
  memory: ActivationMemory = 'keep',
): ExportedModel & { params: string[] } {
  if (trainable === 'lora' && !lora?.targets.length) throw new Error('LoRA training needs at least one target module');
  return cached('train', cfg, lora, `${trainable}:${memory}`, () => {
    const { g, out, lossSum, tokens } = decoderForBatch(cfg, lora, memory);
    const params = trainable === 'lora' ? [...out.lora.values()] : [...out.weights.values()];
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
export function evalGraph(cfg: LlamaConfig, lora?: LoraGraphSpec, memory: ActivationMemory = 'keep'): ExportedModel & { params: string[] } {
  const spec = lora ? { ...lora, dropout: false } : undefined;
  return cached('eval', cfg, spec, memory, () => {
    const { g, tokenLoss, lossSum, tokens } = decoderForBatch(cfg, spec, memory);
    return { ...exportOnnx(g, { token_loss: tokenLoss, loss_sum: lossSum, tokens }), params: [] };
  });
}

/**
 * Generation graph with a KV cache: input_ids/position_ids [b, s], attention_mask [b, p+s],
 * past_key_values.N.key|value [b, kv, p, hd] (p may be 0) -> logits [b, s, vocab], present.N.*.
 */
export function generationGraph(cfg: LlamaConfig, lora?: LoraGraphSpec): ExportedModel & { params: string[] } {
  const spec = lora ? { ...lora, dropout: false } : undefined;
  return cached('gen', cfg, spec, '', () => {
    const g = new Graph();
    const ids = g.input('input_ids', 'int64', ['b', 's']);
    const positions = g.input('position_ids', 'int64', ['b', 's']);
    // 'p+s' is the symbol Concat gives the cached length, so shapes unify symbolically.
    const mask = g.input('attention_mask', 'int64', ['b', 'p+s']);
    const past = Array.from({ length: cfg.num_hidden_layers }, (_, i) => ({
      key: g.input(pastName(i, 'key'), 'float32', ['b', cfg.num_key_value_heads, 'p', cfg.head_dim]),
      value: g.input(pastName(i, 'value'), 'float32', ['b', cfg.num_key_value_heads, 'p', cfg.head_dim]),
    }));
    const bias = cachedBias(g, ids, mask, g.dimOf(past[0]!.key, 2));
    const out = new LlamaGraph(g, cfg, spec).forward({ ids, positions, bias, past });
    const outputs: Record<string, Tensor> = { logits: out.logits };
    out.present.forEach((p, i) => {
      outputs[presentName(i, 'key')] = p.key;
      outputs[presentName(i, 'value')] = p.value;
    });
    return { ...exportOnnx(g, outputs), params: [] };
  });
}
