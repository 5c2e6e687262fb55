// A federated trial's checkpoint: the server's FederationState after the trial's last round (which
// alone continues the federation bit-identically) plus what it takes to rebuild the adapter without
// the trial's config: the base model directory, the LoRA config (and PEFT method) and the seed. One JSON file in the
// trial's directory; its path is the `checkpoint` a promoted trial continues from and `best/` is
// exported from.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { parseJsonText } from '../engine/json.js';
import { type PeftSection, PeftSectionSchema, peftSettingsOf } from '../fl/fl-config.js';
import { loadIntoAdapter } from '../fl/tensors.js';
import { loadLlamaConfig } from '../model/config.js';
import type { Adapter } from '../peft/adapter.js';
import { type LoraConfig, validateLoraConfig } from '../peft/lora.js';
import { adapterLayout } from '../peft/methods.js';
import { decodeGlobal, type FederationState, parseFederationState } from './federation-state.js';

export interface TrialCheckpoint {
  v: 1;
  /** The base model directory the adapter belongs to. */
  model: string;
  lora: LoraConfig;
  /** The PEFT method (absent: LoRA). */
  peft?: PeftSection;
  seed: number;
  state: FederationState;
}

const CheckpointSchema = z
  .object({
    v: z.literal(1),
    model: z.string().min(1),
    lora: z.object({ r: z.number(), alpha: z.number(), dropout: z.number(), targets: z.array(z.string()) }).strict(),
    peft: PeftSectionSchema.optional(),
    seed: z.number().int(),
    state: z.unknown(),
  })
  .strict();

/** A checkpoint file holds the whole history of a trial's rounds: megabytes at most. */
const MAX_CHECKPOINT_BYTES = 512 * 2 ** 20;

export function checkpointFile(trialDir: string, round: number): string {
  return join(trialDir, `checkpoint-r${round}.json`);
}

/** Writes the checkpoint (write, then rename: a reader never sees half a file); returns its path. */
export async function writeTrialCheckpoint(trialDir: string, c: TrialCheckpoint): Promise<string> {
  await mkdir(trialDir, { recursive: true });
  const file = checkpointFile(trialDir, c.state.round);
  await writeFile(`${file}.tmp`, JSON.stringify(c));
  await rename(`${file}.tmp`, file);
  return file;
}

export async function readTrialCheckpoint(file: string): Promise<TrialCheckpoint> {
  const raw = parseJsonText(await readRegularText(file, { maxBytes: MAX_CHECKPOINT_BYTES }), file);
  const r = CheckpointSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(`${file}: not a federated trial checkpoint: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  }
  const lora = validateLoraConfig(r.data.lora as LoraConfig, `${file}: lora`);
  const peft = r.data.peft ? { peft: r.data.peft } : {};
  return { v: 1, model: r.data.model, lora, ...peft, seed: r.data.seed, state: parseFederationState(r.data.state) };
}

/** The checkpoint's global adapter, rebuilt on its base model's config. */
export async function checkpointAdapter(c: TrialCheckpoint): Promise<Adapter> {
  const adapter = adapterLayout(await loadLlamaConfig(c.model), peftSettingsOf(c.lora, c.peft));
  loadIntoAdapter(adapter, decodeGlobal(c.state.global));
  return adapter;
}
