// Splitting a JSONL/JSON-array data file into per-client files (IID, by a meta field, or Dirichlet
// label skew) with a split.json describing the split: what `fedhpo data split` runs. Option errors
// name the command's flags, as that is where they come from.
import { join } from 'node:path';
import { checkOutputPath, readRegularText } from '../engine/files.js';
import { DataError, fieldLabel, parseRawRecords, type RawRecord, type Skipped } from './records.js';
import { SPLIT_SUMMARY_FILE, writeSplitOutput } from './split-output.js';
import { formatOf, userRecord } from './user-records.js';
import { dirichletSplit, formatHistogram, histogram, iidSplit, metaSplit, type Histogram } from './splitters.js';

/** The largest data file read whole (a JS string holds at most ~512 Mi UTF-16 units). */
const MAX_INPUT_BYTES = 512 * 2 ** 20;

export const SPLITTERS = ['iid', 'meta', 'dirichlet'] as const;
export type SplitterName = (typeof SPLITTERS)[number];

export interface DataSplitOptions {
  input: string;
  splitter: SplitterName;
  /** Field whose value labels a record (default 'category'); a dotted path reaches nested objects. */
  by?: string | undefined;
  /** Dirichlet concentration (dirichlet only, required there). */
  alpha?: number | undefined;
  /** Number of clients (required for iid and dirichlet; meta defaults to one per value). */
  clients?: number | undefined;
  seed: number;
  out: string;
  /** Dirichlet: minimum records per client (default 1). */
  minSize?: number | undefined;
  /** Dirichlet: allow clients below minSize / empty (default false). */
  allowEmpty?: boolean | undefined;
}

export interface SplitClientSummary {
  file: string;
  size: number;
  labels: Record<string, number>;
  /** meta: the values merged into this client. */
  values?: string[];
}

/** The contents of split.json. */
export interface SplitSummary {
  splitter: SplitterName;
  input: string;
  by: string;
  params: { clients: number; seed: number; alpha?: number; minSize?: number; allowEmpty?: boolean };
  records: number;
  skipped: number;
  labels: string[];
  clients: SplitClientSummary[];
  /** dirichlet: proportions[l][c], the draw for labels[l]. */
  proportions?: number[][];
}

export interface DataSplitResult {
  /** Header line and the per-client size / label histogram table, ready to print. */
  table: string;
  /** "file:line: reason" for every skipped input line. */
  skipped: string[];
  summary: SplitSummary;
  /** The client files written, in client order. */
  files: string[];
}

const MISSING = '(missing)';

/**
 * The records a federated run can use, read as `fl run` reads a client's file: the format is the
 * first record's (GSM8K, Dolly, HumanEval-js, or text/instruction records as `train` reads them),
 * and a record missing its format's fields (a GSM8K question without its answer) is a bad line, not
 * a client's record. Throws DataError when none is left.
 */
function usableRecords(parsed: { records: RawRecord[]; skipped: Skipped[] }, file: string) {
  const format = formatOf(parsed.records[0]!.value);
  const records: RawRecord[] = [];
  const skipped = [...parsed.skipped];
  for (const r of parsed.records) {
    try {
      userRecord(r.value, format);
      records.push(r);
    } catch (e) {
      skipped.push({ line: r.line, reason: (e as Error).message });
    }
  }
  skipped.sort((a, b) => a.line - b.line);
  if (!records.length) {
    const first = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`);
    throw new DataError(`${file}: no valid ${format} records (${skipped.length} skipped; ${first.join('; ')})`);
  }
  return { records, skipped };
}

function checkOptions(o: DataSplitOptions): void {
  if (!SPLITTERS.includes(o.splitter)) throw new DataError(`--splitter: expected one of ${SPLITTERS.join(', ')}, got ${o.splitter}`);
  if (!Number.isSafeInteger(o.seed)) throw new DataError(`--seed: expected an integer, got ${o.seed}`);
  if (o.clients !== undefined && (!Number.isInteger(o.clients) || o.clients < 1))
    throw new DataError(`--clients: expected a positive integer, got ${o.clients}`);
  if (o.splitter !== 'meta' && o.clients === undefined) throw new DataError(`--clients: required for --splitter ${o.splitter}`);
  if (o.splitter === 'dirichlet') {
    if (o.alpha === undefined) throw new DataError('--alpha: required for --splitter dirichlet (e.g. 0.5; smaller is more skewed)');
    if (!(o.alpha > 0) || !Number.isFinite(o.alpha)) throw new DataError(`--alpha: expected a number > 0, got ${o.alpha}`);
    if (o.minSize !== undefined && (!Number.isInteger(o.minSize) || o.minSize < 0))
      throw new DataError(`--min-size: expected an integer >= 0, got ${o.minSize}`);
  } else {
    if (o.alpha !== undefined) throw new DataError(`--alpha: only used by --splitter dirichlet (got --splitter ${o.splitter})`);
    if (o.minSize !== undefined) throw new DataError(`--min-size: only used by --splitter dirichlet (got --splitter ${o.splitter})`);
    if (o.allowEmpty) throw new DataError(`--allow-empty: only used by --splitter dirichlet (got --splitter ${o.splitter})`);
  }
  if (o.by !== undefined && o.by.trim() === '') throw new DataError('--by: expected a field name');
}

/** Split a data file into out/client_<i>.jsonl (records unchanged) and out/split.json. */
export async function dataSplit(o: DataSplitOptions): Promise<DataSplitResult> {
  checkOptions(o);
  const by = o.by ?? 'category';
  // Before the input is read: an output path that cannot be a directory fails at once.
  await checkOutputPath(o.out, 'directory', '--out');
  const text = await readRegularText(o.input, { maxBytes: MAX_INPUT_BYTES });
  const { records, skipped } = usableRecords(parseRawRecords(text, o.input), o.input);
  const skippedLines = skipped.map((s) => `${o.input}:${s.line}: ${s.reason}`);

  const labelOf = new Map<RawRecord, string>();
  const missing: number[] = [];
  const invalid: { line: number; reason: string }[] = [];
  for (const r of records) {
    const l = fieldLabel(r.value, by);
    if (l instanceof Error) invalid.push({ line: r.line, reason: l.message });
    else if (l === undefined) missing.push(r.line);
    else labelOf.set(r, l);
  }
  if (o.splitter !== 'iid' && (missing.length || invalid.length)) {
    const parts: string[] = [];
    const lines = (ls: number[]) => `line${ls.length === 1 ? '' : 's'} ${ls.slice(0, 10).join(', ')}${ls.length > 10 ? ', ...' : ''}`;
    if (missing.length)
      parts.push(`${missing.length} of ${records.length} records have no '${by}' field (missing, null or blank; ${lines(missing)})`);
    if (invalid.length)
      parts.push(`${invalid.length} records have an unusable '${by}' (${invalid[0]!.reason}; ${lines(invalid.map((x) => x.line))})`);
    throw new DataError(
      `${o.input}: ${parts.join('; ')}. A ${o.splitter} split needs a label on every record: fix or drop those records, ` +
        `choose another field with --by, or use --splitter iid`,
    );
  }

  // Only iid can get here with unlabelled records; its histogram counts them as '(missing)'.
  const key = (r: RawRecord) => labelOf.get(r) ?? MISSING;
  let clients: RawRecord[][];
  const extra: Partial<SplitSummary> = {};
  let groups: string[][] | undefined;
  const params: SplitSummary['params'] = { clients: 0, seed: o.seed };
  if (o.splitter === 'iid') {
    ({ clients } = iidSplit(records, o.clients!, o.seed));
  } else if (o.splitter === 'meta') {
    const s = metaSplit(records, key, { clients: o.clients, seed: o.seed });
    clients = s.clients;
    groups = s.groups;
  } else {
    const s = dirichletSplit(records, key, {
      clients: o.clients!,
      alpha: o.alpha!,
      seed: o.seed,
      minSize: o.minSize,
      allowEmpty: o.allowEmpty,
    });
    clients = s.clients;
    extra.proportions = s.proportions;
    params.alpha = o.alpha!;
    params.minSize = o.minSize ?? 1;
    params.allowEmpty = o.allowEmpty ?? false;
  }
  params.clients = clients.length;

  // iid with no record carrying the field: sizes only.
  const hist: Histogram =
    o.splitter === 'iid' && labelOf.size === 0
      ? { labels: [], clients: clients.map((c) => ({ size: c.length, counts: {} })) }
      : histogram(clients, key);
  const labels = hist.labels;

  const files = clients.map((c, i): [string, string] => [`client_${i}.jsonl`, c.map((r) => `${r.text}\n`).join('')]);
  const summary: SplitSummary = {
    splitter: o.splitter,
    input: o.input,
    by,
    params,
    records: records.length,
    skipped: skipped.length,
    labels,
    clients: clients.map((c, i) => ({
      file: `client_${i}.jsonl`,
      size: c.length,
      labels: { ...hist.clients[i]!.counts },
      ...(groups ? { values: groups[i]! } : {}),
    })),
    ...extra,
  };
  await writeSplitOutput(o.out, o.input, [...files, [SPLIT_SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`]]);

  const how =
    o.splitter === 'iid' ? `seed ${o.seed}` : o.splitter === 'meta' ? `by '${by}'` : `by '${by}', alpha ${o.alpha}, seed ${o.seed}`;
  const header =
    `${o.splitter} split (${how}): ${records.length} records${skipped.length ? ` (${skipped.length} skipped)` : ''} ` +
    `into ${clients.length} clients in ${o.out}` +
    (o.splitter === 'iid' && labelOf.size ? ` (histogram by '${by}')` : '');
  return { table: `${header}\n${formatHistogram(hist)}`, skipped: skippedLines, summary, files: files.map(([name]) => join(o.out, name)) };
}
