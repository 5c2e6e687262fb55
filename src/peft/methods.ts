// The PEFT methods by name: one settings record (what configs and messages carry), a factory, and
// one loader that reads adapter_config.json's peft_type and hands the directory to its method.
import { previewJson } from '../engine/json.js';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaModel } from '../model/model.js';
import { PEFT_METHODS, PeftConfigError, type Adapter, type PeftMethod } from './adapter.js';
import { LoraAdapter, parsePeftLoraConfig, validateLoraConfig, type LoraConfig } from './lora.js';
import { PTuningAdapter } from './p-tuning.js';
import { PrefixTuningAdapter } from './prefix-tuning.js';
import { AdapterConfigJson, checkEncoderHidden, checkVirtualTokens } from './prompt-learning.js';
import { PROMPT_INITS, PromptTuningAdapter, type PromptInit } from './prompt-tuning.js';

/** Every method's settings; each method reads its own (LoRA: lora; the prompt methods: the rest). */
export interface PeftSettings {
  method: PeftMethod;
  lora: LoraConfig;
  /** prompt, ptuning, prefix. */
  numVirtualTokens: number;
  /** prompt: 'vocab' (rows of the embedding table) or 'random' (N(0, 1)). */
  promptInit: PromptInit;
  /** ptuning, and prefix with projection. */
  encoderHiddenSize: number;
  /** prefix: train through the reparameterisation MLP. */
  prefixProjection: boolean;
}

export const DEFAULT_PROMPT_SETTINGS = {
  numVirtualTokens: 8,
  promptInit: 'vocab',
  encoderHiddenSize: 64,
  prefixProjection: false,
} as const satisfies Omit<PeftSettings, 'method' | 'lora'>;

/** Settings for LoRA alone (what every caller had before there were other methods). */
export const loraSettings = (lora: LoraConfig): PeftSettings => ({ method: 'lora', lora, ...DEFAULT_PROMPT_SETTINGS });

/** Checks the settings the method uses; errors name `where` and the key. */
export function validatePeftSettings(s: PeftSettings, where = 'peft'): PeftSettings {
  if (!PEFT_METHODS.includes(s.method))
    throw new PeftConfigError(`${where}: method must be one of ${PEFT_METHODS.join(', ')}, got ${previewJson(s.method)}`);
  const lora = validateLoraConfig(s.lora, `${where}: lora`);
  if (s.method !== 'lora') checkVirtualTokens(s.numVirtualTokens, where);
  if (s.method === 'ptuning' || (s.method === 'prefix' && s.prefixProjection)) checkEncoderHidden(s.encoderHiddenSize, where);
  if (!PROMPT_INITS.includes(s.promptInit))
    throw new PeftConfigError(`${where}: prompt_init must be one of ${PROMPT_INITS.join(', ')}, got ${previewJson(s.promptInit)}`);
  return { ...s, lora };
}

/** Whether init needs the base's embed_tokens (prompt tuning initialised from the vocabulary). */
export const needsEmbeddings = (s: PeftSettings): boolean => s.method === 'prompt' && s.promptInit === 'vocab';

/** A new adapter for `model`; `embeddings` (embed_tokens) when needsEmbeddings(s). */
export function createAdapter(model: LlamaConfig, s: PeftSettings, seed: number, embeddings?: Float32Array): Adapter {
  const v = validatePeftSettings(s);
  switch (v.method) {
    case 'lora':
      return LoraAdapter.init(model, v.lora, seed);
    case 'prompt':
      return PromptTuningAdapter.init(model, { numVirtualTokens: v.numVirtualTokens, init: v.promptInit }, seed, embeddings);
    case 'ptuning':
      return PTuningAdapter.init(model, { numVirtualTokens: v.numVirtualTokens, encoderHiddenSize: v.encoderHiddenSize }, seed);
    case 'prefix':
      return PrefixTuningAdapter.init(
        model,
        { numVirtualTokens: v.numVirtualTokens, projection: v.prefixProjection, encoderHiddenSize: v.encoderHiddenSize },
        seed,
      );
  }
}

/** A new adapter on a loaded base (reading its embed_tokens only when the init needs them). */
export async function initAdapter(model: LlamaModel, s: PeftSettings, seed: number): Promise<Adapter> {
  const name = 'model.embed_tokens.weight';
  const embeddings = needsEmbeddings(s) ? (await model.weights([name])).get(name) : undefined;
  return createAdapter(model.cfg, s, seed, embeddings);
}

/**
 * An adapter whose values will be overwritten (a client about to load the global tensors, a
 * checkpoint's state): the layout of `s` without reading the base for an init.
 */
export function adapterLayout(model: LlamaConfig, s: PeftSettings): Adapter {
  return createAdapter(model, { ...s, promptInit: 'random' }, 0);
}

const LOADERS: Record<string, (dir: string, model: LlamaConfig, c: AdapterConfigJson) => Promise<Adapter>> = {
  LORA: async (dir, model, c) => {
    parsePeftLoraConfig(c.json, c.file);
    return LoraAdapter.load(dir, model);
  },
  PROMPT_TUNING: (dir, model, c) => PromptTuningAdapter.load(dir, model, c),
  P_TUNING: (dir, model, c) => PromptTuningAdapter.load(dir, model, c),
  PREFIX_TUNING: (dir, model, c) => PrefixTuningAdapter.load(dir, model, c),
};

/** Reads a PEFT adapter directory of any supported method; errors name the file and key. */
export async function loadAdapter(dir: string, model: LlamaConfig): Promise<Adapter> {
  const c = await AdapterConfigJson.read(dir);
  if (!c.has('peft_type'))
    c.fail(
      `missing required key 'peft_type' (one of ${Object.keys(LOADERS)
        .map((k) => `"${k}"`)
        .join(', ')})`,
    );
  const load = typeof c.json.peft_type === 'string' ? LOADERS[c.json.peft_type] : undefined;
  if (!load)
    c.fail(
      `'peft_type' is ${previewJson(c.json.peft_type)}; supported: ${Object.keys(LOADERS)
        .map((k) => `"${k}"`)
        .join(', ')}`,
    );
  return load!(dir, model, c);
}
