// Base models shared by every federated trial of this process: the first trial on a model directory
// loads it (one engine worker, one copy of the frozen weights) and later or parallel trials reuse it;
// it is closed when the last holder releases it. The model's fingerprint (sha256 of its files),
// which every federation compares at join, is computed once here too.
import { resolve } from 'node:path';
import { modelSha256 } from '../fl/model-fingerprint.js';
import { type OpenedModel, openModel } from '../model/source.js';

export interface SharedModel {
  readonly model: OpenedModel;
  readonly sha256: string;
}

interface Entry {
  opening: Promise<SharedModel>;
  holders: number;
}

const models = new Map<string, Entry>();

/** Loads `dir` on a `threads`-thread engine, or hands out the copy this process already has. Pair with releaseModel. */
export async function acquireModel(dir: string, threads: number): Promise<SharedModel> {
  const key = `${resolve(dir)}|${threads}`;
  let entry = models.get(key);
  if (!entry) {
    const opening = (async (): Promise<SharedModel> => {
      const model = await openModel({ dir, threads });
      try {
        return { model, sha256: await modelSha256(model) };
      } catch (e) {
        await model.close();
        throw e;
      }
    })();
    entry = { opening, holders: 0 };
    models.set(key, entry);
    // A model that failed to load is not kept: the next trial tries again (and reports its own error).
    opening.catch(() => models.delete(key));
  }
  entry.holders++;
  return entry.opening;
}

/** Gives back one hold of `dir`; the last one closes the model and its engine. */
export async function releaseModel(dir: string, threads: number): Promise<void> {
  const key = `${resolve(dir)}|${threads}`;
  const entry = models.get(key);
  if (!entry || --entry.holders > 0) return;
  models.delete(key);
  const m = await entry.opening.catch(() => undefined);
  await m?.model.close();
}
