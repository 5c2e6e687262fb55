// Decoder model configuration, read from and written as a Hugging Face `config.json` (LlamaConfig /
// Qwen2Config field names), plus the Hugging Face tensor names/shapes such a model's checkpoint holds.
//
// Two architectures share one decoder: LLaMA (`model_type: llama`, optionally with LlamaConfig's
// `attention_bias` on q/k/v/o_proj and `mlp_bias` on the MLP projections) and Qwen2 / Qwen2.5
// (`model_type: qwen2`: LLaMA with a bias on q_proj, k_proj and v_proj). Both use SiLU MLPs and
// plain RoPE over full causal attention. Anything that would change that math (RoPE scaling,
// sliding-window attention, another activation, attention dropout, partial rotary embeddings) is
// rejected with an error naming the key, its value and the file rather than silently loaded into a
// model that would compute something different.
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

/** The model types parseLlamaConfig accepts, with the one causal-LM class each checkpoint names. */
export const ARCHITECTURES = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' } as const;
export type ModelType = keyof typeof ARCHITECTURES;

/** Fields every supported architecture shares (LlamaConfig names). */
interface DecoderConfig {
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
  rope_scaling: null;
  /** e.g. 'float32', 'bfloat16'; informational (also read from the newer key `dtype`). */
  torch_dtype?: string;
}

/** transformers' LlamaForCausalLM. */
export interface LlamaArchitecture {
  model_type: 'llama';
  architectures: ['LlamaForCausalLM'];
  /** A bias on q_proj, k_proj, v_proj and o_proj. Default: false. */
  attention_bias: boolean;
  /** A bias on gate_proj, up_proj and down_proj. Default: false. */
  mlp_bias: boolean;
}

/**
 * transformers' Qwen2ForCausalLM (Qwen2, Qwen2.5): always a bias on q_proj, k_proj and v_proj, none
 * elsewhere (Qwen2Config has no attention_bias / mlp_bias keys; transformers ignores them there).
 */
export interface Qwen2Architecture {
  model_type: 'qwen2';
  architectures: ['Qwen2ForCausalLM'];
  /** Sliding-window attention is refused, so every layer attends to the full causal prefix. */
  use_sliding_window: false;
}

/** A LLaMA-family decoder's config.json, checked and with defaults filled (see parseLlamaConfig). */
export type LlamaConfig = DecoderConfig & (LlamaArchitecture | Qwen2Architecture);

/** The nn.Linear projections that carry a bias (`<module>.bias`, shape [out]) in every layer. */
export function biasedProjections(cfg: LlamaConfig): readonly string[] {
  if (cfg.model_type === 'qwen2') return ['q_proj', 'k_proj', 'v_proj'];
  return [
    ...(cfg.attention_bias ? ['q_proj', 'k_proj', 'v_proj', 'o_proj'] : []),
    ...(cfg.mlp_bias ? ['gate_proj', 'up_proj', 'down_proj'] : []),
  ];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key naming a RoPE variant in a rope_scaling / rope_parameters object: `rope_type`, or the older `type`. */
const ropeKindKey = (v: unknown): 'rope_type' | 'type' | undefined =>
  isPlainObject(v) ? (['rope_type', 'type'] as const).find((k) => v[k] !== undefined) : undefined;

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
  // Architecture identity: model_type decides (absent: from architectures, else llama, as before).
  const knownTypes = Object.keys(ARCHITECTURES) as ModelType[];
  const typeNames = knownTypes.map((t) => JSON.stringify(t)).join(' or ');
  let model_type: ModelType = 'llama';
  if (has('model_type')) {
    if (!knownTypes.includes(json.model_type as ModelType)) {
      fail(`'model_type' must be ${typeNames}, got ${show(json.model_type)} (only LLaMA and Qwen2 decoders are supported)`);
    }
    model_type = json.model_type as ModelType;
  } else if (has('architectures') && Array.isArray(json.architectures) && json.architectures[0] === ARCHITECTURES.qwen2) {
    model_type = 'qwen2';
  }
  if (has('architectures')) {
    const a = json.architectures;
    if (!Array.isArray(a) || a.length !== 1 || a[0] !== ARCHITECTURES[model_type]) {
      fail(`'architectures' must be ["${ARCHITECTURES[model_type]}"] for model_type "${model_type}", got ${show(a)}`);
    }
  }

  // The math both architectures share: refuse whatever would change it.
  if (has('hidden_act') && json.hidden_act !== 'silu') {
    fail(`'hidden_act' must be "silu", got ${show(json.hidden_act)} (only the SiLU-gated MLP is supported)`);
  }
  if (has('rope_scaling') && json.rope_scaling !== null) {
    const kind = ropeKindKey(json.rope_scaling);
    fail(
      kind
        ? `'rope_scaling.${kind}' is ${show((json.rope_scaling as Record<string, unknown>)[kind])}, but RoPE scaling is not supported ` +
            `(only plain RoPE with rope_theta): 'rope_scaling' must be null or absent, got ${show(json.rope_scaling)}`
        : `'rope_scaling' must be null or absent (RoPE scaling is not supported), got ${show(json.rope_scaling)}`,
    );
  }
  if (has('attention_dropout') && json.attention_dropout !== 0) {
    fail(`'attention_dropout' must be 0, got ${show(json.attention_dropout)} (dropout on attention weights is not supported)`);
  }
  // transformers' default RoPE rotates only head_dim * partial_rotary_factor dimensions.
  if (has('partial_rotary_factor') && json.partial_rotary_factor !== 1) {
    fail(`'partial_rotary_factor' must be 1, got ${show(json.partial_rotary_factor)} (RoPE on part of a head is not supported)`);
  }
  const biasFlag = (key: string): boolean => {
    if (!has(key)) return false;
    const v = json[key];
    if (typeof v !== 'boolean') return fail(`'${key}' must be a boolean, got ${show(v)}`);
    return v;
  };
  // LlamaConfig's bias switches; Qwen2Config has neither (its q/k/v biases come with the type).
  const attention_bias = model_type === 'llama' ? biasFlag('attention_bias') : false;
  const mlp_bias = model_type === 'llama' ? biasFlag('mlp_bias') : false;

  // Sizes.
  const vocab_size = posInt('vocab_size');
  const hidden_size = posInt('hidden_size');
  const intermediate_size = posInt('intermediate_size');
  const num_hidden_layers = posInt('num_hidden_layers');
  const num_attention_heads = posInt('num_attention_heads');
  // Qwen2Config defaults num_key_value_heads to 32, not to num_attention_heads: make it explicit.
  if (model_type === 'qwen2' && !has('num_key_value_heads')) {
    fail(
      `missing required key 'num_key_value_heads' (model_type "qwen2": transformers would default it to 32, not to num_attention_heads)`,
    );
  }
  const num_key_value_heads = posInt('num_key_value_heads', num_attention_heads);
  if (!has('head_dim') && hidden_size % num_attention_heads !== 0) {
    fail(`'num_attention_heads' (${num_attention_heads}) must divide 'hidden_size' (${hidden_size}) when 'head_dim' is not given`);
  }
  const head_dim = posInt('head_dim', hidden_size / num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0) {
    fail(`'num_key_value_heads' (${num_key_value_heads}) must divide 'num_attention_heads' (${num_attention_heads})`);
  }
  if (head_dim % 2 !== 0) fail(`'head_dim' (${head_dim}) must be even for rotary embeddings`);
  const max_position_embeddings = posInt('max_position_embeddings', model_type === 'qwen2' ? 32768 : 2048);
  if (model_type === 'qwen2') checkFullAttention(json, num_hidden_layers, fail);
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
      const kind =
        isPlainObject(rp) && rp.rope_type !== undefined && rp.rope_type !== 'default'
          ? `'rope_parameters.rope_type' is ${show(rp.rope_type)}: `
          : '';
      fail(
        `${kind}'rope_parameters' must describe default RoPE ({rope_type: "default", rope_theta}; RoPE scaling is not supported), got ${show(rp)}`,
      );
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

  const shared: DecoderConfig = {
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
    rope_scaling: null,
  };
  const cfg: LlamaConfig =
    model_type === 'qwen2'
      ? { model_type, architectures: [ARCHITECTURES.qwen2], ...shared, use_sliding_window: false }
      : { model_type, architectures: [ARCHITECTURES.llama], ...shared, attention_bias, mlp_bias };
  if (bos_token_id !== undefined) cfg.bos_token_id = bos_token_id;
  if (eos_token_id !== undefined) cfg.eos_token_id = eos_token_id;
  if (pad_token_id !== undefined) cfg.pad_token_id = pad_token_id;
  if (torch_dtype !== undefined) cfg.torch_dtype = torch_dtype;
  return cfg;
}

/**
 * Refuses a Qwen2 config in which any layer would use sliding-window attention. transformers'
 * Qwen2Config gives layer i a window when use_sliding_window is true, sliding_window is set and
 * i >= max_window_layers; newer configs spell this out per layer in `layer_types`.
 * Released Qwen2/Qwen2.5 configs carry a sliding_window with use_sliding_window false: full attention.
 */
function checkFullAttention(json: Record<string, unknown>, layers: number, fail: (msg: string) => never): void {
  const has = (key: string) => Object.hasOwn(json, key) && json[key] !== undefined;
  if (has('use_sliding_window') && typeof json.use_sliding_window !== 'boolean') {
    fail(`'use_sliding_window' must be a boolean, got ${show(json.use_sliding_window)}`);
  }
  if (json.use_sliding_window === true) {
    // Qwen2Config's defaults when a key is absent: sliding_window 4096, max_window_layers 28.
    const window = has('sliding_window') ? json.sliding_window : 4096;
    if (window !== null && (typeof window !== 'number' || !Number.isSafeInteger(window) || window <= 0)) {
      fail(`'sliding_window' must be a positive integer or null, got ${show(window)}`);
    }
    const first = has('max_window_layers') ? json.max_window_layers : 28;
    if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) {
      fail(`'max_window_layers' must be a non-negative integer, got ${show(first)}`);
    }
    if (window !== null && (first as number) < layers) {
      const which = (first as number) === layers - 1 ? `layer ${layers - 1}` : `layers ${first}..${layers - 1}`;
      fail(
        `'use_sliding_window' is true with 'sliding_window' ${window} and 'max_window_layers' ${first}: ${which} would use ` +
          'sliding-window attention, which is not supported (only full causal attention; set use_sliding_window to false)',
      );
    }
  }
  if (has('layer_types') && json.layer_types !== null) {
    const types = json.layer_types;
    if (!Array.isArray(types) || types.length !== layers) {
      fail(`'layer_types' must be a list of num_hidden_layers (${layers}) entries, got ${show(types)}`);
    }
    const i = (types as unknown[]).findIndex((t) => t !== 'full_attention');
    if (i >= 0) {
      fail(`'layer_types[${i}]' is ${show((types as unknown[])[i])}, but only "full_attention" is supported (no sliding-window attention)`);
    }
  }
}

/**
 * Full Hugging Face-style `config.json` object (keys sorted, as transformers writes them), loadable
 * by `transformers.LlamaConfig` (or `Qwen2Config` for model_type qwen2) and by parseLlamaConfig.
 * Unset token ids are written as null.
 */
export function llamaConfigToJson(cfg: LlamaConfig): Record<string, unknown> {
  const shared: Record<string, unknown> = {
    architectures: [...cfg.architectures],
    attention_dropout: 0.0,
    bos_token_id: cfg.bos_token_id ?? null,
    eos_token_id: Array.isArray(cfg.eos_token_id) ? [...cfg.eos_token_id] : (cfg.eos_token_id ?? null),
    head_dim: cfg.head_dim,
    hidden_act: 'silu',
    hidden_size: cfg.hidden_size,
    initializer_range: cfg.initializer_range,
    intermediate_size: cfg.intermediate_size,
    max_position_embeddings: cfg.max_position_embeddings,
    model_type: cfg.model_type,
    num_attention_heads: cfg.num_attention_heads,
    num_hidden_layers: cfg.num_hidden_layers,
    num_key_value_heads: cfg.num_key_value_heads,
    pad_token_id: cfg.pad_token_id ?? null,
    rms_norm_eps: cfg.rms_norm_eps,
    rope_scaling: null,
    rope_theta: cfg.rope_theta,
    tie_word_embeddings: cfg.tie_word_embeddings,
    torch_dtype: cfg.torch_dtype ?? 'float32',
    use_cache: true,
    vocab_size: cfg.vocab_size,
  };
  const own: Record<string, unknown> =
    cfg.model_type === 'qwen2'
      ? { max_window_layers: cfg.num_hidden_layers, sliding_window: null, use_sliding_window: false }
      : { attention_bias: cfg.attention_bias, mlp_bias: cfg.mlp_bias, pretraining_tp: 1 };
  const all = { ...shared, ...own };
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((k) => [k, all[k]]),
  );
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
 * Hugging Face tensor names and shapes ([out, in] for projections, as nn.Linear stores them, and
 * [out] for their biases) of a LlamaForCausalLM / Qwen2ForCausalLM checkpoint, in model order.
 * `lm_head.weight` only when embeddings are untied.
 */
export function expectedTensorShapes(cfg: LlamaConfig): Map<string, number[]> {
  const { vocab_size: V, hidden_size: H, intermediate_size: I, head_dim: D } = cfg;
  const q = cfg.num_attention_heads * D;
  const kv = cfg.num_key_value_heads * D;
  const biased = biasedProjections(cfg);
  const shapes = new Map<string, number[]>();
  const linear = (module: string, out: number, inp: number) => {
    shapes.set(`${module}.weight`, [out, inp]);
    if (biased.includes(module.slice(module.lastIndexOf('.') + 1))) shapes.set(`${module}.bias`, [out]);
  };
  shapes.set('model.embed_tokens.weight', [V, H]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [H]);
    linear(`${p}.self_attn.q_proj`, q, H);
    linear(`${p}.self_attn.k_proj`, kv, H);
    linear(`${p}.self_attn.v_proj`, kv, H);
    linear(`${p}.self_attn.o_proj`, H, q);
    shapes.set(`${p}.post_attention_layernorm.weight`, [H]);
    linear(`${p}.mlp.gate_proj`, I, H);
    linear(`${p}.mlp.up_proj`, I, H);
    linear(`${p}.mlp.down_proj`, H, I);
  }
  shapes.set('model.norm.weight', [H]);
  if (!cfg.tie_word_embeddings) shapes.set('lm_head.weight', [V, H]);
  return shapes;
}
