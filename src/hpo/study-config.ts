// The study config (YAML): what to search, how to judge it, how much to spend, and the base trial.
// Validated with zod so every error names its dotted key; `--set key.path=value` overrides apply to
// the parsed YAML before validation. The validated config is journaled whole, so a resumed study
// needs nothing but its directory.
import { resolve } from 'node:path';
import { z } from 'zod';
import type { JsonValue } from '../engine/json.js';
import { ConfigFileError, loadYamlFile, parseWithSchema } from '../fl/pretrain-config.js';
import { isModuleSpec } from './plugin.js';
import { applyOverrides, flattenLeaves, isJsonObject, type JsonObject } from './config-paths.js';
import { checkConfig, type Config, type ParamValue, parseSpace, type SearchSpace, SpaceError } from './space.js';
import type { FidelityRange, Objective } from './strategy.js';

const positiveInt = z.number().int().positive();
const json: z.ZodType<JsonValue> = z.json();

/** `30`, `90s`, `10m`, `2h` -> seconds. */
const duration = z.union([
  z.number().positive(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(s|m|h)?\s*$/, 'want seconds or a duration such as 90s, 10m, 2h')
    .transform((s) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(s)!;
      return Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h'];
    }),
]);

/** A strategy or pruner: a built-in name or a module path, with its own options. */
const pluginSpec = z.union([
  z
    .string()
    .min(1)
    .transform((name) => ({ name, options: {} as Record<string, JsonValue> })),
  z.object({ name: z.string().min(1), options: z.record(z.string(), json).default({}) }).strict(),
]);

export const StudyConfigSchema = z
  .object({
    name: z.string().min(1).optional(),
    /** Makes a study reproducible: the strategy's, the pruner's and the trials' randomness derive from it. */
    seed: z.number().int().min(0).default(0),
    /** Hyperparameters by dotted path of the trial config (checked by parseSpace). */
    space: z.record(z.string(), json),
    /** Values applied to every trial, by dotted path (nested mappings are flattened to dotted paths). */
    fixed: z.record(z.string(), json).default({}),
    /** Configs (a value for every hyperparameter) to run before the strategy's own suggestions. */
    enqueue: z.array(z.record(z.string(), json)).default([]),
    objectives: z
      .array(z.object({ name: z.string().min(1), direction: z.enum(['minimize', 'maximize']) }).strict())
      .min(1)
      .default([{ name: 'val_loss', direction: 'minimize' }]),
    /** Rounds per trial: `rounds` for single-fidelity strategies, `min_rounds`/`max_rounds` for successive halving. */
    fidelity: z.union([
      z.object({ rounds: positiveInt }).strict(),
      z.object({ min_rounds: positiveInt, max_rounds: positiveInt }).strict(),
    ]),
    /** Limits (at least one): rounds trained summed over trials (the primary unit), trials, wall time in seconds. */
    budget: z.object({ rounds: positiveInt.optional(), trials: positiveInt.optional(), wall_time: duration.optional() }).strict(),
    strategy: pluginSpec,
    pruner: pluginSpec.optional(),
    /** Trials at once: in this process, or queued for workers. */
    parallel: positiveInt.default(1),
    /** Trial workers over NATS JetStream (`--nats`): how long a trial may go without a heartbeat, and how often it is redelivered. */
    workers: z
      .object({ ack_wait: duration.default(30), max_deliveries: positiveInt.default(3) })
      .strict()
      .default({ ack_wait: 30, max_deliveries: 3 }),
    /**
     * The federation's clients as strategies with client tasks (FTS, FLoRA) reach them: their ids (or a
     * count: c0, c1, ...), the NATS scope they join, whether they run in this process or as separate
     * processes (`fedhpo clients serve`, with --nats), timeouts; on the synthetic objective also how
     * far each client's optimum moves (different data) and the local steps a local round stands for.
     */
    client_tasks: z
      .object({
        clients: z.union([positiveInt, z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).min(1)]).default(3),
        scope: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
        remote: z.boolean().default(false),
        heterogeneity: z.number().min(0).max(1).default(0.3),
        local_steps_per_round: positiveInt.default(10),
        deadline: duration.default(600),
        join_timeout: duration.default(60),
        retries: z.number().int().min(0).default(1),
      })
      .strict()
      .optional(),
    /**
     * Federated trials whose clients are long-lived `fedhpo fl client` processes holding their own data
     * (reached through --nats) instead of simulated ones: their ids (default: the task's, c0..cN-1), and
     * whether to leave them running when the study finishes (default: dismissed, as `fl dismiss` does).
     */
    remote_clients: z
      .object({
        clients: z
          .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/))
          .min(1)
          .optional(),
        keep: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** The base trial config (for federated trials an FL config document); its TrialRunner validates it. */
    trial: z.record(z.string(), json),
  })
  .strict();

export type StudyConfig = z.infer<typeof StudyConfigSchema>;
export type PluginSpec = StudyConfig['strategy'];

/** Validates a parsed config document; errors name `file` and each bad dotted key. */
export function parseStudyConfig(raw: unknown, file: string): StudyConfig {
  const config = parseWithSchema(StudyConfigSchema, raw, file);
  const problems = crossCheck(config);
  if (problems.length) throw new ConfigFileError(`${file}: invalid config\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return { ...config, fixed: flattenLeaves(config.fixed) };
}

/** Reads a YAML study config, applies `--set` overrides, validates, and makes plug-in paths absolute. */
export async function loadStudyConfig(file: string, sets: readonly string[] = [], cwd = process.cwd()): Promise<StudyConfig> {
  const raw = await loadYamlFile(file);
  if (!isJsonObject(raw)) throw new ConfigFileError(`${file}: invalid config\n  (root): want a mapping`);
  applyOverrides(raw as JsonObject, sets);
  return resolvePluginPaths(parseStudyConfig(raw, file), cwd);
}

/** Module paths are resolved against the directory the study was started from, then journaled absolute. */
export function resolvePluginPaths(config: StudyConfig, cwd: string): StudyConfig {
  const fix = (p: PluginSpec): PluginSpec => (isModuleSpec(p.name) ? { ...p, name: resolve(cwd, p.name) } : p);
  return { ...config, strategy: fix(config.strategy), ...(config.pruner ? { pruner: fix(config.pruner) } : {}) };
}

export type ClientTasksConfig = z.output<typeof StudyConfigSchema.shape.client_tasks>;

/** The client ids of a study's client_tasks section (a count n means c0 .. c<n-1>; no section: c0, c1, c2). */
export function clientTaskIds(c: ClientTasksConfig): string[] {
  const clients = c?.clients ?? 3;
  return typeof clients === 'number' ? Array.from({ length: clients }, (_, i) => `c${i}`) : [...new Set(clients)];
}

export function studySpace(config: StudyConfig): SearchSpace {
  return parseSpace(config.space, 'space');
}

export function fidelityRange(config: StudyConfig): FidelityRange {
  const f = config.fidelity;
  return 'rounds' in f ? { min: f.rounds, max: f.rounds } : { min: f.min_rounds, max: f.max_rounds };
}

export function studyObjectives(config: StudyConfig): Objective[] {
  return config.objectives.map((o) => ({ name: o.name, direction: o.direction }));
}

/** An enqueued config with its values read as hyperparameter values (nested mappings flattened). */
export function enqueuedConfig(entry: Readonly<Record<string, JsonValue>>): Config {
  return flattenLeaves(entry as JsonObject) as Record<string, ParamValue>;
}

/** What zod cannot check: the space itself, and how the other sections refer to it. */
function crossCheck(config: StudyConfig): string[] {
  const problems: string[] = [];
  let space: SearchSpace | undefined;
  try {
    space = parseSpace(config.space, 'space');
  } catch (e) {
    if (!(e instanceof SpaceError)) throw e;
    problems.push(e.message);
  }
  const fixed = flattenLeaves(config.fixed);
  if (space)
    for (const name of Object.keys(fixed))
      if (space.has(name)) problems.push(`fixed.${name}: also in space; a value is either fixed or searched`);
  if (space)
    config.enqueue.forEach((entry, i) => {
      try {
        checkConfig(space, enqueuedConfig(entry), `enqueue.${i}`);
      } catch (e) {
        if (!(e instanceof SpaceError)) throw e;
        problems.push(e.message);
      }
    });
  const names = config.objectives.map((o) => o.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) problems.push(`objectives.${i}.name: ${n} is named twice`);
  });
  const f = config.fidelity;
  if ('min_rounds' in f && f.min_rounds > f.max_rounds)
    problems.push(`fidelity.min_rounds: ${f.min_rounds} exceeds max_rounds (${f.max_rounds})`);
  const b = config.budget;
  if (b.rounds === undefined && b.trials === undefined && b.wall_time === undefined)
    problems.push('budget: give at least one of rounds, trials, wall_time');
  return problems;
}
