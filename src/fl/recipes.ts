// LoRA fine-tuning recipe for the built-in tasks on the shipped base model: the defaults of
// `fedhpo train`, and what the README's table (bench/tasks.ts) was made with.
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
} satisfies Omit<FinetuneOptions, 'modelDir' | 'data' | 'outDir' | 'seed' | 'threads'>;
