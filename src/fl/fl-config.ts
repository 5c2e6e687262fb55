// A federated run's config (YAML), validated with zod: every error names the dotted key. Keys are
// snake_case as in the other recipes; hyperparameters are dotted paths (`train.lr`, `lora.r`) that
// `--set key.path=value` and, later, the HPO service override the same way (applyOverrides).
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TASK_NAMES } from '../data/tasks/index.js';
import { METRICS } from '../data/user-records.js';
import { UserError } from '../engine/errors.js';
import type { OptimizerConfig } from '../engine/optim.js';
import type { TrainerConfig } from './local-trainer.js';
import { PROJECTIONS } from '../model/llama.js';
import { PEFT_METHODS } from '../peft/adapter.js';
import type { LoraConfig } from '../peft/lora.js';
import type { PeftSettings } from '../peft/methods.js';
import { MAX_ENCODER_HIDDEN, MAX_VIRTUAL_TOKENS } from '../peft/prompt-learning.js';
import { PROMPT_INITS } from '../peft/prompt-tuning.js';
import type { LlamaConfig } from '../model/config.js';
import { SHIPPED_BASE_MODEL } from '../model/source.js';
import { CodecSettingsSchema } from './codec/codec.js';
import { ConfigFileError, loadYamlFile, parseWithSchema } from './pretrain-config.js';

const positiveInt = z.number().int().positive();
/**
 * Bounds far above any run and far below what would exhaust memory: a client refuses a round or an
 * evaluation message beyond MAX_BATCH_SIZE, so a config beyond it would only wait out the deadline.
 */
export const MAX_BATCH_SIZE = 4096;
const MAX_TOKENS = 2 ** 24;
const MAX_STEPS = 1e9;
/** One token of a NATS subject (study and trial name the run's subjects). */
const subjectToken = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

export const SCENARIOS = ['fed', 'global', 'local'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Local training: sent to clients in every round message, so a client needs no config of its own. */
export const TrainSettingsSchema = z
  .object({
    local_steps: positiveInt.max(MAX_STEPS),
    batch_size: positiveInt.max(MAX_BATCH_SIZE),
    // The model's max_position_embeddings is the bound, checked when the model is known (checkConfigFitsModel).
    seq_len: positiveInt.max(MAX_TOKENS),
    lr: z.number().min(0),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
    weight_decay: z.number().min(0).default(0),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    /** SGD only. */
    momentum: z.number().min(0).lt(1).default(0.9),
    clip_norm: z.number().min(0).default(1),
    grad_accum: positiveInt.max(65536).default(1),
    schedule: z.enum(['constant', 'cosine', 'linear']).default('constant'),
    warmup_steps: z.number().int().min(0).default(0),
    min_lr_ratio: z.number().min(0).max(1).default(0),
    /**
     * Whether a client's update reports its training losses (train_loss, last_train_loss): the
     * ordinary per-client metrics. Off for studies that keep clients' losses to themselves (FTS).
     */
    report_losses: z.boolean().default(true),
  })
  .strict();

/**
 * The clients' data: a built-in task (`task`, with its generator seed), or a user's files
 * (`clients`: what `fedhpo data split` wrote — a directory with split.json — or a list of files, one
 * per client; `test`: the file scored at the end with `metric`; `valid`: a shared validation file,
 * else each client holds out `valid_fraction` of its own records). See src/fl/client-files.ts.
 */
export const DataConfigSchema = z
  .object({
    task: z.enum(TASK_NAMES).optional(),
    /** The task generator's seed; for files, the seed of the validation shares / hold-outs. */
    seed: z.number().int().default(0),
    clients: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    valid: z.string().min(1).optional(),
    test: z.string().min(1).optional(),
    metric: z.enum(METRICS).default('auto'),
    /** The field whose value is a test record's category (per-category scores); default category/label. */
    by: z.string().min(1).optional(),
    valid_fraction: z.number().gt(0).lt(1).default(0.1),
  })
  .strict()
  .superRefine((d, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (d.task === undefined && d.clients === undefined) issue('task', 'name a built-in task (data.task) or your files (data.clients)');
    if (d.task !== undefined && d.clients !== undefined) issue('clients', 'data.task and data.clients exclude each other');
    if (d.clients !== undefined && d.test === undefined)
      issue('test', 'required with data.clients: the file the final score is computed on');
    if (d.task !== undefined)
      for (const k of ['valid', 'test', 'by'] as const)
        if (d[k] !== undefined) issue(k, `only used with data.clients (files), not with data.task`);
  });

export type DataConfig = z.infer<typeof DataConfigSchema>;

/**
 * The PEFT method (`peft.method`, a hyperparameter like any other) and the settings of the prompt
 * methods; LoRA's own stay under `lora`. Sent to clients with every round, as the LoRA block is.
 */
export const PeftSectionSchema = z
  .object({
    method: z.enum(PEFT_METHODS).default('lora'),
    /** prompt, ptuning, prefix: virtual tokens (positions ahead of every sequence). */
    num_virtual_tokens: positiveInt.max(MAX_VIRTUAL_TOKENS).default(8),
    /** prompt: 'vocab' copies rows of the embedding table (PEFT SAMPLE_VOCAB), 'random' draws N(0, 1). */
    prompt_init: z.enum(PROMPT_INITS).default('vocab'),
    /** ptuning, and prefix with prefix_projection: the encoder MLP's hidden width. */
    encoder_hidden_size: positiveInt.max(MAX_ENCODER_HIDDEN).default(64),
    /** prefix: train the prefixes through PEFT's reparameterisation MLP. */
    prefix_projection: z.boolean().default(false),
  })
  .strict();
export type PeftSection = z.infer<typeof PeftSectionSchema>;
export const PEFT_SECTION_DEFAULTS: PeftSection = {
  method: 'lora',
  num_virtual_tokens: 8,
  prompt_init: 'vocab',
  encoder_hidden_size: 64,
  prefix_projection: false,
};

/** The settings createAdapter takes, from a config's (or a message's) lora and peft blocks. */
export function peftSettingsOf(lora: LoraConfig, peft: PeftSection = PEFT_SECTION_DEFAULTS): PeftSettings {
  return {
    method: peft.method,
    lora: { r: lora.r, alpha: lora.alpha, dropout: lora.dropout, targets: [...lora.targets] },
    numVirtualTokens: peft.num_virtual_tokens,
    promptInit: peft.prompt_init,
    encoderHiddenSize: peft.encoder_hidden_size,
    prefixProjection: peft.prefix_projection,
  };
}

/** Positions an adapter takes ahead of every sequence (virtual tokens or a key/value prefix). */
export const positionsTaken = (peft: PeftSection): number => (peft.method === 'lora' ? 0 : peft.num_virtual_tokens);

/** A short name of the run's data: the built-in task, else 'files'. */
export function dataName(d: DataConfig): string {
  return d.task ?? 'files';
}

export const FlConfigSchema = z
  .object({
    /** What a study's trial document says it is (the same document: a study's best.json runs as is). */
    kind: z.literal('federated').optional(),
    /** Base model directory (HF layout); the shipped base by default. */
    model: z.string().min(1).default(SHIPPED_BASE_MODEL),
    data: DataConfigSchema,
    scenario: z.enum(SCENARIOS).default('fed'),
    /** Adapter init, client sampling, batch order and dropout all fork from this. */
    seed: z.number().int().default(0),
    rounds: positiveInt.max(1e6),
    /** Names in the run's NATS subjects. */
    study: subjectToken.default('fl'),
    trial: subjectToken.default('t0'),
    clients: z
      .object({
        /** Fraction of the clients that train each round, in (0, 1]. */
        sample_rate: z.number().gt(0).max(1).default(1),
      })
      .strict()
      .default({ sample_rate: 1 }),
    lora: z
      .object({
        r: positiveInt.max(4096).default(8),
        alpha: z.number().positive().default(16),
        dropout: z.number().min(0).lt(1).default(0),
        targets: z.array(z.enum(PROJECTIONS)).min(1).default(['q_proj', 'v_proj']),
      })
      .strict()
      .default({ r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }),
    peft: PeftSectionSchema.default(PEFT_SECTION_DEFAULTS),
    /**
     * Offsite-tuning instead of LoRA (src/fl/offsite.ts): clients fine-tune the first and last
     * `adapter_layers` layers (full weights) on an emulator, the model with `drop` of its middle
     * layers dropped uniformly; the server plugs the averaged adapter back into the full model.
     */
    offsite: z
      .object({
        drop: z.number().min(0).lt(1),
        adapter_layers: positiveInt.max(1024).default(2),
      })
      .strict()
      .optional(),
    train: TrainSettingsSchema,
    aggregator: z
      .object({
        /** A built-in name (fedavg, fedavgm, fedprox, pfedme) or a module path. */
        name: z.string().min(1).default('fedavg'),
        /** The aggregator's own options (sample_rate comes from clients.sample_rate). */
        options: z.record(z.string(), z.json()).default({}),
      })
      .strict()
      .default({ name: 'fedavg', options: {} }),
    /** How client updates (deltas) are encoded; the downlink is always lossless fp32. */
    codec: CodecSettingsSchema.default({ precision: 'fp32', granularity: 'channel', compression: 'none', level: 6 }),
    round: z
      .object({
        /** Seconds a round (or an evaluation) waits for the selected clients. */
        deadline_s: z.number().positive().default(600),
        /** Fraction of the selected clients whose updates make a round, in (0, 1]. */
        quorum: z.number().gt(0).max(1).default(1),
        /** Attempts after the first when a round misses its quorum. */
        retries: z.number().int().min(0).default(1),
        /** Seconds the server waits for every client's hello before the first round. */
        join_timeout_s: z.number().positive().default(60),
      })
      .strict()
      .default({ deadline_s: 600, quorum: 1, retries: 1, join_timeout_s: 60 }),
    eval: z
      .object({
        /** Validation loss after every N rounds (and after the last); round 0 (before training) always. */
        every: positiveInt.default(1),
        /** Test records scored at the end (generation + the task's score). */
        test_limit: positiveInt.default(100),
        batch_size: positiveInt.max(MAX_BATCH_SIZE).default(16),
        max_new_tokens: positiveInt.max(MAX_TOKENS).default(64),
        /** Validation records per client (all when absent). */
        valid_limit: positiveInt.optional(),
      })
      .strict()
      .default({ every: 1, test_limit: 100, batch_size: 16, max_new_tokens: 64 }),
    threads: positiveInt.max(256).default(2),
    /** Output directory (metrics.jsonl, summary.json, adapter/). */
    out: z.string().min(1).optional(),
  })
  .strict();

export type FlConfig = z.infer<typeof FlConfigSchema>;
export type FlConfigInput = z.input<typeof FlConfigSchema>;
export type TrainSettings = FlConfig['train'];

/**
 * Refuses a config the model cannot run before any round starts: a sequence length beyond the
 * positions the model was built for would fail in every client, and the server would wait out its
 * deadline (600 s) round after round.
 */
export function checkConfigFitsModel(c: FlConfig, cfg: LlamaConfig): void {
  if (c.train.seq_len > cfg.max_position_embeddings)
    throw new ConfigFileError(
      `train.seq_len ${c.train.seq_len} is over the model's max_position_embeddings ${cfg.max_position_embeddings} (${c.model})`,
    );
  const taken = positionsTaken(c.peft);
  if (c.train.seq_len + taken > cfg.max_position_embeddings)
    throw new ConfigFileError(
      `train.seq_len ${c.train.seq_len} plus peft.num_virtual_tokens ${taken} is over the model's max_position_embeddings ${cfg.max_position_embeddings} (${c.model})`,
    );
}

/** Validates a parsed config; errors list each bad key as a dotted path, naming `source`. */
export function parseFlConfig(raw: unknown, source = 'config'): FlConfig {
  return parseWithSchema(FlConfigSchema, raw, source);
}

/** Reads, overrides (`--set`) and validates a config file. */
export async function loadFlConfig(file: string, overrides: readonly string[] = []): Promise<FlConfig> {
  const raw = await loadYamlFile(file);
  return parseFlConfig(applyOverrides(raw, overrides), file);
}

/** One `key.path=value` override: the value is parsed as a YAML scalar or flow value (`1e-3`, `true`, `[q_proj, v_proj]`). */
export function parseOverride(text: string): { path: string[]; value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${text}: expected key.path=value`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => !/^[A-Za-z0-9_]+$/.test(p))) throw new UserError(`--set ${text}: '${key}' is not a dotted key path`);
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch (e) {
    throw new UserError(`--set ${key}: value is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return { path, value: value ?? null };
}

/**
 * Applies `key.path=value` overrides to a parsed config (a new object; the input is not changed).
 * Keys the schema does not know are refused by name here, before anything runs; the options of
 * `aggregator.options` are the aggregator's own and are checked when it is built.
 */
export function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  const root: Record<string, unknown> = isObject(raw) ? structuredClone(raw) : {};
  for (const text of overrides) {
    const { path, value } = parseOverride(text);
    checkKnownPath(path, text);
    let node = root;
    for (const p of path.slice(0, -1)) {
      const next = node[p];
      if (next === undefined || next === null) node[p] = {};
      else if (!isObject(next)) throw new UserError(`--set ${text}: '${p}' is not a section`);
      node = node[p] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return root;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks the schema along `path`: every key must exist (free-form below aggregator.options). */
function checkKnownPath(path: string[], text: string): void {
  let schema: z.ZodType = FlConfigSchema;
  for (let i = 0; i < path.length; i++) {
    const shape = objectShape(schema);
    if (!shape) {
      if (path.slice(0, i).join('.') === 'aggregator.options') return;
      throw new UserError(`--set ${text}: '${path.slice(0, i).join('.')}' has no keys`);
    }
    const next = shape[path[i]!];
    if (!next) throw new UserError(`--set ${text}: unknown key '${path.slice(0, i + 1).join('.')}'`);
    schema = next;
  }
}

/** The object schema under defaults/optionals, if `schema` is one. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: z.ZodType = schema;
  for (let guard = 0; guard < 10; guard++) {
    if (s instanceof z.ZodObject) return s.shape as Record<string, z.ZodType>;
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return undefined;
  }
  return undefined;
}

/** The optimizer config of the train block. */
export function optimizerOf(t: TrainSettings): OptimizerConfig {
  return t.optimizer === 'sgd'
    ? { kind: 'sgd', momentum: t.momentum, weightDecay: t.weight_decay }
    : { kind: 'adamw', weightDecay: t.weight_decay, beta1: t.beta1, beta2: t.beta2 };
}

/** A client's local trainer for one round of `t` (local_steps from the global, a fresh optimizer). */
export function trainerConfigOf(t: TrainSettings, seed: number, padId: number): TrainerConfig {
  return {
    steps: t.local_steps,
    batchSize: t.batch_size,
    seqLen: t.seq_len,
    gradAccum: t.grad_accum,
    lr: t.lr,
    optimizer: optimizerOf(t),
    schedule: { kind: t.schedule, warmupSteps: t.warmup_steps, minRatio: t.min_lr_ratio },
    clipNorm: t.clip_norm,
    seed,
    padId,
  };
}

export { ConfigFileError };
