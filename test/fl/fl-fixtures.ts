// Shared fixtures for the federated building blocks: the DESIGN.md reference adapter (LoRA r=8 on
// q_proj and v_proj of the d_model 256, 4-layer bench model) with trained-looking values.
import { Rng } from '../../src/engine/rng.js';
import { adapterTensors, type NamedTensors } from '../../src/fl/tensors.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LoraAdapter } from '../../src/peft/lora.js';

export const benchModel = parseLlamaConfig({
  vocab_size: 1024,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 4,
});

/**
 * lora_A as initialised (kaiming-uniform, |a| <= 1/16), lora_B ~ N(0, 0.01^2): B is zero only
 * before the first step, so a zero B would flatter compression.
 */
export function realisticAdapter(seed = 1): NamedTensors {
  const adapter = LoraAdapter.init(benchModel, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, seed);
  const rng = new Rng(seed).fork('lora_B');
  const tensors = adapterTensors(adapter);
  for (const [name, t] of tensors) if (name.includes('lora_B')) rng.fillNormal(t.data, 0.01);
  return tensors;
}

/** Named tensors from plain arrays: t({ a: [[1, 2], [3, 4]] }) etc. (shape given explicitly). */
export function tensorsOf(spec: Record<string, { shape: number[]; data: number[] }>): NamedTensors {
  return new Map(Object.entries(spec).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]));
}
