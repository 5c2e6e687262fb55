// Federated data splitters, as in FederatedScope-LLM: IID, by a meta field (one client per value,
// optionally merged down), and Dirichlet label skew. They work on any records with a string key
// function, are deterministic for a seed, and keep the input order of the records within a client.
import { DataError } from './records.js';
import { Rng } from '../engine/rng.js';

/** A split that cannot be made as asked (e.g. clients left empty). A DataError, so the CLI prints it plainly. */
export class SplitError extends DataError {
  /** Indices of clients left empty (or below `minSize`), when that is the failure. */
  readonly emptyClients: number[];
  constructor(message: string, emptyClients: number[] = []) {
    super(message);
    this.name = 'SplitError';
    this.emptyClients = emptyClients;
  }
}

export interface Split<T> {
  /** Records per client; every input record appears in exactly one client, in input order. */
  clients: T[][];
  /** Distinct label values over all records, sorted (compareLabels); [] for iidSplit. */
  labels: string[];
}

export interface MetaSplit<T> extends Split<T> {
  /** The label values merged into each client (one each unless `clients` asked for fewer). */
  groups: string[][];
}

export interface DirichletSplit<T> extends Split<T> {
  /** proportions[l][c]: the Dirichlet draw for label `labels[l]` over the clients (rows sum to 1). */
  proportions: number[][];
}

export interface Histogram {
  /** Sorted label values (the columns). */
  labels: string[];
  /** Per client: record count and count per label (labels with 0 records omitted). */
  clients: { size: number; counts: Record<string, number> }[];
}

/** Label order: numeric strings numerically first, then the rest by code unit (locale-independent). */
export function compareLabels(a: string, b: string): number {
  const na = /^-?\d+(\.\d+)?$/.test(a) ? Number(a) : NaN;
  const nb = /^-?\d+(\.\d+)?$/.test(b) ? Number(b) : NaN;
  const aNum = !Number.isNaN(na);
  const bNum = !Number.isNaN(nb);
  if (aNum && bNum && na !== nb) return na - nb;
  if (aNum !== bNum) return aNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkClients(clients: number, what: string): void {
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`${what}: clients must be a positive integer, got ${clients}`);
}

/** Record indices grouped by label, labels sorted. */
function groupByLabel<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number[]> {
  const byLabel = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const list = byLabel.get(k);
    if (list) list.push(i);
    else byLabel.set(k, [i]);
  });
  return new Map([...byLabel.entries()].sort((a, b) => compareLabels(a[0], b[0])));
}

/** Materialise index lists as records, each client in input order. */
function collect<T>(items: readonly T[], idx: number[][]): T[][] {
  return idx.map((list) => list.sort((a, b) => a - b).map((i) => items[i]!));
}

/**
 * Uniform random split into `clients` parts whose sizes differ by at most one (the first
 * `items.length % clients` clients get the extra record). Throws SplitError if there are fewer
 * records than clients.
 */
export function iidSplit<T>(items: readonly T[], clients: number, seed: number): Split<T> {
  checkClients(clients, 'iidSplit');
  if (items.length < clients)
    throw new SplitError(`iid split: ${items.length} records cannot fill ${clients} clients (each needs at least one); use fewer clients`);
  const order = new Rng(seed).fork('iid').shuffle(items.map((_, i) => i));
  const base = Math.floor(items.length / clients);
  const extra = items.length % clients;
  const idx: number[][] = [];
  let at = 0;
  for (let c = 0; c < clients; c++) {
    const n = base + (c < extra ? 1 : 0);
    idx.push(order.slice(at, at + n));
    at += n;
  }
  return { clients: collect(items, idx), labels: [] };
}

/**
 * One client per distinct value of `keyOf`, in label order. With `clients` below the number of
 * values, values are merged: largest value first (ties in label order) into the currently smallest
 * client (ties: lowest index); clients are then ordered by their first value. Deterministic: `seed`
 * is accepted for a uniform interface and not used.
 */
export function metaSplit<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  opts: { clients?: number | undefined; seed?: number | undefined } = {},
): MetaSplit<T> {
  const byLabel = groupByLabel(items, keyOf);
  const labels = [...byLabel.keys()];
  if (labels.length === 0) throw new SplitError('meta split: no records to split');
  const n = opts.clients ?? labels.length;
  checkClients(n, 'metaSplit');
  if (n > labels.length) {
    throw new SplitError(
      `meta split: asked for ${n} clients but the field has only ${labels.length} distinct value${labels.length === 1 ? '' : 's'} ` +
        `(${preview(labels)}); a meta split makes at most one client per value: ask for ${labels.length} or fewer clients, or use another splitter`,
    );
  }
  let groups: string[][];
  if (n === labels.length) {
    groups = labels.map((l) => [l]);
  } else {
    const bySize = labels.map((l, rank) => ({ l, rank, size: byLabel.get(l)!.length }));
    bySize.sort((a, b) => b.size - a.size || a.rank - b.rank);
    const bins = Array.from({ length: n }, () => ({ size: 0, values: [] as { l: string; rank: number }[] }));
    for (const v of bySize) {
      let best = 0;
      for (let c = 1; c < n; c++) if (bins[c]!.size < bins[best]!.size) best = c;
      bins[best]!.size += v.size;
      bins[best]!.values.push(v);
    }
    for (const b of bins) b.values.sort((x, y) => x.rank - y.rank);
    bins.sort((x, y) => x.values[0]!.rank - y.values[0]!.rank);
    groups = bins.map((b) => b.values.map((v) => v.l));
  }
  const idx = groups.map((g) => g.flatMap((l) => byLabel.get(l)!));
  return { clients: collect(items, idx), labels, groups };
}

/**
 * log of a Gamma(shape, 1) deviate: Marsaglia & Tsang (2000) for shape >= 1; for shape < 1 the
 * boost Gamma(a) = Gamma(a + 1) * U^(1/a), kept in log space so tiny shapes do not underflow to 0.
 */
export function sampleLogGamma(rng: Rng, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Gamma shape must be a finite number > 0, got ${shape}`);
  if (shape < 1) return sampleLogGamma(rng, shape + 1) + Math.log(1 - rng.next()) / shape; // 1 - next() in (0, 1]
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = rng.next();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return Math.log(d) + Math.log(v);
  }
}

/** A Gamma(shape, 1) deviate (mean and variance = shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  return Math.exp(sampleLogGamma(rng, shape));
}

/** A Dirichlet(alpha) draw, normalised in log space (exact zeros cannot all occur). */
export function sampleDirichlet(rng: Rng, alpha: readonly number[]): number[] {
  if (alpha.length === 0) throw new RangeError('Dirichlet needs at least one concentration');
  const logs = alpha.map((a) => sampleLogGamma(rng, a));
  const max = Math.max(...logs);
  const w = logs.map((l) => Math.exp(l - max));
  const sum = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / sum);
}

export interface DirichletOptions {
  clients: number;
  /** Concentration: large -> near-uniform per label, small (< 1) -> each label on few clients. */
  alpha: number;
  seed: number;
  /** Every client must get at least this many records (default 1). */
  minSize?: number | undefined;
  /** Allow clients with fewer than minSize records, including empty ones (default false). */
  allowEmpty?: boolean | undefined;
}

/**
 * Label skew: for each label (in label order) draw client proportions p ~ Dir(alpha * 1), shuffle
 * that label's records and cut them at floor(cumsum(p) * count) (as FederatedScope does). Each
 * label uses its own stream forked from the seed, so a label's assignment does not depend on the
 * other labels. Throws SplitError naming the clients below `minSize` unless `allowEmpty`.
 */
export function dirichletSplit<T>(items: readonly T[], keyOf: (item: T) => string, opts: DirichletOptions): DirichletSplit<T> {
  const { clients, alpha, seed } = opts;
  checkClients(clients, 'dirichletSplit');
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`dirichletSplit: alpha must be a finite number > 0, got ${alpha}`);
  const minSize = opts.minSize ?? 1;
  if (!Number.isInteger(minSize) || minSize < 0) throw new RangeError(`dirichletSplit: minSize must be an integer >= 0, got ${minSize}`);
  if (items.length === 0) throw new SplitError('dirichlet split: no records to split');
  const byLabel = groupByLabel(items, keyOf);
  const labels = [...byLabel.keys()];
  const root = new Rng(seed).fork('dirichlet');
  const idx: number[][] = Array.from({ length: clients }, () => []);
  const proportions: number[][] = [];
  const conc = new Array<number>(clients).fill(alpha);
  for (const label of labels) {
    const rng = root.fork(label);
    const p = sampleDirichlet(rng, conc);
    proportions.push(p);
    const members = rng.shuffle([...byLabel.get(label)!]);
    let cum = 0;
    let start = 0;
    for (let c = 0; c < clients; c++) {
      cum += p[c]!;
      const end = c === clients - 1 ? members.length : Math.min(members.length, Math.floor(cum * members.length));
      for (let j = start; j < end; j++) idx[c]!.push(members[j]!);
      start = Math.max(start, end);
    }
  }
  const short = idx.flatMap((list, c) => (list.length < minSize ? [c] : []));
  if (short.length && !opts.allowEmpty) {
    const empty = short.filter((c) => idx[c]!.length === 0);
    const what =
      minSize <= 1
        ? `left ${short.length} of ${clients} clients empty`
        : `left ${short.length} of ${clients} clients below the minimum of ${minSize} records${empty.length ? ` (${empty.length} empty)` : ''}`;
    throw new SplitError(
      `dirichlet split with alpha=${alpha} ${what}: client${short.length === 1 ? '' : 's'} ${preview(short, 20)} ` +
        `(${items.length} records, ${labels.length} label${labels.length === 1 ? '' : 's'}, seed ${seed}). ` +
        `Raise alpha (less skew), use fewer clients, or allow empty clients (allowEmpty / --allow-empty).`,
      short,
    );
  }
  return { clients: collect(items, idx), labels, proportions };
}

/** Per-client size and label counts. */
export function histogram<T>(clients: readonly (readonly T[])[], keyOf: (item: T) => string): Histogram {
  const seen = new Set<string>();
  const rows = clients.map((list) => {
    const counts: Record<string, number> = Object.create(null); // a label may be '__proto__'
    for (const item of list) {
      const k = keyOf(item);
      seen.add(k);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return { size: list.length, counts };
  });
  const labels = [...seen].sort(compareLabels);
  for (const row of rows) {
    // Rebuild each counts object in label order (stable, readable JSON).
    const sorted: Record<string, number> = Object.create(null);
    for (const l of labels) if (row.counts[l] !== undefined) sorted[l] = row.counts[l];
    row.counts = sorted;
  }
  return { labels, clients: rows };
}

/**
 * A plain-text table: one row per client with its size and, for up to `maxColumns` labels, one
 * column per label; with more labels, each client's three largest labels instead. A total row ends it.
 */
export function formatHistogram(h: Histogram, maxColumns = 10): string {
  const total = h.clients.reduce((s, c) => s + c.size, 0);
  const header = ['client', 'size'];
  const rows: string[][] = [];
  const labelTotals: Record<string, number> = Object.create(null);
  for (const c of h.clients) for (const [k, v] of Object.entries(c.counts)) labelTotals[k] = (labelTotals[k] ?? 0) + v;
  const wide = h.labels.length <= maxColumns;
  if (wide) header.push(...h.labels);
  else header.push(`top labels (of ${h.labels.length})`);
  const top = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1] || compareLabels(a[0], b[0]))
      .slice(0, 3)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
  h.clients.forEach((c, i) => {
    rows.push([
      String(i),
      String(c.size),
      ...(wide ? h.labels.map((l) => String(c.counts[l] ?? 0)) : h.labels.length ? [top(c.counts)] : []),
    ]);
  });
  rows.push([
    'total',
    String(total),
    ...(wide ? h.labels.map((l) => String(labelTotals[l] ?? 0)) : h.labels.length ? [top(labelTotals)] : []),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, j) => Math.max(...all.map((r) => (r[j] ?? '').length)));
  const numeric = header.map((_, j) => wide || j < 2);
  return all
    .map((r) =>
      r
        .map((cell, j) => (numeric[j] && j > 0 ? cell.padStart(widths[j]!) : cell.padEnd(widths[j]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The first `max` values, comma separated (strings quoted), with a count of the rest. */
function preview(values: readonly (string | number)[], max = 10): string {
  const shown = values.slice(0, max).map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return shown.join(', ') + (values.length > max ? `, ... (${values.length - max} more)` : '');
}
