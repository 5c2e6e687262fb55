// The identity of a base model as the server and its clients compare it when a client joins: the
// sha256 of the model directory's files (config, weights, tokenizer), so a client with another base
// (or another revision of it) is refused before it trains anything.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { LoadedModel } from '../model/source.js';

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];

/** sha256 (hex) over the model directory's files (each as its name, then its bytes); for a model built in memory, over its config. */
export async function modelSha256(m: LoadedModel): Promise<string> {
  if (m.dir) return modelDirSha256(m.dir);
  const h = createHash('sha256');
  h.update(`in-memory model\0${JSON.stringify(m.model.cfg)}`);
  return h.digest('hex');
}

/** sha256 (hex) over a model directory's files, as modelSha256 computes it (without loading the model). */
export async function modelDirSha256(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const name of MODEL_FILES) {
    const file = join(dir, name);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) continue;
    // A FIFO would block the hash forever, /dev/zero would never end it.
    if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
    h.update(`${name}\0`);
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
    h.update('\0');
  }
  return h.digest('hex');
}
