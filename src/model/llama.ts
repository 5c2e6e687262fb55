// The LLaMA decoder as a symbolic graph, readable in one file (nanoGPT-style), following
// transformers' LlamaForCausalLM exactly: RMSNorm (x * rsqrt(mean(x^2) + eps) * w), rotate-half
// RoPE, grouped-query attention (kv head = q head // n_rep), SwiGLU MLP, optional tied head, and
// the projection biases the config asks for (Qwen2's q/k/v, LLaMA's attention_bias / mlp_bias).
// Weights are graph inputs named as in HF checkpoints, so one weight set feeds every graph.
import { addDims } from '../engine/dims.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { biasedProjections, type LlamaConfig } from './config.js';

export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/** HF module path of a projection in layer i (without '.weight'). */
export function projectionPath(layer: number, proj: Projection): string {
  const block = proj === 'gate_proj' || proj === 'up_proj' || proj === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${proj}`;
}

/** [out, in] of a projection's weight. */
export function projectionShape(cfg: LlamaConfig, proj: Projection): [number, number] {
  const q = cfg.num_attention_heads * cfg.head_dim;
  const kv = cfg.num_key_value_heads * cfg.head_dim;
  switch (proj) {
    case 'q_proj':
      return [q, cfg.hidden_size];
    case 'k_proj':
    case 'v_proj':
      return [kv, cfg.hidden_size];
    case 'o_proj':
      return [cfg.hidden_size, q];
    case 'gate_proj':
    case 'up_proj':
      return [cfg.intermediate_size, cfg.hidden_size];
    case 'down_proj':
      return [cfg.hidden_size, cfg.intermediate_size];
  }
}

/**
 * Where a PEFT method plugs into the decoder. src/peft implements these (the model knows no
 * method): each hook builds its own graph inputs.
 */
export interface DecoderHooks {
  /** The output of projection `proj` of `layer` given its input x and base output y = x W^T. */
  linear?(x: Tensor, y: Tensor, layer: number, proj: Projection): Tensor;
}

export interface DecoderInputs {
  ids: Tensor; // int64 [b, s]
  positions: Tensor; // int64 [b or 1, s]
  /** Additive attention bias broadcastable to [b, heads, s, t] (0 or -1e9). */
  bias: Tensor;
  past?: { key: Tensor; value: Tensor }[]; // [b, kv, p, hd] per layer
  /**
   * Embeddings [v, hidden] put ahead of every sequence's token embeddings (prompt tuning's virtual
   * tokens): positions and bias then cover v + s queries, and logits are [b, v+s, vocab].
   */
  virtualTokens?: Tensor;
}

export interface DecoderOutputs {
  logits: Tensor; // [b, s, vocab]
  /** The final normed hidden state [b, s, hidden] and the head [vocab, hidden]: logits = hidden @ head^T. */
  hidden: Tensor;
  head: Tensor;
  present: { key: Tensor; value: Tensor }[]; // [b, kv, t, hd]
  weights: Map<string, Tensor>;
}

/** Rotary tables: [b|1, 1, s, hd], and [b|1, 1, 1, s, hd] for grouped queries. */
interface Rope {
  cos: Tensor;
  sin: Tensor;
  cos5: Tensor;
  sin5: Tensor;
}

export class LlamaGraph {
  readonly weights = new Map<string, Tensor>();

  constructor(
    readonly g: Graph,
    readonly cfg: LlamaConfig,
    readonly hooks: DecoderHooks = {},
  ) {}

  private weight(name: string, shape: number[]): Tensor {
    let t = this.weights.get(name);
    if (!t) {
      t = this.g.input(name, 'float32', shape);
      this.weights.set(name, t);
    }
    return t;
  }

  private rmsNorm(x: Tensor, name: string): Tensor {
    const g = this.g;
    const variance = g.mean(g.mul(x, x), [-1], true);
    const normed = g.mul(x, g.reciprocal(g.sqrt(g.add(variance, g.like(x, this.cfg.rms_norm_eps)))));
    return g.mul(normed, this.weight(name, [this.cfg.hidden_size]));
  }

  /** x @ W^T (+ b where the config has a bias), then the adapter's linear hook (e.g. LoRA adds its low-rank term). */
  private linear(x: Tensor, layer: number, proj: Projection): Tensor {
    const g = this.g;
    const [out, inp] = projectionShape(this.cfg, proj);
    const w = this.weight(`${projectionPath(layer, proj)}.weight`, [out, inp]);
    let y = g.matmul(x, g.transposeLast(w));
    // The bias belongs to the frozen base layer; an adapter's delta adds to the biased output (as PEFT does).
    if (biasedProjections(this.cfg).includes(proj)) y = g.add(y, this.weight(`${projectionPath(layer, proj)}.bias`, [out]));
    return this.hooks.linear ? this.hooks.linear(x, y, layer, proj) : y;
  }

  /** cos/sin tables [b|1, 1, s, hd] for the given positions (HF rotary embedding). */
  private rope(positions: Tensor): Rope {
    const g = this.g;
    const hd = this.cfg.head_dim;
    const invFreq = new Float32Array(hd / 2);
    for (let i = 0; i < hd / 2; i++) invFreq[i] = 1 / this.cfg.rope_theta ** ((2 * i) / hd);
    const freqs = g.mul(g.unsqueeze(g.cast(positions, 'float32'), [-1]), g.constant(invFreq, [hd / 2], 'float32'));
    const emb = g.unsqueeze(g.concat([freqs, freqs], -1), [1]);
    const cos = g.cos(emb);
    const sin = g.sin(emb);
    return { cos, sin, cos5: g.unsqueeze(cos, [1]), sin5: g.unsqueeze(sin, [1]) };
  }

  private applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
    const g = this.g;
    const half = this.cfg.head_dim / 2;
    const x1 = g.slice(x, -1, 0, half);
    const x2 = g.slice(x, -1, half, this.cfg.head_dim);
    const rotated = g.concat([g.neg(x2), x1], -1);
    return g.add(g.mul(x, cos), g.mul(rotated, sin));
  }

  private attention(x: Tensor, layer: number, rope: Rope, bias: Tensor, past?: { key: Tensor; value: Tensor }) {
    const g = this.g;
    const { num_attention_heads: H, num_key_value_heads: KV, head_dim: hd } = this.cfg;
    const rep = H / KV;
    // Grouped-query attention by broadcasting: q as [b, kv, rep, s, hd] against k, v as
    // [b, kv, 1, t, hd], so q head h reads kv head h // rep (HF repeat_kv) without copying k, v.
    const qShape = rep > 1 ? [0, 0, KV, rep, hd] : [0, 0, H, hd];
    const qPerm = rep > 1 ? [0, 2, 3, 1, 4] : [0, 2, 1, 3];
    let q = g.transpose(g.reshape(this.linear(x, layer, 'q_proj'), qShape), qPerm);
    const kvHeads = (t: Tensor): Tensor => g.transpose(g.reshape(t, [0, 0, KV, hd]), [0, 2, 1, 3]);
    q = rep > 1 ? this.applyRope(q, rope.cos5, rope.sin5) : this.applyRope(q, rope.cos, rope.sin);
    let k = this.applyRope(kvHeads(this.linear(x, layer, 'k_proj')), rope.cos, rope.sin);
    let v = kvHeads(this.linear(x, layer, 'v_proj'));
    if (past) {
      k = g.concat([past.key, k], 2);
      v = g.concat([past.value, v], 2);
    }
    const present = { key: k, value: v };
    let b = bias;
    if (rep > 1) {
      k = g.unsqueeze(k, [2]);
      v = g.unsqueeze(v, [2]);
      if (bias.shape.length === 4) b = g.unsqueeze(bias, [1]);
    }
    const scores = g.add(g.mul(g.matmul(q, g.transposeLast(k)), g.like(q, 1 / Math.sqrt(hd))), b);
    const ctx = g.matmul(g.softmax(scores, -1), v);
    const merged = g.reshape(g.transpose(ctx, rep > 1 ? [0, 3, 1, 2, 4] : [0, 2, 1, 3]), [0, 0, H * hd]);
    return { out: this.linear(merged, layer, 'o_proj'), present };
  }

  private mlp(x: Tensor, layer: number): Tensor {
    const g = this.g;
    return this.linear(g.mul(g.silu(this.linear(x, layer, 'gate_proj')), this.linear(x, layer, 'up_proj')), layer, 'down_proj');
  }

  forward(inp: DecoderInputs): DecoderOutputs {
    const g = this.g;
    const cfg = this.cfg;
    const embed = this.weight('model.embed_tokens.weight', [cfg.vocab_size, cfg.hidden_size]);
    let h = g.gather(embed, inp.ids);
    if (inp.virtualTokens) h = this.prependVirtual(h, inp.virtualTokens);
    const rope = this.rope(inp.positions);
    const present: { key: Tensor; value: Tensor }[] = [];
    for (let i = 0; i < cfg.num_hidden_layers; i++) {
      g.beginSegment(); // a layer is the unit the training graph may recompute in its backward pass
      const attn = this.attention(this.rmsNorm(h, `model.layers.${i}.input_layernorm.weight`), i, rope, inp.bias, inp.past?.[i]);
      present.push(attn.present);
      h = g.add(h, attn.out);
      h = g.add(h, this.mlp(this.rmsNorm(h, `model.layers.${i}.post_attention_layernorm.weight`), i));
      g.endSegment();
    }
    h = this.rmsNorm(h, 'model.norm.weight');
    const head = cfg.tie_word_embeddings ? embed : this.weight('lm_head.weight', [cfg.vocab_size, cfg.hidden_size]);
    const logits = g.matmul(h, g.transposeLast(head));
    return { logits, hidden: h, head, present, weights: this.weights };
  }

  /** [v, hidden] virtual-token embeddings broadcast over the batch, ahead of h [b, s, hidden]. */
  private prependVirtual(h: Tensor, virtual: Tensor): Tensor {
    const g = this.g;
    const H = this.cfg.hidden_size;
    const shape = g.concat([g.unsqueeze(g.dimOf(h, 0), [0]), g.unsqueeze(g.dimOf(virtual, 0), [0]), g.ints([H])], 0);
    const batched = g.expand(g.unsqueeze(virtual, [0]), shape, [h.shape[0]!, virtual.shape[0]!, H]);
    return g.concat([batched, h], 1);
  }
}

const MASKED = -1e9;

/**
 * Causal bias and positions for a batch without cache: bias [s, s], 0 where key <= query, -1e9
 * above the diagonal; positions 0..s-1. With `virtual` tokens ahead of the s ids the queries are
 * v+s; with a key/value `prefix` of n (prefix tuning) every query also sees the n prefix keys
 * (bias [q, n+q]) and positions start at n, as HF numbers tokens that follow a cache of n.
 */
export function causalBias(g: Graph, ids: Tensor, o: { virtual?: number; prefix?: number } = {}): { bias: Tensor; positions: Tensor } {
  const zero = g.scalar(0, 'int64');
  const v = o.virtual ?? 0;
  const n = o.prefix ?? 0;
  if (v === 0 && n === 0) {
    const s = g.dimOf(ids, 1);
    const pos = g.arange(zero, s, ids.shape[1]!);
    const future = g.greater(g.unsqueeze(pos, [0]), g.unsqueeze(pos, [1]));
    const bias = g.where(future, g.scalar(MASKED), g.scalar(0));
    return { bias, positions: g.unsqueeze(pos, [0]) };
  }
  const qDim = addDims(ids.shape[1]!, v);
  const q = g.add(g.dimOf(ids, 1), g.scalar(v, 'int64'));
  const start = g.scalar(n, 'int64');
  const end = g.add(q, start);
  const queryIdx = g.arange(start, end, qDim);
  const keyIdx = g.arange(zero, end, addDims(qDim, n));
  const future = g.greater(g.unsqueeze(keyIdx, [0]), g.unsqueeze(queryIdx, [1]));
  return { bias: g.where(future, g.scalar(MASKED), g.scalar(0)), positions: g.unsqueeze(queryIdx, [0]) };
}

/**
 * Bias [b, 1, q, t] for decoding with a cache of p past tokens: causal by cache index (as HF does)
 * and masking keys where attention_mask [b, t] is 0 (left padding). The queries are the s ids, or
 * v+s with `virtual` tokens [v, hidden] ahead of them (v may be 0 once they are in the cache).
 */
export function cachedBias(g: Graph, ids: Tensor, attentionMask: Tensor, pastLen: Tensor, virtual?: Tensor): Tensor {
  const s = virtual ? g.add(g.dimOf(virtual, 0), g.dimOf(ids, 1)) : g.dimOf(ids, 1);
  const qDim = virtual ? addDims(virtual.shape[0]!, ids.shape[1]!) : ids.shape[1]!;
  const t = g.add(pastLen, s);
  const zero = g.scalar(0, 'int64');
  const keyIdx = g.arange(zero, t, attentionMask.shape[1]!);
  const queryIdx = g.arange(pastLen, t, qDim);
  const future = g.greater(g.unsqueeze(keyIdx, [0]), g.unsqueeze(queryIdx, [1])); // [q, t]
  const padded = g.equal(g.unsqueeze(attentionMask, [1, 2]), zero); // [b, 1, 1, t]
  const masked = g.node('Or', [g.unsqueeze(future, [0, 1]), padded], {}, [
    { dtype: 'bool', shape: [attentionMask.shape[0]!, 1, qDim, attentionMask.shape[1]!] },
  ])[0]!;
  return g.where(masked, g.scalar(MASKED), g.scalar(0));
}
