// Where an entry point (finetune, evalTask, ...) gets its base model: a directory to load, on a new
// engine or on one the caller already has, or a model the caller has already loaded. Loading once
// and handing the model on (the demo: eval -> train -> eval) spares loading it at every step.
import { fileURLToPath } from 'node:url';
import { loadModelTokenizer } from '../data/tokenizer-io.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { Engine } from '../engine/engine.js';
import { LlamaModel } from './model.js';

/** A model with the tokenizer that goes with it. */
export interface LoadedModel {
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** The directory it came from, if any (named in adapter files as the base model). */
  dir?: string | undefined;
}

export type ModelSource =
  /** Load this directory on a new engine of `threads` ORT threads (default 2), closed when done. */
  | { dir: string; threads?: number | undefined }
  /** Load this directory on the caller's engine; its weights are dropped when done, the engine stays open. */
  | { dir: string; engine: Engine }
  /** Use a model the caller loaded, as is; it stays loaded. */
  | LoadedModel;

export interface OpenedModel extends LoadedModel {
  /** Releases what opening created (an engine, a weight set), never what the caller passed in. */
  close(): Promise<void>;
}

/** ORT intra-op threads of an engine opened for a directory, and the CLI's --threads default. */
export const DEFAULT_THREADS = 2;

/** The base model shipped with this package, models/fedhpo-base (src/model and dist/model are both two levels down). */
export const SHIPPED_BASE_MODEL = fileURLToPath(new URL('../../models/fedhpo-base', import.meta.url));

export async function openModel(src: ModelSource): Promise<OpenedModel> {
  if ('model' in src) return { model: src.model, tokenizer: src.tokenizer, dir: src.dir, close: async () => {} };
  let own: Engine | undefined;
  if (!('engine' in src)) {
    const threads = src.threads ?? DEFAULT_THREADS;
    own = new Engine({ threads });
  }
  const engine = 'engine' in src ? src.engine : own!;
  try {
    const model = await LlamaModel.load(src.dir, engine);
    const tokenizer = await loadModelTokenizer(src.dir, model.cfg.vocab_size).catch(async (e: unknown) => {
      await model.dispose();
      throw e;
    });
    const close = own ? () => own.close() : () => model.dispose();
    return { model, tokenizer, dir: src.dir, close };
  } catch (e) {
    await own?.close();
    throw e;
  }
}

/** Runs `use` on the opened model and releases what opening created, also when `use` throws. */
export async function withModel<T>(src: ModelSource, use: (m: LoadedModel) => Promise<T>): Promise<T> {
  const m = await openModel(src);
  try {
    return await use(m);
  } finally {
    await m.close();
  }
}
