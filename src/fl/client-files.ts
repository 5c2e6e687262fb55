// Federated clients from a user's files (FL config `data: {clients, valid, test, metric}`), beside
// the built-in tasks (client-data.ts). `clients` is what `fedhpo data split` writes — a directory
// whose split.json is read back (client files, sizes, labels, how it was split) — or a list of
// files, one per client. Records are read as src/data/user-records.ts reads them (GSM8K, Dolly,
// HumanEval-style JS, or any training records), all in one format.
//
// Validation (decided here, documented in the README): with `valid`, the shared file is dealt out
// iid over the clients, so each round's validation loss (the sample-weighted mean of the clients')
// is the loss over the whole file; without it, each client holds out `valid_fraction` of its own
// records (at least one), so the loss is on the clients' own distributions. The final score is
// computed on `test` with the metric of its format (or `metric`), per client share: for a `meta`
// split the client holding the record's label, otherwise an iid share.
import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { MAX_DATA_FILE_BYTES } from '../data/records.js';
import type { SplitSummary } from '../data/split-file.js';
import { iidSplit } from '../data/splitters.js';
import type { TaskRecord } from '../data/tasks/types.js';
import {
  type Metric,
  metricFor,
  parseUserRecords,
  type UserFormat,
  type UserRecordOptions,
  type UserRecords,
} from '../data/user-records.js';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { Rng } from '../engine/rng.js';
import { type ClientRecords, type FederatedTask, federatedTask } from './client-data.js';
import type { DataConfig } from './fl-config.js';

/** What split.json must hold for its clients to be read back (the rest of it is informative). */
const SplitJsonSchema = z.object({
  splitter: z.string(),
  by: z.string(),
  clients: z
    .array(z.object({ file: z.string().min(1), size: z.number().int().min(0), labels: z.record(z.string(), z.number()) }).loose())
    .min(1),
});

export interface FileTask extends FederatedTask {
  format: UserFormat;
  metric: Metric;
  /** "file:line: reason" of every record left out, in every file. */
  skipped: string[];
}

/** The clients' data of a run: the built-in task, or the user's files. */
export async function federatedData(d: DataConfig): Promise<FederatedTask | FileTask> {
  return d.task !== undefined ? federatedTask(d.task, d.seed) : federatedFiles(d);
}

/**
 * Reads a user's records file (any format of src/data/user-records.ts); an unreadable file is a
 * UserError prefixed with `where` (the config key or flag naming it), bad records a DataError.
 */
export async function readUserFile(file: string, where: string, o: UserRecordOptions = {}): Promise<UserRecords> {
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: MAX_DATA_FILE_BYTES });
  } catch (e) {
    throw new UserError(`${where}: ${(e as Error).message}`);
  }
  return parseUserRecords(text, file, o);
}

function readUser(file: string, key: string, o: UserRecordOptions = {}): Promise<UserRecords> {
  return readUserFile(file, `data.${key}`, o);
}

interface ClientFile {
  id: string;
  file: string;
  /** split.json's size, checked against the file. */
  size?: number;
}

/** The client files: a split directory's (from split.json) or the listed files. */
async function clientFiles(clients: string | string[]): Promise<{ files: ClientFile[]; split?: SplitSummary }> {
  if (Array.isArray(clients)) {
    const ids = new Set<string>();
    return {
      files: clients.map((file, i) => {
        let id = basename(file, extname(file));
        if (ids.has(id)) id = `${id}-${i}`;
        ids.add(id);
        return { id, file };
      }),
    };
  }
  const splitFile = join(clients, 'split.json');
  if ((await stat(clients).catch(() => undefined))?.isFile())
    throw new UserError(`data.clients: ${clients} is a file, not a split directory; name one file per client as a list: [${clients}, ...]`);
  let text: string;
  try {
    text = await readRegularText(splitFile, { maxBytes: MAX_DATA_FILE_BYTES });
  } catch (e) {
    throw new UserError(
      `data.clients: ${clients} is not a split directory (${(e as Error).message}); name the client files as a list, or run fedhpo data split`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`data.clients: ${splitFile}: invalid JSON (${(e as Error).message}); split again with fedhpo data split`);
  }
  const parsed = SplitJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new UserError(`data.clients: ${splitFile}: ${i.path.join('.') || 'file'}: ${i.message}`);
  }
  const split = parsed.data as unknown as SplitSummary;
  return {
    split,
    files: split.clients.map((c) => ({ id: basename(c.file, extname(c.file)), file: join(clients, c.file), size: c.size })),
  };
}

/** The first `fraction` of a seeded shuffle (at least one record, leaving at least one) and the rest. */
function holdOut(records: TaskRecord[], fraction: number, rng: Rng): { train: TaskRecord[]; validation: TaskRecord[] } {
  const order = rng.shuffle(records.map((_, i) => i));
  const n = Math.min(records.length - 1, Math.max(1, Math.round(fraction * records.length)));
  const held = new Set(order.slice(0, n));
  return { train: records.filter((_, i) => !held.has(i)), validation: records.filter((_, i) => held.has(i)) };
}

export async function federatedFiles(d: DataConfig): Promise<FileTask> {
  const { files, split } = await clientFiles(d.clients!);
  const skipped: string[] = [];
  const note = (r: UserRecords): void => {
    for (const s of r.skipped) skipped.push(`${r.file}:${s.line}: ${s.reason}`);
  };
  const parts: { id: string; records: TaskRecord[] }[] = [];
  let format: UserFormat | undefined;
  for (const c of files) {
    const r = await readUser(c.file, 'clients', { train: true });
    // split.json counted every record it wrote; a client file changed since would be silently different data.
    const count = r.records.length + r.skipped.length;
    if (c.size !== undefined && count !== c.size)
      throw new UserError(
        `data.clients: ${c.file} holds ${count} records but split.json says ${c.size} (changed since the split? split again)`,
      );
    if (format !== undefined && r.format !== format)
      throw new UserError(`data.clients: ${c.file} is ${r.format}-format but ${files[0]!.file} is ${format}-format`);
    format = r.format;
    note(r);
    if (r.records.length < 2 && d.valid === undefined)
      throw new UserError(`data.clients: ${c.file} has ${r.records.length} usable record(s); holding out validation needs at least 2`);
    parts.push({ id: c.id, records: r.records });
  }

  let clients: ClientRecords[];
  const rng = new Rng(d.seed).fork('validation');
  if (d.valid !== undefined) {
    const v = await readUser(d.valid, 'valid', { train: true });
    note(v);
    if (v.format !== format)
      throw new UserError(`data.valid: ${d.valid} is ${v.format}-format but the clients' files are ${format}-format`);
    if (v.records.length < parts.length)
      throw new UserError(`data.valid: ${d.valid} has ${v.records.length} usable records for ${parts.length} clients (at least one each)`);
    const shares = iidSplit(v.records, parts.length, d.seed).clients;
    clients = parts.map((p, i) => ({ id: p.id, train: p.records, validation: shares[i]! }));
  } else {
    clients = parts.map((p) => ({ id: p.id, ...holdOut(p.records, d.valid_fraction, rng.fork(p.id)) }));
  }

  // A meta split's test records go to the client holding their label (split.json's `by`).
  const metaBy = split?.splitter === 'meta' ? split.by : undefined;
  const t = await readUser(d.test!, 'test', { by: metaBy ?? d.by });
  note(t);
  if (t.format !== format) throw new UserError(`data.test: ${d.test} is ${t.format}-format but the clients' files are ${format}-format`);
  const metric = metricFor(t.format, d.metric, d.test!);
  const test = metric === 'loss' ? t.records.filter((r) => r.output !== '') : t.records;
  if (!test.length) throw new UserError(`data.test: ${d.test}: no record has a reference answer to compute a loss on`);
  return { clients, test, testShare: testShares(test, clients, split, d.seed), format: format!, metric, skipped };
}

function testShares(test: TaskRecord[], clients: ClientRecords[], split: SplitSummary | undefined, seed: number): string[] {
  if (split?.splitter === 'meta') {
    const owner = new Map<string, string>();
    split.clients.forEach((c, i) => {
      for (const label of c.values ?? Object.keys(c.labels)) owner.set(label, clients[i]!.id);
    });
    return test.map((r) => owner.get(r.category) ?? 'other');
  }
  const shares = new Array<string>(test.length).fill(clients[0]!.id);
  if (test.length >= clients.length)
    iidSplit(
      test.map((_, i) => i),
      clients.length,
      seed,
    ).clients.forEach((idx, c) => {
      for (const i of idx) shares[i] = clients[c]!.id;
    });
  return shares;
}
