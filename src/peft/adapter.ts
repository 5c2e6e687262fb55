// What every PEFT method is to the rest of fedhpo: named trainable tensors (what a client trains
// and federation averages), a graph layout (the hooks it builds into the decoder, src/model/graphs.ts),
// the feeds of a training batch, what inference lays over the base, and its PEFT file layout.
// A new method is a new module in src/peft implementing this, not an edit of the model.
import type { RunFeeds } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import type { Rng } from '../engine/rng.js';
import type { LlamaConfig } from '../model/config.js';
import type { AdapterGraphSpec } from '../model/graphs.js';
import type { AdapterFeeds } from '../model/model.js';

/** The methods, by the name configs use (`peft.method`). */
export const PEFT_METHODS = ['lora', 'prompt', 'ptuning', 'prefix'] as const;
export type PeftMethod = (typeof PEFT_METHODS)[number];

export interface Adapter {
  readonly method: PeftMethod;
  readonly model: LlamaConfig;
  /** Trainable tensors by name, row-major: trained in place, sent and averaged by name. */
  readonly tensors: Map<string, Float32Array>;
  shapeOf(name: string): number[];
  /** The training graph's layout. */
  readonly graphSpec: AdapterGraphSpec;
  /** Feeds for one training batch (the tensors plus e.g. dropout masks drawn from rng). */
  trainFeeds(batch: number, seq: number, rng: Rng): RunFeeds;
  /** What evaluation and generation lay over the base, from the current tensors. */
  inference(): AdapterFeeds;
  /** Number of trainable (and communicated) values. */
  readonly size: number;
  /** Positions it takes ahead of every sequence (virtual tokens, a key/value prefix; 0 for LoRA). */
  readonly positions: number;
  /** adapter_config.json + adapter_model.safetensors in the PEFT layout of the method. */
  save(dir: string, baseModel?: string): Promise<void>;
}

export function tensorCount(tensors: Map<string, Float32Array>): number {
  let n = 0;
  for (const t of tensors.values()) n += t.length;
  return n;
}

/** A PEFT setting that cannot work (a user's config or flag). */
export class PeftConfigError extends UserError {
  override name = 'PeftConfigError';
}
