// `fedhpo bench record`: runs every config of a study's grid once (one seed) through the study's
// TrialRunner and appends one line per config to a bench table (bench-table.ts): the validation loss
// at every round and the evaluation score at log-spaced rounds. Each config runs in segments that end
// at the scored rounds (1, 2, 4, 8 ...), each continuing from the previous segment's checkpoint, so the
// runner's end-of-run evaluation gives the score there without retraining. Resumable: a re-run with
// the same recipe skips the configs already in the table; a different recipe is refused.
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../engine/errors.js';
import { checkOutputPath } from '../engine/files.js';
import { modelDirSha256 } from '../fl/model-fingerprint.js';
import { SHIPPED_BASE_MODEL } from '../model/source.js';
import {
  appendLine,
  BENCH_TABLE_FORMAT,
  type BenchRound,
  type BenchRow,
  type BenchTableHeader,
  readBenchTable,
  readBenchTableBytes,
  rowIndex,
} from './bench-table.js';
import { getPath, type JsonObject } from './config-paths.js';
import { type Config, configKey, paramValues } from './space.js';
import { fidelityRange, type StudyConfig, studySpace } from './study-config.js';
import { StudyLock } from './study-lock.js';
import { gridConfigs } from './testfns.js';
import { trialConfigOf } from './trial-config.js';
import { failedOutcome, type Metrics, type TrialOutcome, type TrialRunner } from './trial-runner.js';
import { fedhpoVersion } from './version.js';

export interface RecordOptions {
  readonly config: StudyConfig;
  /** The table file (JSONL); created, or continued when it holds the same recipe. */
  readonly file: string;
  /** The command line to freeze in the header. */
  readonly command: readonly string[];
  /** Rounds to score at (default: 1, 2, 4, ... up to the max round, and the max round). */
  readonly scoreRounds?: readonly number[];
  /** How the config becomes a TrialRunner (the CLI passes trialRunnerFor: federated or synthetic); closed at the end. */
  readonly runnerFor: (config: StudyConfig) => TrialRunner;
  /** Stop after this many newly recorded configs (a partial run; the rest on the next call). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface RecordResult {
  readonly file: string;
  readonly total: number;
  /** Configs already in the table when this call started, and configs recorded by this call. */
  readonly skipped: number;
  readonly recorded: number;
  /** A torn last line (a config killed mid-append) that was cut off before continuing. */
  readonly tornBytes: number;
}

/** 1, 2, 4, ... below `max`, then `max`: where a recorded table is scored by default. */
export function logSpacedRounds(max: number): number[] {
  const rounds: number[] = [];
  for (let r = 1; r < max; r *= 2) rounds.push(r);
  return [...rounds, max];
}

/** Every config of the study's space; a UserError naming a continuous dimension (a table needs a grid). */
export function benchGrid(config: StudyConfig): Config[] {
  const space = studySpace(config);
  for (const [name, p] of space)
    if (!paramValues(p))
      throw new UserError(`space.${name}: a bench table records a grid; give it a grid (grid: [...]), choices or int steps`);
  return gridConfigs(space);
}

/** The table's header for `config`: everything that decides its numbers, frozen. */
export async function benchHeader(
  config: StudyConfig,
  runner: TrialRunner,
  scoreRounds: readonly number[],
  command: readonly string[],
): Promise<BenchTableHeader> {
  const baseTrial = trialConfigOf(config, {});
  return {
    format: BENCH_TABLE_FORMAT,
    version: 1,
    created: new Date().toISOString(),
    command: [...command],
    fedhpo_version: await fedhpoVersion(),
    runner: runner.name,
    seed: config.seed,
    max_round: fidelityRange(config).max,
    score_rounds: [...scoreRounds],
    space: config.space,
    base_trial: baseTrial,
    study: JSON.parse(JSON.stringify(config)) as JsonObject,
    model_sha256: await baseModelSha256(baseTrial, runner),
    configs: benchGrid(config).length,
  };
}

/** The base model of a federated trial config (its `model`, else the shipped base); none for other runners. */
async function baseModelSha256(baseTrial: JsonObject, runner: TrialRunner): Promise<string | null> {
  const model = getPath(baseTrial, 'model');
  const dir = typeof model === 'string' ? model : runner.name === 'synthetic' ? undefined : SHIPPED_BASE_MODEL;
  if (dir === undefined) return null;
  // Not a model directory here: the runner will say so when it runs.
  if (!(await stat(join(resolve(dir), 'config.json')).catch(() => undefined))) return null;
  return modelDirSha256(resolve(dir));
}

/** What must match for a resumed recording to continue a table (not the time or the command). */
function recipe(h: BenchTableHeader): string {
  return JSON.stringify([h.runner, h.seed, h.max_round, h.score_rounds, h.space, h.base_trial, h.model_sha256]);
}

export async function recordBenchTable(o: RecordOptions): Promise<RecordResult> {
  const log = o.log ?? (() => {});
  const grid = benchGrid(o.config);
  const maxRound = fidelityRange(o.config).max;
  const scoreRounds = checkScoreRounds(o.scoreRounds ?? logSpacedRounds(maxRound), maxRound);
  // Before the lock file beside it: a directory, FIFO or device as the table is refused by name.
  await checkOutputPath(o.file, 'file', 'bench table');
  const runner = o.runnerFor(o.config);
  const lock = await StudyLock.acquireFile(`${o.file}.lock`, `bench table ${o.file}`);
  try {
    const header = await benchHeader(o.config, runner, scoreRounds, o.command);
    const { done, tornBytes } = await openTable(o.file, header);
    const space = studySpace(o.config);
    const todo = grid.map((config, index) => ({ config, index })).filter(({ config }) => !done.has(configKey(space, config)));
    log(
      `bench table ${o.file}: ${grid.length} configs, ${grid.length - todo.length} recorded, ${todo.length} to go` +
        `${tornBytes ? ` (cut a torn last line of ${tornBytes} bytes)` : ''}; scores at rounds ${scoreRounds.join(', ')}`,
    );
    const work = `${o.file}.trials`;
    let recorded = 0;
    const started = Date.now();
    for (const { config, index } of todo) {
      if (o.limit !== undefined && recorded >= o.limit) break;
      o.signal?.throwIfAborted();
      const dir = join(work, String(index));
      await rm(dir, { recursive: true, force: true }); // a killed run's leftovers
      const row = await recordConfig(runner, o.config, config, index, scoreRounds, dir, o.signal);
      await appendLine(o.file, row);
      await rm(dir, { recursive: true, force: true });
      recorded++;
      const left = todo.length - recorded;
      const eta = ((Date.now() - started) / recorded) * left;
      log(`[${grid.length - left}/${grid.length}] ${describeRow(row)} (${row.seconds.toFixed(0)} s; ${formatEta(eta)} to go)`);
    }
    if (recorded === todo.length) await rm(work, { recursive: true, force: true });
    return { file: o.file, total: grid.length, skipped: grid.length - todo.length, recorded, tornBytes };
  } finally {
    await runner.close?.();
    await lock.release();
  }
}

function checkScoreRounds(rounds: readonly number[], max: number): number[] {
  const sorted = [...new Set(rounds)].sort((a, b) => a - b);
  for (const r of sorted)
    if (!(Number.isInteger(r) && r >= 1 && r <= max)) throw new UserError(`score rounds: ${r} is not a round in 1..${max}`);
  if (sorted.at(-1) !== max) throw new UserError(`score rounds: end at the max round (${max}), so a table can be scored at full fidelity`);
  return sorted;
}

/** The configs already recorded in `file`, writing the header first when it is new (or holds no complete line). */
async function openTable(file: string, header: BenchTableHeader): Promise<{ done: Set<string>; tornBytes: number }> {
  const bytes = await readBenchTableBytes(file);
  if (!bytes?.includes(0x0a)) {
    // New, or killed before its header was on disk: only then is it started over. Anything else
    // without a line end is not a table of ours (a user's file given as --out): it is left alone.
    if (bytes?.length && !isTornHeader(bytes))
      throw new UserError(`${file}: exists and is not a bench table (no header line); record into another --out`);
    await mkdir(dirname(resolve(file)), { recursive: true });
    await rm(file, { force: true });
    await appendLine(file, header, 'wx');
    return { done: new Set(), tornBytes: 0 };
  }
  const table = await readBenchTable(file, { repair: true });
  if (recipe(table.header) !== recipe(header))
    throw new UserError(
      `${file} was recorded with another recipe (runner, seed, rounds, space, base trial or model differ); ` +
        'record into another --out, or delete it to start over',
    );
  return { done: new Set(rowIndex(table).keys()), tornBytes: table.torn?.bytes ?? 0 };
}

/** Whether `bytes` (no line end) can be the start of a header appendLine was writing when killed. */
function isTornHeader(bytes: Buffer): boolean {
  const start = `{"format":"${BENCH_TABLE_FORMAT}"`;
  const text = bytes.subarray(0, start.length).toString('utf8');
  return start.startsWith(text);
}

/** Runs one config to the max round in segments ending at the score rounds. */
async function recordConfig(
  runner: TrialRunner,
  study: StudyConfig,
  config: Config,
  index: number,
  scoreRounds: readonly number[],
  dir: string,
  signal: AbortSignal | undefined,
): Promise<BenchRow> {
  const rounds = new Map<number, BenchRound>();
  const costs: Record<string, number> = {};
  const started = Date.now();
  const trialConfig = trialConfigOf(study, config);
  const abort = signal ?? new AbortController().signal;
  let parent: { trialId: number; round: number; checkpoint: string } | undefined;
  let end: TrialOutcome | undefined;
  for (const [k, target] of scoreRounds.entries()) {
    const trialId = index * scoreRounds.length + k;
    const seen: { round: number; metrics: Metrics }[] = [];
    try {
      end = await runner.run({
        trialId,
        attempt: 1,
        config: trialConfig,
        fidelity: target,
        ...(parent ? { parent } : {}),
        dir: join(dir, `to-${target}`),
        onRound: (round, metrics) => {
          seen.push({ round, metrics });
          return 'continue';
        },
        signal: abort,
      });
    } catch (e) {
      abort.throwIfAborted();
      // As in a study: a runner that throws has failed the trial.
      end = failedOutcome(e, seen, parent?.round ?? 0);
    }
    abort.throwIfAborted();
    for (const { round, metrics } of end.curve) if (round >= 1) rounds.set(round, { round, val_loss: finite(metrics.val_loss) });
    for (const [name, v] of Object.entries(end.costs)) costs[name] = (costs[name] ?? 0) + v;
    if (end.status !== 'complete') break;
    const at = rounds.get(target);
    if (at) at.score = finite(scoreOf(end.metrics, end.curve.at(-1)?.metrics));
    // A runner without checkpoints starts the next segment over from round 0 (same numbers, more time).
    parent = end.checkpoint ? { trialId, round: target, checkpoint: end.checkpoint } : undefined;
  }
  const status = end?.status === 'complete' ? 'complete' : end?.status === 'diverged' ? 'diverged' : 'failed';
  return {
    index,
    config: { ...config },
    status,
    ...(end?.reason && status !== 'complete' ? { reason: end.reason } : {}),
    rounds: [...rounds.values()].sort((a, b) => a.round - b.round),
    seconds: (Date.now() - started) / 1000,
    costs,
  };
}

const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** The score a run ended with: its final metrics, else its last round's. */
const scoreOf = (final: Metrics, last: Metrics | undefined): number | undefined => final.score ?? last?.score;

function describeRow(row: BenchRow): string {
  const hp = Object.entries(row.config)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const last = row.rounds.at(-1);
  const scored = row.rounds.filter((r) => r.score !== undefined).at(-1);
  return (
    `${hp}: ${row.status}` +
    (last ? `, val_loss ${last.val_loss?.toFixed(4) ?? 'NaN'} @ ${last.round}` : '') +
    (scored ? `, score ${scored.score?.toFixed(4) ?? '-'} @ ${scored.round}` : '')
  );
}

function formatEta(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
