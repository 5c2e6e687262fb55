import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  biasedProjections,
  CONFIG_LIMITS,
  ConfigError,
  expectedTensorShapes,
  llamaConfigToJson,
  loadLlamaConfig,
  parameterCount,
  parseLlamaConfig,
} from '../../src/model/config.js';
import { deepJson, expectCleanError } from '../bounded.js';

const minimal = {
  vocab_size: 100,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
};

/** Llama-3.2-1B's config.json without rope_scaling (which is unsupported). */
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

/** Qwen2.5-0.5B's config.json, as published. */
const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const qwenMinimal = { ...minimal, model_type: 'qwen2', num_key_value_heads: 2 };

const err = (json: unknown, message: string | RegExp, file?: string) => {
  expect(() => parseLlamaConfig(json, file)).toThrow(ConfigError);
  expect(() => parseLlamaConfig(json, file)).toThrow(message);
};

describe('parseLlamaConfig', () => {
  it('fills the LlamaConfig defaults', () => {
    expect(parseLlamaConfig(minimal)).toEqual({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 100,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 16,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      max_position_embeddings: 2048,
      hidden_act: 'silu',
      initializer_range: 0.02,
      attention_bias: false,
      mlp_bias: false,
      rope_scaling: null,
    });
  });

  it('reads a real Hugging Face config', () => {
    const cfg = parseLlamaConfig(llama32);
    expect(cfg).toMatchObject({
      num_key_value_heads: 8,
      head_dim: 64,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
      tie_word_embeddings: true,
      max_position_embeddings: 131072,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      torch_dtype: 'bfloat16',
    });
    expect(cfg.pad_token_id).toBeUndefined();
  });

  it('accepts an explicit head_dim that does not divide hidden_size', () => {
    const cfg = parseLlamaConfig({ ...minimal, hidden_size: 60, num_attention_heads: 8, head_dim: 8 });
    expect(cfg.head_dim).toBe(8);
  });

  it('treats null token ids as absent and reads single ids', () => {
    const cfg = parseLlamaConfig({ ...minimal, bos_token_id: 1, eos_token_id: 2, pad_token_id: null });
    expect(cfg.bos_token_id).toBe(1);
    expect(cfg.eos_token_id).toBe(2);
    expect('pad_token_id' in cfg).toBe(false);
  });

  it('accepts default RoPE described by rope_parameters and the newer dtype key', () => {
    const cfg = parseLlamaConfig({ ...minimal, rope_parameters: { rope_type: 'default', rope_theta: 5e5 }, dtype: 'float16' });
    expect(cfg.rope_theta).toBe(5e5);
    expect(cfg.torch_dtype).toBe('float16');
  });

  it('rejects non-objects', () => {
    err(null, 'config.json: expected a JSON object, got null');
    err([1], 'config.json: expected a JSON object, got [1]');
  });

  it('names missing required keys and the file', () => {
    for (const key of Object.keys(minimal)) {
      const json: Record<string, unknown> = { ...minimal };
      delete json[key];
      err(json, `models/tiny/config.json: missing required key '${key}'`, 'models/tiny/config.json');
    }
  });

  it('rejects non-positive, fractional and non-numeric sizes', () => {
    err({ ...minimal, hidden_size: 0 }, "config.json: 'hidden_size' must be a positive integer, got 0");
    err({ ...minimal, vocab_size: 10.5 }, "'vocab_size' must be a positive integer, got 10.5");
    err({ ...minimal, num_hidden_layers: '2' }, `'num_hidden_layers' must be a positive integer, got "2"`);
    err({ ...minimal, head_dim: -16 }, "'head_dim' must be a positive integer, got -16");
    err({ ...minimal, max_position_embeddings: null }, "'max_position_embeddings' must be a positive integer, got null");
    err({ ...minimal, rms_norm_eps: 0 }, "'rms_norm_eps' must be a positive finite number, got 0");
    err({ ...minimal, rope_theta: 'big' }, `'rope_theta' must be a positive finite number, got "big"`);
    err({ ...minimal, tie_word_embeddings: 'yes' }, `'tie_word_embeddings' must be a boolean, got "yes"`);
  });

  it('checks head divisibility', () => {
    err(
      { ...minimal, num_attention_heads: 5 },
      "config.json: 'num_attention_heads' (5) must divide 'hidden_size' (64) when 'head_dim' is not given",
    );
    err({ ...minimal, num_key_value_heads: 3 }, "config.json: 'num_key_value_heads' (3) must divide 'num_attention_heads' (4)");
    err({ ...minimal, head_dim: 15 }, "'head_dim' (15) must be even for rotary embeddings");
  });

  it('rejects unsupported architecture variants', () => {
    err({ ...minimal, hidden_act: 'gelu' }, `'hidden_act' must be "silu", got "gelu"`);
    err({ ...minimal, mlp_bias: 0 }, "'mlp_bias' must be a boolean, got 0");
    err({ ...minimal, attention_bias: 'yes' }, `'attention_bias' must be a boolean, got "yes"`);
    err({ ...minimal, model_type: 'mistral' }, `'model_type' must be "llama" or "qwen2", got "mistral"`);
    err(
      { ...minimal, architectures: ['LlamaForSequenceClassification'] },
      `'architectures' must be ["LlamaForCausalLM"] for model_type "llama"`,
    );
    err(
      { ...minimal, model_type: 'qwen2', num_key_value_heads: 4, architectures: ['LlamaForCausalLM'] },
      `'architectures' must be ["Qwen2ForCausalLM"] for model_type "qwen2", got ["LlamaForCausalLM"]`,
    );
    err({ ...minimal, attention_dropout: 0.1 }, "'attention_dropout' must be 0, got 0.1 (dropout on attention weights is not supported)");
    err({ ...minimal, partial_rotary_factor: 0.5 }, "'partial_rotary_factor' must be 1, got 0.5");
  });

  it('refuses every RoPE scaling kind, naming the field and its value', () => {
    // The kinds transformers implements, in the newer (rope_type) and older (type) spelling.
    for (const kind of ['linear', 'dynamic', 'yarn', 'longrope', 'llama3']) {
      err(
        { ...minimal, rope_scaling: { rope_type: kind, factor: 4 } },
        `config.json: 'rope_scaling.rope_type' is "${kind}", but RoPE scaling is not supported (only plain RoPE with rope_theta): ` +
          `'rope_scaling' must be null or absent, got {"rope_type":"${kind}","factor":4}`,
      );
      err({ ...minimal, rope_scaling: { type: kind, factor: 2 } }, `'rope_scaling.type' is "${kind}", but RoPE scaling is not supported`);
      err(
        { ...minimal, rope_parameters: { rope_type: kind, rope_theta: 1e4, factor: 2 } },
        `'rope_parameters.rope_type' is "${kind}": 'rope_parameters' must describe default RoPE`,
      );
    }
    err(
      { ...minimal, rope_scaling: { factor: 2 } },
      `'rope_scaling' must be null or absent (RoPE scaling is not supported), got {"factor":2}`,
    );
    err({ ...minimal, rope_scaling: 'linear' }, `'rope_scaling' must be null or absent (RoPE scaling is not supported), got "linear"`);
    err({ ...minimal, rope_parameters: { rope_type: 'yarn', factor: 4 } }, /'rope_parameters' must describe default RoPE/);
    err(
      { ...minimal, rope_theta: 1e4, rope_parameters: { rope_theta: 5e5 } },
      "'rope_theta' (10000) disagrees with 'rope_parameters.rope_theta' (500000)",
    );
  });

  it('checks token ids against the vocabulary', () => {
    err({ ...minimal, bos_token_id: 100 }, "'bos_token_id' must be an integer in [0, vocab_size=100), got 100");
    err({ ...minimal, pad_token_id: -1 }, "'pad_token_id' must be an integer in [0, vocab_size=100), got -1");
    err({ ...minimal, eos_token_id: [1, 'x'] }, `'eos_token_id' must be an integer in [0, vocab_size=100), got "x"`);
    err({ ...minimal, eos_token_id: [] }, "'eos_token_id' must not be an empty list");
    err({ ...minimal, torch_dtype: 32 }, "'torch_dtype' must be a string, got 32");
  });
});

describe('model_type qwen2 (Qwen2, Qwen2.5)', () => {
  it('reads Qwen2.5-0.5B: q/k/v biases, and the published parameter count 494,032,768', () => {
    const cfg = parseLlamaConfig(qwen25);
    expect(cfg).toMatchObject({
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      num_key_value_heads: 2,
      head_dim: 64,
      rope_theta: 1e6,
      tie_word_embeddings: true,
      max_position_embeddings: 32768,
      use_sliding_window: false,
    });
    expect(biasedProjections(cfg)).toEqual(['q_proj', 'k_proj', 'v_proj']);
    expect(parameterCount(cfg)).toBe(494_032_768);
  });

  it('fills the Qwen2Config defaults (max_position_embeddings 32768) and infers the type from architectures', () => {
    expect(parseLlamaConfig(qwenMinimal)).toEqual({
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      vocab_size: 100,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      max_position_embeddings: 32768,
      hidden_act: 'silu',
      initializer_range: 0.02,
      rope_scaling: null,
      use_sliding_window: false,
    });
    const { model_type: _, ...untyped } = qwen25;
    expect(parseLlamaConfig(untyped).model_type).toBe('qwen2');
  });

  it('has q/k/v biases whatever attention_bias / mlp_bias say (Qwen2Config has neither key)', () => {
    const cfg = parseLlamaConfig({ ...qwenMinimal, attention_bias: false, mlp_bias: true });
    expect(biasedProjections(cfg)).toEqual(['q_proj', 'k_proj', 'v_proj']);
  });

  it('requires num_key_value_heads (transformers would default it to 32, not to num_attention_heads)', () => {
    const { num_key_value_heads: _, ...json } = qwenMinimal;
    err(json, `missing required key 'num_key_value_heads' (model_type "qwen2"`);
  });

  it('refuses sliding-window attention in any layer, naming the fields and the layers', () => {
    err(
      { ...qwenMinimal, use_sliding_window: true, sliding_window: 4096, max_window_layers: 0 },
      "config.json: 'use_sliding_window' is true with 'sliding_window' 4096 and 'max_window_layers' 0: layers 0..1 would use " +
        'sliding-window attention, which is not supported',
    );
    err(
      { ...qwenMinimal, use_sliding_window: true, sliding_window: 512, max_window_layers: 1 },
      "'use_sliding_window' is true with 'sliding_window' 512 and 'max_window_layers' 1: layer 1 would use",
    );
    // Without max_window_layers, Qwen2Config's default 28 applies: a 30-layer model slides in 28, 29.
    err(
      { ...qwenMinimal, num_hidden_layers: 30, use_sliding_window: true },
      /'sliding_window' 4096 and 'max_window_layers' 28: layers 28\.\.29/,
    );
    err({ ...qwenMinimal, use_sliding_window: 'no' }, `'use_sliding_window' must be a boolean, got "no"`);
    err({ ...qwenMinimal, use_sliding_window: true, sliding_window: -1 }, "'sliding_window' must be a positive integer or null, got -1");
    err(
      { ...qwenMinimal, use_sliding_window: true, max_window_layers: 1.5 },
      "'max_window_layers' must be a non-negative integer, got 1.5",
    );
    err(
      { ...qwenMinimal, layer_types: ['full_attention', 'sliding_attention'] },
      `'layer_types[1]' is "sliding_attention", but only "full_attention" is supported`,
    );
    err(
      { ...qwenMinimal, layer_types: ['full_attention'] },
      `'layer_types' must be a list of num_hidden_layers (2) entries, got ["full_attention"]`,
    );
  });

  it('accepts sliding-window fields that leave every layer on full attention', () => {
    // Released configs: a window with use_sliding_window false (transformers then sets it to None).
    const full = parseLlamaConfig(qwenMinimal);
    expect(parseLlamaConfig({ ...qwenMinimal, use_sliding_window: false, sliding_window: 4096, max_window_layers: 0 })).toEqual(full);
    // Switched on, but no layer at or past max_window_layers, or no window at all: the same model.
    expect(parseLlamaConfig({ ...qwenMinimal, use_sliding_window: true, sliding_window: 4096, max_window_layers: 2 })).toEqual(full);
    expect(parseLlamaConfig({ ...qwenMinimal, use_sliding_window: true, sliding_window: null, max_window_layers: 0 })).toEqual(full);
    expect(() => parseLlamaConfig({ ...qwenMinimal, layer_types: ['full_attention', 'full_attention'] })).not.toThrow();
  });

  it('refuses what it refuses for LLaMA too (RoPE scaling, another activation)', () => {
    err({ ...qwen25, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }, `'rope_scaling.type' is "yarn"`);
    err({ ...qwen25, hidden_act: 'gelu' }, `'hidden_act' must be "silu", got "gelu"`);
  });
});

describe('LLaMA attention_bias / mlp_bias', () => {
  it('put a bias on q/k/v/o_proj and on gate/up/down_proj', () => {
    expect(biasedProjections(parseLlamaConfig(minimal))).toEqual([]);
    expect(biasedProjections(parseLlamaConfig({ ...minimal, attention_bias: true }))).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    expect(biasedProjections(parseLlamaConfig({ ...minimal, mlp_bias: true }))).toEqual(['gate_proj', 'up_proj', 'down_proj']);
  });
});

describe('bounds (a config is refused before anything is allocated for it)', () => {
  // The sizes of released models (rope_scaling and biases aside): all must load.
  const real = {
    'TinyLlama-1.1B': {
      vocab_size: 32000,
      hidden_size: 2048,
      intermediate_size: 5632,
      num_hidden_layers: 22,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
    },
    'Llama-3-8B': {
      vocab_size: 128256,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      max_position_embeddings: 8192,
    },
    'Qwen2.5-7B sizes': {
      vocab_size: 152064,
      hidden_size: 3584,
      intermediate_size: 18944,
      num_hidden_layers: 28,
      num_attention_heads: 28,
      num_key_value_heads: 4,
      max_position_embeddings: 131072,
    },
    'Llama-3.1-405B': {
      vocab_size: 128256,
      hidden_size: 16384,
      intermediate_size: 53248,
      num_hidden_layers: 126,
      num_attention_heads: 128,
      num_key_value_heads: 8,
      max_position_embeddings: 131072,
    },
  };

  it('accepts the sizes of real models, and counts their parameters as published', () => {
    for (const [name, json] of Object.entries(real)) expect(() => parseLlamaConfig(json), name).not.toThrow();
    expect(parameterCount(parseLlamaConfig(real['Llama-3-8B']))).toBe(8_030_261_248);
    expect(parameterCount(parseLlamaConfig(real['TinyLlama-1.1B']))).toBe(1_100_048_384);
  });

  it('refuses num_hidden_layers 1000000000 at once, naming the file and key (was: 40 s, 2.5 GB, RangeError)', async () => {
    const json = { ...real['TinyLlama-1.1B'], num_hidden_layers: 1_000_000_000 };
    await expectCleanError(
      () => parseLlamaConfig(json, 'm/config.json'),
      ["m/config.json: 'num_hidden_layers' is 1000000000, over the limit of 1024"],
      {
        ms: 2000,
      },
    );
  });

  it('refuses every size key past its limit, and vocab_size 2^40', async () => {
    for (const key of Object.keys(CONFIG_LIMITS) as (keyof typeof CONFIG_LIMITS)[]) {
      const json = { ...minimal, num_attention_heads: 1, [key]: CONFIG_LIMITS[key] + 1 };
      err(json, `c.json: '${key}' is ${CONFIG_LIMITS[key] + 1}, over the limit of ${CONFIG_LIMITS[key]}`, 'c.json');
    }
    await expectCleanError(
      () => parseLlamaConfig({ ...minimal, vocab_size: 2 ** 40 }, 'c.json'),
      ["c.json: 'vocab_size' is 1099511627776"],
    );
  });

  it('refuses sizes whose product would be one unallocatable tensor', () => {
    err(
      { ...minimal, vocab_size: 2 ** 21, hidden_size: 2 ** 16 },
      'c.json: vocab_size x hidden_size = 137438953472 elements in one tensor',
      'c.json',
    );
    err({ ...minimal, intermediate_size: 2 ** 18, hidden_size: 2 ** 16 }, 'intermediate_size x hidden_size', 'c.json');
    err(
      { ...minimal, num_attention_heads: 1024, head_dim: 4096, hidden_size: 1024 },
      'num_attention_heads x head_dim x hidden_size',
      'c.json',
    );
  });

  it('shows a 100,000-deep value in a message without overflowing the stack', async () => {
    for (const key of ['rope_scaling', 'architectures', 'eos_token_id', 'hidden_size']) {
      const json = JSON.parse(
        `{"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "${key}": ${deepJson(100_000)}}`,
      );
      const e = await expectCleanError(() => parseLlamaConfig(json, 'c.json'), [`c.json: '${key}'`, '[[[[']);
      expect(e.message.length).toBeLessThan(300);
    }
  });
});

describe('llamaConfigToJson', () => {
  it('writes full HF-style JSON with sorted keys that parses back identically', () => {
    const cfg = parseLlamaConfig({ ...minimal, num_key_value_heads: 2, eos_token_id: 3, tie_word_embeddings: true });
    const json = llamaConfigToJson(cfg);
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(json).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_act: 'silu',
      num_key_value_heads: 2,
      head_dim: 16,
      rope_scaling: null,
      attention_bias: false,
      mlp_bias: false,
      bos_token_id: null,
      eos_token_id: 3,
      pad_token_id: null,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
    });
    const again = parseLlamaConfig(JSON.parse(JSON.stringify(json)));
    expect(again).toEqual({ ...cfg, torch_dtype: 'float32' });
  });

  it('round-trips a real config', () => {
    const cfg = parseLlamaConfig(llama32);
    expect(parseLlamaConfig(llamaConfigToJson(cfg))).toEqual(cfg);
    const biased = parseLlamaConfig({ ...llama32, attention_bias: true, mlp_bias: true });
    expect(llamaConfigToJson(biased)).toMatchObject({ attention_bias: true, mlp_bias: true });
    expect(parseLlamaConfig(llamaConfigToJson(biased))).toEqual(biased);
  });

  it('writes a Qwen2Config for qwen2 (sorted keys, full attention spelled out) that parses back identically', () => {
    const cfg = parseLlamaConfig(qwen25);
    const json = llamaConfigToJson(cfg);
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(json).toMatchObject({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      use_sliding_window: false,
      sliding_window: null,
      max_window_layers: 24,
      rope_theta: 1e6,
      tie_word_embeddings: true,
    });
    // LlamaConfig-only keys are not written for Qwen2Config.
    for (const key of ['attention_bias', 'mlp_bias', 'pretraining_tp']) expect(json).not.toHaveProperty(key);
    expect(parseLlamaConfig(JSON.parse(JSON.stringify(json)))).toEqual(cfg);
  });
});

describe('loadLlamaConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-cfg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads <dir>/config.json', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify(minimal));
    expect((await loadLlamaConfig(dir)).head_dim).toBe(16);
  });

  it('names the path in errors', async () => {
    const path = join(dir, 'config.json');
    await writeFile(path, '{"vocab_size": ');
    await expect(loadLlamaConfig(dir)).rejects.toThrow(`${path}: invalid JSON`);
    await writeFile(path, JSON.stringify({ ...minimal, hidden_act: 'relu' }));
    await expect(loadLlamaConfig(dir)).rejects.toThrow(`${path}: 'hidden_act' must be "silu"`);
    await expect(loadLlamaConfig(join(dir, 'nope'))).rejects.toThrow(/nope\/config\.json: cannot read: no such file/);
  });
});

describe('expectedTensorShapes', () => {
  it('lists HF names and [out, in] shapes with GQA', () => {
    const cfg = parseLlamaConfig({ ...minimal, num_key_value_heads: 2 });
    const shapes = expectedTensorShapes(cfg);
    expect(shapes.size).toBe(1 + 9 * 2 + 1 + 1);
    expect([...shapes.keys()].slice(0, 11)).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.layers.1.input_layernorm.weight',
    ]);
    expect(shapes.get('model.embed_tokens.weight')).toEqual([100, 64]);
    expect(shapes.get('model.layers.1.self_attn.q_proj.weight')).toEqual([64, 64]);
    expect(shapes.get('model.layers.1.self_attn.k_proj.weight')).toEqual([32, 64]);
    expect(shapes.get('model.layers.1.self_attn.v_proj.weight')).toEqual([32, 64]);
    expect(shapes.get('model.layers.1.self_attn.o_proj.weight')).toEqual([64, 64]);
    expect(shapes.get('model.layers.1.mlp.gate_proj.weight')).toEqual([128, 64]);
    expect(shapes.get('model.layers.1.mlp.up_proj.weight')).toEqual([128, 64]);
    expect(shapes.get('model.layers.1.mlp.down_proj.weight')).toEqual([64, 128]);
    expect(shapes.get('model.layers.1.post_attention_layernorm.weight')).toEqual([64]);
    expect(shapes.get('model.norm.weight')).toEqual([64]);
    expect(shapes.get('lm_head.weight')).toEqual([100, 64]);
    expect(shapes.has('model.layers.2.input_layernorm.weight')).toBe(false);
  });

  it('lists Qwen2 q/k/v biases [out] right after their weights, and no other bias', () => {
    const cfg = parseLlamaConfig({ ...qwenMinimal, num_hidden_layers: 1 });
    const shapes = expectedTensorShapes(cfg);
    expect([...shapes.keys()].slice(1, 9)).toEqual([
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.q_proj.bias',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.k_proj.bias',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.v_proj.bias',
      'model.layers.0.self_attn.o_proj.weight',
    ]);
    expect(shapes.get('model.layers.0.self_attn.q_proj.bias')).toEqual([64]);
    expect(shapes.get('model.layers.0.self_attn.k_proj.bias')).toEqual([32]);
    expect(shapes.get('model.layers.0.self_attn.v_proj.bias')).toEqual([32]);
    expect([...shapes.keys()].filter((k) => k.endsWith('.bias'))).toHaveLength(3);
  });

  it('lists all seven biases of a LLaMA with attention_bias and mlp_bias', () => {
    const cfg = parseLlamaConfig({ ...minimal, num_key_value_heads: 2, attention_bias: true, mlp_bias: true });
    const shapes = expectedTensorShapes(cfg);
    expect(shapes.get('model.layers.1.self_attn.o_proj.bias')).toEqual([64]);
    expect(shapes.get('model.layers.1.mlp.gate_proj.bias')).toEqual([128]);
    expect(shapes.get('model.layers.1.mlp.up_proj.bias')).toEqual([128]);
    expect(shapes.get('model.layers.1.mlp.down_proj.bias')).toEqual([64]);
    expect([...shapes.keys()].filter((k) => k.endsWith('.bias'))).toHaveLength(14);
  });

  it('uses head_dim for the attention projections and omits lm_head when tied', () => {
    const cfg = parseLlamaConfig({ ...minimal, hidden_size: 60, head_dim: 8, num_key_value_heads: 1, tie_word_embeddings: true });
    const shapes = expectedTensorShapes(cfg);
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([32, 60]);
    expect(shapes.get('model.layers.0.self_attn.k_proj.weight')).toEqual([8, 60]);
    expect(shapes.get('model.layers.0.self_attn.o_proj.weight')).toEqual([60, 32]);
    expect(shapes.has('lm_head.weight')).toBe(false);
    expect([...shapes.keys()].at(-1)).toBe('model.norm.weight');
  });
});
