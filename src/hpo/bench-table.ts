// A recorded tabular benchmark (as FedHPO-Bench): one JSONL file, a header line with the frozen recipe
// (the study config, the base trial config, the space, the command, the fedhpo version, the base
// model's sha256), then one line per finished config with its validation loss at every round and its
// evaluation score at the scored rounds. Lines are appended and fsynced one config at a time, so a
// killed recorder loses at most the config it was running: a torn last line (no newline yet) is
// dropped on reading, and cut off the file before a resumed recorder appends.
import { open, stat, truncate } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import { readRegularFile } from '../engine/files.js';
import { type JsonValue, previewJson } from '../engine/json.js';
import { type Config, checkConfig, configKey, parseSpace, type SearchSpace } from './space.js';

export const BENCH_TABLE_FORMAT = 'fedhpo.bench-table';

export class BenchTableError extends UserError {
  override name = 'BenchTableError';
}

const json: z.ZodType<JsonValue> = z.json();
const positiveInt = z.number().int().positive();
/** A measurement; null when it was not finite (a diverged run's NaN). */
const measured = z.number().nullable();

export const BenchTableHeaderSchema = z.looseObject({
  format: z.literal(BENCH_TABLE_FORMAT),
  version: z.literal(1),
  created: z.string(),
  /** The command line that recorded the table (argv after node). */
  command: z.array(z.string()),
  fedhpo_version: z.string(),
  /** The TrialRunner's name (synthetic, federated, ...). */
  runner: z.string(),
  /** The one seed every trial ran with (the study config's seed). */
  seed: z.number().int(),
  max_round: positiveInt,
  /** Rounds at which the evaluation score was measured (log-spaced, the max round last). */
  score_rounds: z.array(positiveInt).min(1),
  /** Hyperparameters by dotted path, as in the study config (a grid: every combination is a row). */
  space: z.record(z.string(), json),
  /** The full trial config every row starts from (the study's trial with its fixed values applied). */
  base_trial: z.record(z.string(), json),
  /** The whole validated study config the table was recorded from. */
  study: z.record(z.string(), json),
  /** sha256 of the base model's files, when the trials fine-tune one. */
  model_sha256: z.string().nullable(),
  /** Configs in the grid (rows when the table is complete). */
  configs: positiveInt,
});

export type BenchTableHeader = z.infer<typeof BenchTableHeaderSchema>;

const RoundSchema = z.object({ round: positiveInt, val_loss: measured, score: measured.optional() }).strict();

export const BenchRowSchema = z
  .object({
    /** The config's position in the grid (space order). */
    index: z.number().int().min(0),
    config: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    /** complete: every round to the max; failed or diverged: the rounds it reached. */
    status: z.enum(['complete', 'failed', 'diverged']),
    reason: z.string().optional(),
    rounds: z.array(RoundSchema),
    seconds: z.number().min(0),
    costs: z.record(z.string(), z.number()).default({}),
  })
  .strict();

export type BenchRow = z.infer<typeof BenchRowSchema>;
export type BenchRound = BenchRow['rounds'][number];

export interface BenchTable {
  readonly file: string;
  readonly header: BenchTableHeader;
  readonly space: SearchSpace;
  /** Finished configs in file order, at most one per config. */
  readonly rows: readonly BenchRow[];
}

export interface BenchTableContents extends BenchTable {
  /** Bytes of the complete lines (where a torn last line starts). */
  readonly completeBytes: number;
  /** A torn last line that was dropped: its 1-based line number and bytes. */
  readonly torn?: { readonly line: number; readonly bytes: number };
}

/** Parses table bytes: the header, then rows; an unterminated last line is reported as torn, damage before it refused. */
export function parseBenchTable(bytes: Uint8Array, file: string): BenchTableContents {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const completeBytes = buf.lastIndexOf(0x0a) + 1;
  const lines = buf.subarray(0, completeBytes).toString('utf8').split('\n').slice(0, -1);
  if (!lines.length) throw new BenchTableError(`${file}: no header line (not a bench table, or its recording never started)`);
  const header = parseLine(lines[0]!, 1, file, BenchTableHeaderSchema);
  let space: SearchSpace;
  try {
    space = parseSpace(header.space, `${file} header space`);
  } catch (e) {
    throw new BenchTableError((e as Error).message);
  }
  const seen = new Map<string, number>();
  const rows = lines.slice(1).map((text, i) => {
    const row = parseLine(text, i + 2, file, BenchRowSchema);
    // A row outside the header's space was recorded under another recipe (or the header was swapped).
    try {
      checkConfig(space, row.config, 'config');
    } catch (e) {
      throw new BenchTableError(`${file} line ${i + 2}: row's ${(e as Error).message} in the header's space (a row of another recipe?)`);
    }
    const key = configKey(space, row.config);
    if (seen.has(key)) throw new BenchTableError(`${file} line ${i + 2}: config ${key} is already on line ${seen.get(key)}`);
    seen.set(key, i + 2);
    return row;
  });
  const tornBytes = buf.byteLength - completeBytes;
  return {
    file,
    header,
    space,
    rows,
    completeBytes,
    ...(tornBytes ? { torn: { line: lines.length + 1, bytes: tornBytes } } : {}),
  };
}

function parseLine<T>(text: string, line: number, file: string, schema: z.ZodType<T>): T {
  const where = `${file} line ${line}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BenchTableError(`${where}: not JSON (${(e as Error).message}); the table is damaged before its last line`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BenchTableError(`${where}: ${issue.path.join('.') || 'line'}: ${issue.message}: ${previewJson(raw, 120)}`);
  }
  return r.data;
}

/** Reads a table; with `repair`, a torn last line is also cut off the file (a recorder is about to append). */
export async function readBenchTable(file: string, opts: { repair?: boolean } = {}): Promise<BenchTableContents> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new BenchTableError(`${file}: no such bench table`);
    throw e;
  });
  if (st.isDirectory())
    throw new BenchTableError(`${file}: a directory, not a bench table (a table is the .jsonl file bench record wrote)`);
  // Only a regular file of bounded size (a FIFO or /dev/zero is refused, not read forever).
  const bytes = await readRegularFile(file, { maxBytes: MAX_BENCH_TABLE_BYTES });
  const table = parseBenchTable(bytes, file);
  if (table.torn && opts.repair) await truncate(file, table.completeBytes);
  return table;
}

/** A table is read whole: far above any grid's table (a 48-config x 8-round table is ~40 kB). */
export const MAX_BENCH_TABLE_BYTES = 256 * 2 ** 20;

/**
 * The bytes of a table file, or undefined when there is none; a UserError naming the file when it is
 * not a regular file (a directory, a FIFO that would block, /dev/zero that would never end) or too large.
 */
export async function readBenchTableBytes(file: string): Promise<Buffer | undefined> {
  const exists = await stat(file).then(
    () => true,
    (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
  );
  if (!exists) return undefined;
  return readRegularFile(file, { maxBytes: MAX_BENCH_TABLE_BYTES });
}

/** Appends one line and waits for it to be on disk. */
export async function appendLine(file: string, value: BenchTableHeader | BenchRow, flag: 'a' | 'wx' = 'a'): Promise<void> {
  const fh = await open(file, flag);
  try {
    await fh.appendFile(`${JSON.stringify(value)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The row of `config`, if recorded. */
export function rowIndex(table: BenchTable): Map<string, BenchRow> {
  return new Map(table.rows.map((r) => [configKey(table.space, r.config as Config), r]));
}
