// The pretraining recipe (YAML), validated with zod so every error names its key and file.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { protoKeyPath } from '../engine/json.js';

const positiveInt = z.number().int().positive();
const MAX_CORPUS_CHARS = 200_000_000;

export const PretrainConfigSchema = z
  .object({
    seed: z.number().int().default(0),
    out: z.string().min(1),
    // The corpus is generated as JS strings: 200 M characters is far above the shipped 6 M and below V8's string limit.
    corpus: z.object({ chars: positiveInt.max(MAX_CORPUS_CHARS) }).strict(),
    tokenizer: z
      .object({
        vocab_size: z.number().int().min(260),
        /** A pair is merged only when it occurs at least this often. */
        min_frequency: positiveInt.default(1),
      })
      .strict(),
    /** LlamaConfig fields except the vocabulary (taken from the tokenizer). */
    model: z
      .object({
        hidden_size: positiveInt,
        intermediate_size: positiveInt,
        num_hidden_layers: positiveInt,
        num_attention_heads: positiveInt,
        num_key_value_heads: positiveInt.optional(),
        tie_word_embeddings: z.boolean().default(true),
        max_position_embeddings: positiveInt.default(512),
        rope_theta: z.number().positive().default(10000),
        rms_norm_eps: z.number().positive().default(1e-5),
      })
      .strict(),
    train: z
      .object({
        steps: positiveInt,
        batch_size: positiveInt,
        seq_len: positiveInt,
        lr: z.number().positive(),
        warmup_steps: z.number().int().min(0).default(0),
        schedule: z.enum(['cosine', 'constant', 'linear']).default('cosine'),
        min_lr_ratio: z.number().min(0).max(1).default(0),
        weight_decay: z.number().min(0).default(0),
        /** AdamW's moment decay rates. */
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.95),
        clip_norm: z.number().min(0).default(1),
        /** The fraction of the corpus's windows held out for validation (the last ones, at least one). */
        valid_fraction: z.number().gt(0).lt(1).default(0.02),
        eval_every: positiveInt.optional(),
        save_every: positiveInt.optional(),
      })
      .strict(),
    threads: positiveInt.default(2),
    save_dtype: z.enum(['F32', 'F16']).default('F16'),
  })
  .strict();

export type PretrainConfig = z.infer<typeof PretrainConfigSchema>;

export class ConfigFileError extends UserError {
  override name = 'ConfigFileError';
}

/** Validate parsed YAML/JSON; the message lists each bad key as a dotted path. */
export function parseWithSchema<T extends z.ZodType>(schema: T, raw: unknown, file: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const at = (path: PropertyKey[]) => path.map(String).join('.') || '(root)';
  // Unknown keys are reported by their own dotted path (zod puts them on the parent object).
  const lines = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => `  ${at([...i.path, k])}: unknown key`) : [`  ${at(i.path)}: ${i.message}`],
  );
  throw new ConfigFileError(`${file}: invalid config\n${lines.join('\n')}`);
}

/** A recipe is a page of YAML; anything this large is not one. */
const MAX_RECIPE_BYTES = 1 << 20;

export async function loadYamlFile(file: string): Promise<unknown> {
  const text = await readRegularText(file, { maxBytes: MAX_RECIPE_BYTES });
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigFileError(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  const proto = protoKeyPath(doc);
  if (proto !== undefined) throw new ConfigFileError(`${file}: ${proto}: '__proto__' is not a config key`);
  return doc;
}

export async function loadPretrainConfig(file: string): Promise<PretrainConfig> {
  return parseWithSchema(PretrainConfigSchema, await loadYamlFile(file), file);
}
