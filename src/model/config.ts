// LLaMA model configuration, read from and written as a Hugging Face `config.json` (LlamaConfig
// field names), plus the Hugging Face tensor names/shapes such a model's checkpoint holds.
//
// Only the plain LLaMA architecture is supported: SiLU MLP, no attention/MLP biases, unscaled RoPE.
// Anything else is rejected with an error naming the key and the file rather than silently loaded
// into a model that would compute something different.
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { parseJsonText, previewJson } from '../engine/json.js';

export class ConfigError extends UserError {
  override name = 'ConfigError';
}

/**
 * Upper bounds on the sizes in a config.json. Every released LLaMA-style model is far inside them
 * (LLaMA-3.1 405B: hidden 16384, intermediate 53248, 126 layers, 128 heads, head_dim 128;
 * vocabularies up to ~256k; Llama 4 Scout: 10M positions); a config beyond them is a typo or an
 * attack, refused before anything is allocated for it.
 */
export const CONFIG_LIMITS = {
  vocab_size: 2 ** 21,
  hidden_size: 2 ** 16,
  intermediate_size: 2 ** 18,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  max_position_embeddings: 2 ** 24,
} as const;

/**
 * Largest single tensor a config may describe: 2^31 elements (8 GiB as float32; the largest
 * tensor of LLaMA-3.1 405B, its embedding, has 2.1e9), well inside what a Float32Array holds.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;

/** config.json files are ~1 KB; 1 MiB leaves room for long comments and token lists. */
export const MAX_CONFIG_BYTES = 2 ** 20;

export interface LlamaConfig {
  model_type: 'llama';
  architectures: ['LlamaForCausalLM'];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Default: num_attention_heads (plain multi-head attention). */
  num_key_value_heads: number;
  /** Default: hidden_size / num_attention_heads. */
  head_dim: number;
  /** Default: 1e-6. */
  rms_norm_eps: number;
  /** Default: 10000. */
  rope_theta: number;
  /** Default: false. */
  tie_word_embeddings: boolean;
  /** Default: 2048. */
  max_position_embeddings: number;
  hidden_act: 'silu';
  /** Std of the normal init of freshly created weights. Default: 0.02. */
  initializer_range: number;
  bos_token_id?: number;
  /** A single id, or several (as Llama 3 instruct configs list). */
  eos_token_id?: number | number[];
  pad_token_id?: number;
  attention_bias: false;
  mlp_bias: false;
  rope_scaling: null;
  /** e.g. 'float32', 'bfloat16'; informational (also read from the newer key `dtype`). */
  torch_dtype?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Bounded and iterative: a config value may be a 100,000-deep array.
const show = (v: unknown) => previewJson(v);

/**
 * Validates a parsed Hugging Face `config.json` and fills LlamaConfig defaults. Unknown keys are
 * ignored. `file` only labels error messages.
 */
export function parseLlamaConfig(json: unknown, file = 'config.json'): LlamaConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${file}: ${msg}`);
  };
  if (!isPlainObject(json)) return fail(`expected a JSON object, got ${show(json)}`);
  const has = (key: string) => Object.hasOwn(json, key) && json[key] !== undefined;

  const posInt = (key: keyof typeof CONFIG_LIMITS, fallback?: number): number => {
    if (!has(key)) {
      if (fallback === undefined) return fail(`missing required key '${key}'`);
      return fallback;
    }
    const v = json[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      return fail(`'${key}' must be a positive integer, got ${show(v)}`);
    }
    if (v > CONFIG_LIMITS[key]) fail(`'${key}' is ${v}, over the limit of ${CONFIG_LIMITS[key]}`);
    return v;
  };
  const posFloat = (key: string, fallback: number): number => {
    if (!has(key)) return fallback;
    const v = json[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return fail(`'${key}' must be a positive finite number, got ${show(v)}`);
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    if (!has(key)) return fallback;
    const v = json[key];
    if (typeof v !== 'boolean') return fail(`'${key}' must be a boolean, got ${show(v)}`);
    return v;
  };
  const mustBeFalse = (key: string, what: string): false => {
    if (bool(key, false)) fail(`'${key}' is true, but ${what} is not supported (LLaMA has none)`);
    return false;
  };

  // Architecture identity.
  if (has('model_type') && json.model_type !== 'llama') {
    fail(`'model_type' must be "llama", got ${show(json.model_type)}`);
  }
  if (has('architectures')) {
    const a = json.architectures;
    if (!Array.isArray(a) || a.length !== 1 || a[0] !== 'LlamaForCausalLM') {
      fail(`'architectures' must be ["LlamaForCausalLM"], got ${show(a)}`);
    }
  }
  if (has('hidden_act') && json.hidden_act !== 'silu') {
    fail(`'hidden_act' must be "silu", got ${show(json.hidden_act)} (only the SiLU-gated MLP is supported)`);
  }
  const attention_bias = mustBeFalse('attention_bias', 'a bias in the attention projections');
  const mlp_bias = mustBeFalse('mlp_bias', 'a bias in the MLP projections');
  if (has('rope_scaling') && json.rope_scaling !== null) {
    fail(`'rope_scaling' must be null or absent (RoPE scaling is not supported), got ${show(json.rope_scaling)}`);
  }

  // Sizes.
  const vocab_size = posInt('vocab_size');
  const hidden_size = posInt('hidden_size');
  const intermediate_size = posInt('intermediate_size');
  const num_hidden_layers = posInt('num_hidden_layers');
  const num_attention_heads = posInt('num_attention_heads');
  const num_key_value_heads = posInt('num_key_value_heads', num_attention_heads);
  if (!has('head_dim') && hidden_size % num_attention_heads !== 0) {
    fail(`'num_attention_heads' (${num_attention_heads}) must divide 'hidden_size' (${hidden_size}) when 'head_dim' is not given`);
  }
  const head_dim = posInt('head_dim', hidden_size / num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0) {
    fail(`'num_key_value_heads' (${num_key_value_heads}) must divide 'num_attention_heads' (${num_attention_heads})`);
  }
  if (head_dim % 2 !== 0) fail(`'head_dim' (${head_dim}) must be even for rotary embeddings`);
  const max_position_embeddings = posInt('max_position_embeddings', 2048);
  // Each key is bounded above; their products size the tensors (one vocab x hidden embedding).
  const tensorSizes: [string, number, number][] = [
    ['vocab_size x hidden_size', vocab_size, hidden_size],
    ['intermediate_size x hidden_size', intermediate_size, hidden_size],
    ['num_attention_heads x head_dim x hidden_size', num_attention_heads * head_dim, hidden_size],
  ];
  for (const [what, a, b] of tensorSizes) {
    if (a * b > MAX_TENSOR_ELEMENTS) fail(`${what} = ${a * b} elements in one tensor, over the limit of ${MAX_TENSOR_ELEMENTS}`);
  }

  const rms_norm_eps = posFloat('rms_norm_eps', 1e-6);
  let rope_theta = posFloat('rope_theta', 10000);
  // Newer transformers releases move rope_theta into `rope_parameters`; accept it when it describes
  // plain (default) RoPE.
  if (has('rope_parameters') && json.rope_parameters !== null) {
    const rp = json.rope_parameters;
    const extra = isPlainObject(rp) ? Object.keys(rp).filter((k) => k !== 'rope_type' && k !== 'rope_theta') : [];
    if (!isPlainObject(rp) || (rp.rope_type !== undefined && rp.rope_type !== 'default') || extra.length > 0) {
      fail(`'rope_parameters' must describe default RoPE ({rope_type: "default", rope_theta}), got ${show(rp)}`);
    }
    const theta = (rp as Record<string, unknown>).rope_theta;
    if (theta !== undefined) {
      if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) {
        fail(`'rope_parameters.rope_theta' must be a positive finite number, got ${show(theta)}`);
      }
      if (has('rope_theta') && theta !== rope_theta) {
        fail(`'rope_theta' (${rope_theta}) disagrees with 'rope_parameters.rope_theta' (${show(theta)})`);
      }
      rope_theta = theta as number;
    }
  }
  const initializer_range = posFloat('initializer_range', 0.02);
  const tie_word_embeddings = bool('tie_word_embeddings', false);

  // Token ids: optional; null means absent (as transformers writes unset ids).
  const tokenId = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocab_size) {
      return fail(`'${key}' must be an integer in [0, vocab_size=${vocab_size}), got ${show(v)}`);
    }
    return v;
  };
  const optionalId = (key: string): number | undefined => (has(key) && json[key] !== null ? tokenId(key, json[key]) : undefined);
  const bos_token_id = optionalId('bos_token_id');
  const pad_token_id = optionalId('pad_token_id');
  let eos_token_id: number | number[] | undefined;
  if (has('eos_token_id') && json.eos_token_id !== null) {
    const v = json.eos_token_id;
    if (Array.isArray(v)) {
      if (v.length === 0) fail(`'eos_token_id' must not be an empty list`);
      eos_token_id = v.map((x) => tokenId('eos_token_id', x));
    } else {
      eos_token_id = tokenId('eos_token_id', v);
    }
  }

  let torch_dtype: string | undefined;
  for (const key of ['torch_dtype', 'dtype']) {
    if (!has(key) || json[key] === null) continue;
    if (typeof json[key] !== 'string') fail(`'${key}' must be a string, got ${show(json[key])}`);
    torch_dtype ??= json[key] as string;
  }

  const cfg: LlamaConfig = {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size,
    hidden_size,
    intermediate_size,
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    rms_norm_eps,
    rope_theta,
    tie_word_embeddings,
    max_position_embeddings,
    hidden_act: 'silu',
    initializer_range,
    attention_bias,
    mlp_bias,
    rope_scaling: null,
  };
  if (bos_token_id !== undefined) cfg.bos_token_id = bos_token_id;
  if (eos_token_id !== undefined) cfg.eos_token_id = eos_token_id;
  if (pad_token_id !== undefined) cfg.pad_token_id = pad_token_id;
  if (torch_dtype !== undefined) cfg.torch_dtype = torch_dtype;
  return cfg;
}

/**
 * Full Hugging Face-style `config.json` object (keys sorted, as transformers writes them), loadable
 * by `transformers.LlamaConfig` and by parseLlamaConfig. Unset token ids are written as null.
 */
export function llamaConfigToJson(cfg: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: [...cfg.architectures],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: cfg.bos_token_id ?? null,
    eos_token_id: Array.isArray(cfg.eos_token_id) ? [...cfg.eos_token_id] : (cfg.eos_token_id ?? null),
    head_dim: cfg.head_dim,
    hidden_act: 'silu',
    hidden_size: cfg.hidden_size,
    initializer_range: cfg.initializer_range,
    intermediate_size: cfg.intermediate_size,
    max_position_embeddings: cfg.max_position_embeddings,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: cfg.num_attention_heads,
    num_hidden_layers: cfg.num_hidden_layers,
    num_key_value_heads: cfg.num_key_value_heads,
    pad_token_id: cfg.pad_token_id ?? null,
    pretraining_tp: 1,
    rms_norm_eps: cfg.rms_norm_eps,
    rope_scaling: null,
    rope_theta: cfg.rope_theta,
    tie_word_embeddings: cfg.tie_word_embeddings,
    torch_dtype: cfg.torch_dtype ?? 'float32',
    use_cache: true,
    vocab_size: cfg.vocab_size,
  };
  return out;
}

/** Reads and validates a config.json file (a regular file of at most MAX_CONFIG_BYTES); errors name it. */
export async function loadLlamaConfigFile(path: string): Promise<LlamaConfig> {
  const text = await readRegularText(path, { maxBytes: MAX_CONFIG_BYTES });
  return parseLlamaConfig(parseJsonText(text, path), path);
}

/** Reads and validates `<dir>/config.json`; errors name that path. */
export async function loadLlamaConfig(dir: string): Promise<LlamaConfig> {
  return loadLlamaConfigFile(join(dir, 'config.json'));
}

/** Number of weights of the model a config describes (what initWeights allocates, as float32). */
export function parameterCount(cfg: LlamaConfig): number {
  let n = 0;
  for (const shape of expectedTensorShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Hugging Face tensor names and shapes ([out, in] for projections, as nn.Linear stores them) of a
 * LlamaForCausalLM checkpoint, in model order. `lm_head.weight` only when embeddings are untied.
 */
export function expectedTensorShapes(cfg: LlamaConfig): Map<string, number[]> {
  const { vocab_size: V, hidden_size: H, intermediate_size: I, head_dim: D } = cfg;
  const q = cfg.num_attention_heads * D;
  const kv = cfg.num_key_value_heads * D;
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [V, H]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [H]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [q, H]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kv, H]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kv, H]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [H, q]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [H]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [I, H]);
    shapes.set(`${p}.mlp.up_proj.weight`, [I, H]);
    shapes.set(`${p}.mlp.down_proj.weight`, [H, I]);
  }
  shapes.set('model.norm.weight', [H]);
  if (!cfg.tie_word_embeddings) shapes.set('lm_head.weight', [V, H]);
  return shapes;
}
