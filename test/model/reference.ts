// An independent, deliberately naive forward pass of transformers' LlamaForCausalLM and
// Qwen2ForCausalLM in float64, written from the Hugging Face modeling code (modeling_llama.py,
// modeling_qwen2.py), not from src/model. Only the LlamaConfig type is shared. Used to check the
// ONNX graphs against the reference semantics:
//
//   h = embed_tokens[ids]
//   for each layer:
//     a = RMSNorm(h; input_layernorm)          x * 1/sqrt(mean(x^2) + eps) * w
//     q, k, v = a Wq^T + bq, a Wk^T + bk, a Wv^T + bv
//                                               (nn.Linear weights are [out, in]; the biases exist
//                                                in Qwen2 always, in LLaMA when attention_bias)
//     q, k = RoPE(q), RoPE(k)                   rotate_half, emb = cat(freqs, freqs)
//     attn = softmax(q k^T / sqrt(hd) + causal) v, q head h reads kv head h // (H / KV)
//     h = h + attn Wo^T (+ bo: LLaMA attention_bias only; Qwen2's o_proj has none)
//     m = RMSNorm(h; post_attention_layernorm)
//     h = h + down(silu(gate(m)) * up(m))       (+ biases on all three: LLaMA mlp_bias only)
//   logits = RMSNorm(h; norm) lm_head^T   (lm_head = embed_tokens when tied)
import type { LlamaConfig } from '../../src/model/config.js';

type Weights = Map<string, Float32Array>;

function get(w: Weights, name: string, size: number, used?: Set<string>): Float32Array {
  used?.add(name);
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight '${name}'`);
  if (t.length !== size) throw new Error(`reference: weight '${name}' has ${t.length} elements, expected ${size}`);
  return t;
}

/** y[out] = b[o] + sum_i x[i] * W[o, i] for W stored row-major [out, in] (no bias: b = 0). */
function linear(x: Float64Array, W: Float32Array, out: number, b?: Float32Array): Float64Array {
  const inp = x.length;
  if (W.length !== out * inp) throw new Error(`reference: linear shape mismatch (${W.length} vs ${out}x${inp})`);
  if (b && b.length !== out) throw new Error(`reference: bias has ${b.length} elements, expected ${out}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b ? b[o]! : 0;
    const row = o * inp;
    for (let i = 0; i < inp; i++) s += x[i]! * W[row + i]!;
    y[o] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * inv * w[i]!;
  return y;
}

const silu = (v: number): number => v / (1 + Math.exp(-v));

/** HF rotate_half on one head vector: cat(-x2, x1). */
function rotateHalf(x: Float64Array): Float64Array {
  const half = x.length / 2;
  const out = new Float64Array(x.length);
  for (let i = 0; i < half; i++) {
    out[i] = -x[half + i]!;
    out[half + i] = x[i]!;
  }
  return out;
}

/** cos/sin of emb = cat(freqs, freqs), freqs[i] = pos * inv_freq[i], inv_freq[i] = theta^(-2i/hd). */
function ropeTables(pos: number, hd: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const cos = new Float64Array(hd);
  const sin = new Float64Array(hd);
  for (let i = 0; i < hd / 2; i++) {
    const invFreq = 1 / theta ** ((2 * i) / hd);
    const f = pos * invFreq;
    cos[i] = cos[i + hd / 2] = Math.cos(f);
    sin[i] = sin[i + hd / 2] = Math.sin(f);
  }
  return { cos, sin };
}

/** x * cos + rotate_half(x) * sin for one head vector. */
function applyRope(x: Float64Array, cos: Float64Array, sin: Float64Array): Float64Array {
  const r = rotateHalf(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * cos[i]! + r[i]! * sin[i]!;
  return out;
}

/**
 * What PEFT's prompt-learning methods give the model (peft_model.py PeftModelForCausalLM.forward):
 * `virtual` embeddings [v][hidden] concatenated ahead of inputs_embeds (prompt tuning, P-tuning),
 * or past_key_values (prefix tuning): per layer key and value [kv][p][hd], used as cached keys as
 * they are (no rotary embedding applied to them), the sequence then at positions p..p+n-1.
 */
export interface ReferencePrompt {
  virtual?: readonly Float64Array[];
  prefix?: readonly { key: readonly (readonly Float64Array[])[]; value: readonly (readonly Float64Array[])[] }[];
}

/**
 * Logits [n][vocab] (float64) of LlamaForCausalLM / Qwen2ForCausalLM for one unpadded sequence at positions 0..n-1,
 * or with `prompt` as PEFT feeds it (the logits of the n tokens only, not of virtual tokens).
 */
export function referenceLogits(cfg: LlamaConfig, w: Weights, ids: readonly number[], prompt: ReferencePrompt = {}): Float64Array[] {
  const D = cfg.hidden_size;
  const V = cfg.vocab_size;
  const I = cfg.intermediate_size;
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads;
  const hd = cfg.head_dim;
  const groups = H / KV;
  const virtual = prompt.virtual ?? [];
  const n = virtual.length + ids.length;
  const P = prompt.prefix?.[0]?.key[0]?.length ?? 0;
  const eps = cfg.rms_norm_eps;
  const scale = 1 / Math.sqrt(hd);

  // Every tensor handed in must be one the modeling code reads: an extra one (say, an o_proj bias
  // Qwen2 does not have) would otherwise be silently ignored here while the graph used it.
  const used = new Set<string>();
  const read = (name: string, size: number) => get(w, name, size, used);
  const embed = read('model.embed_tokens.weight', V * D);
  let h: Float64Array[] = [
    ...virtual.map((row) => Float64Array.from(row)),
    ...ids.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`reference: token id ${id} out of range`);
      return Float64Array.from(embed.subarray(id * D, (id + 1) * D));
    }),
  ];
  const tables = Array.from({ length: n }, (_, p) => ropeTables(P + p, hd, cfg.rope_theta));

  // Which nn.Linear layers have bias=True, as the two modeling files construct them.
  const qwen2 = cfg.model_type === 'qwen2';
  const qkvBias = qwen2 || (cfg.model_type === 'llama' && cfg.attention_bias);
  const oBias = cfg.model_type === 'llama' && cfg.attention_bias;
  const mlpBias = cfg.model_type === 'llama' && cfg.mlp_bias;
  const bias = (on: boolean, name: string, size: number) => (on ? read(name, size) : undefined);

  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const bq = bias(qkvBias, `${p}.self_attn.q_proj.bias`, H * hd);
    const bk = bias(qkvBias, `${p}.self_attn.k_proj.bias`, KV * hd);
    const bv = bias(qkvBias, `${p}.self_attn.v_proj.bias`, KV * hd);
    const bo = bias(oBias, `${p}.self_attn.o_proj.bias`, D);
    const bg = bias(mlpBias, `${p}.mlp.gate_proj.bias`, I);
    const bu = bias(mlpBias, `${p}.mlp.up_proj.bias`, I);
    const bd = bias(mlpBias, `${p}.mlp.down_proj.bias`, D);
    const inNorm = read(`${p}.input_layernorm.weight`, D);
    const Wq = read(`${p}.self_attn.q_proj.weight`, H * hd * D);
    const Wk = read(`${p}.self_attn.k_proj.weight`, KV * hd * D);
    const Wv = read(`${p}.self_attn.v_proj.weight`, KV * hd * D);
    const Wo = read(`${p}.self_attn.o_proj.weight`, D * H * hd);
    const postNorm = read(`${p}.post_attention_layernorm.weight`, D);
    const Wg = read(`${p}.mlp.gate_proj.weight`, I * D);
    const Wu = read(`${p}.mlp.up_proj.weight`, I * D);
    const Wd = read(`${p}.mlp.down_proj.weight`, D * I);

    // Per position, per head: rotated q [n][H][hd], rotated k and plain v [n][KV][hd].
    const q: Float64Array[][] = [];
    const k: Float64Array[][] = [];
    const v: Float64Array[][] = [];
    for (let t = 0; t < n; t++) {
      const a = rmsNorm(h[t]!, inNorm, eps);
      const qa = linear(a, Wq, H * hd, bq);
      const ka = linear(a, Wk, KV * hd, bk);
      const va = linear(a, Wv, KV * hd, bv);
      const { cos, sin } = tables[t]!;
      q.push(Array.from({ length: H }, (_, hh) => applyRope(qa.subarray(hh * hd, (hh + 1) * hd), cos, sin)));
      k.push(Array.from({ length: KV }, (_, kh) => applyRope(ka.subarray(kh * hd, (kh + 1) * hd), cos, sin)));
      v.push(Array.from({ length: KV }, (_, kh) => va.slice(kh * hd, (kh + 1) * hd)));
    }

    // Prefix keys and values come first in the cache: position s of the attended keys is prefix
    // entry s for s < P, else token s - P.
    const pre = prompt.prefix?.[l];
    const keyAt = (s: number, kh: number): Float64Array => (s < P ? (pre!.key[kh]![s] as Float64Array) : k[s - P]![kh]!);
    const valueAt = (s: number, kh: number): Float64Array => (s < P ? (pre!.value[kh]![s] as Float64Array) : v[s - P]![kh]!);
    const next: Float64Array[] = [];
    for (let t = 0; t < n; t++) {
      // Attention output, heads concatenated: [H * hd].
      const ctx = new Float64Array(H * hd);
      for (let hh = 0; hh < H; hh++) {
        const kh = Math.floor(hh / groups);
        const qv = q[t]![hh]!;
        const last = P + t; // causal: the prefix and keys 0..t only
        const scores = new Float64Array(last + 1);
        let max = -Infinity;
        for (let s = 0; s <= last; s++) {
          const kv = keyAt(s, kh);
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qv[d]! * kv[d]!;
          scores[s] = dot * scale;
          if (scores[s]! > max) max = scores[s]!;
        }
        let z = 0;
        for (let s = 0; s <= last; s++) {
          scores[s] = Math.exp(scores[s]! - max);
          z += scores[s]!;
        }
        for (let s = 0; s <= last; s++) {
          const pr = scores[s]! / z;
          const vv = valueAt(s, kh);
          for (let d = 0; d < hd; d++) ctx[hh * hd + d] += pr * vv[d]!;
        }
      }
      const attnOut = linear(ctx, Wo, D, bo);
      const h1 = new Float64Array(D);
      for (let i = 0; i < D; i++) h1[i] = h[t]![i]! + attnOut[i]!;

      const m = rmsNorm(h1, postNorm, eps);
      const gate = linear(m, Wg, I, bg);
      const up = linear(m, Wu, I, bu);
      const act = new Float64Array(I);
      for (let i = 0; i < I; i++) act[i] = silu(gate[i]!) * up[i]!;
      const down = linear(act, Wd, D, bd);
      const h2 = new Float64Array(D);
      for (let i = 0; i < D; i++) h2[i] = h1[i]! + down[i]!;
      next.push(h2);
    }
    h = next;
  }

  const finalNorm = read('model.norm.weight', D);
  const head = cfg.tie_word_embeddings ? embed : read('lm_head.weight', V * D);
  const unused = [...w.keys()].filter((k) => !used.has(k));
  if (unused.length) throw new Error(`reference: tensors this model does not have: ${unused.join(', ')}`);
  return h.slice(virtual.length).map((x) => linear(rmsNorm(x, finalNorm, eps), head, V));
}

/** Mean next-token cross-entropy (natural log) over all sequences, from reference logits. */
export function referenceNll(cfg: LlamaConfig, w: Weights, sequences: readonly (readonly number[])[]): { nll: number; tokens: number } {
  let sum = 0;
  let tokens = 0;
  for (const seq of sequences) {
    const logits = referenceLogits(cfg, w, seq);
    for (let j = 0; j + 1 < seq.length; j++) {
      const row = logits[j]!;
      let max = -Infinity;
      for (const x of row) if (x > max) max = x;
      let z = 0;
      for (const x of row) z += Math.exp(x - max);
      sum += max + Math.log(z) - row[seq[j + 1]!]!;
      tokens++;
    }
  }
  return { nll: sum / tokens, tokens };
}
