// LoRA fine-tuning recipe for the built-in tasks on the shipped base model: every default of
// `fedhpo train` and of the demo, and what the README's table (bench/tasks.ts) was made with.
import type { FinetuneOptions } from './finetune.js';

export const LORA_RECIPE = {
  lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
  steps: 300,
  batchSize: 16,
  seqLen: 192,
  gradAccum: 1,
  lr: 2e-3,
  optimizer: { kind: 'adamw', weightDecay: 0 },
  schedule: { kind: 'cosine', warmupSteps: 20, minRatio: 0.1 },
  clipNorm: 1,
  seed: 0,
} satisfies Omit<FinetuneOptions, 'model' | 'data' | 'outDir'>;

/** SGD momentum when the recipe's optimizer is swapped for SGD (`fedhpo train --optimizer sgd`). */
export const SGD_MOMENTUM = 0.9;
