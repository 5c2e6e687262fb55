// The three exported graphs of a model: training (loss + gradients of the trainable tensors only),
// evaluation (per-token loss) and generation (next-token logits with a KV cache). Built once per
// (architecture, adapter layout) and cached: rank, batch and sequence length are symbolic dims.
import { gradients } from '../engine/autodiff.js';
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

/** Summed next-token cross-entropy over non-ignored labels, and the count of those labels. */
function lossTerms(g: Graph, logits: Tensor, labels: Tensor, vocab: number) {
  const tokenLoss = g.crossEntropy(g.reshape(logits, [-1, vocab]), g.reshape(labels, [-1]), IGNORE_INDEX);
  const valid = g.cast(g.not(g.equal(labels, g.scalar(IGNORE_INDEX, 'int64'))), 'float32');
  return { tokenLoss, lossSum: g.sumAll(tokenLoss), tokens: g.sumAll(valid) };
}

function decoderForBatch(cfg: LlamaConfig, lora?: LoraGraphSpec) {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['b', 's']);
  const labels = g.input('labels', 'int64', ['b', 's']);
  const { bias, positions } = causalBias(g, ids);
  const model = new LlamaGraph(g, cfg, lora);
  const out = model.forward({ ids, positions, bias });
  return { g, labels, out, ...lossTerms(g, out.logits, labels, cfg.vocab_size) };
}

/**
 * Training graph: outputs loss_sum (summed over target tokens, so gradient accumulation can
 * normalise by the total), tokens, and grad.<name> for each trainable tensor.
 */
export function trainingGraph(cfg: LlamaConfig, trainable: Trainable, lora?: LoraGraphSpec): ExportedModel & { params: string[] } {
  if (trainable === 'lora' && !lora?.targets.length) throw new Error('LoRA training needs at least one target module');
  return cached('train', cfg, lora, trainable, () => {
    const { g, out, lossSum, tokens } = decoderForBatch(cfg, lora);
    const params = trainable === 'lora' ? [...out.lora.values()] : [...out.weights.values()];
    const grads = gradients(g, lossSum, params);
    const outputs: Record<string, Tensor> = { loss_sum: lossSum, tokens };
    params.forEach((p, i) => {
      outputs[gradName(p.inputName!)] = grads[i]!;
    });
    return { ...exportOnnx(g, outputs), params: params.map((p) => p.inputName!) };
  });
}

/** Evaluation graph: token_loss [b*s] (0 where the label is ignored), loss_sum, tokens. */
export function evalGraph(cfg: LlamaConfig, lora?: LoraGraphSpec): ExportedModel & { params: string[] } {
  const spec = lora ? { ...lora, dropout: false } : undefined;
  return cached('eval', cfg, spec, '', () => {
    const { g, tokenLoss, lossSum, tokens } = decoderForBatch(cfg, spec);
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
