import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSplit } from '../../src/data/split-file.js';
import { parseRawRecords } from '../../src/data/records.js';
import { DataError } from '../../src/data/records.js';
import {
  compareLabels,
  dirichletSplit,
  formatHistogram,
  histogram,
  iidSplit,
  metaSplit,
  sampleDirichlet,
  sampleGamma,
  SplitError,
} from '../../src/data/splitters.js';
import { Rng } from '../../src/engine/rng.js';

interface Item {
  id: number;
  label: string;
}

/** `perLabel` items for each of `labels` labels, interleaved. */
function labelled(labels: number, perLabel: number): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < labels * perLabel; i++) items.push({ id: i, label: `L${i % labels}` });
  return items;
}
const byLabel = (x: Item) => x.label;

/** Every item exactly once, and each client in input order. */
function expectPartition(clients: Item[][], items: Item[]): void {
  const ids = clients.flat().map((x) => x.id);
  expect(ids.length).toBe(items.length);
  expect(new Set(ids).size).toBe(items.length);
  for (const c of clients) expect(c.map((x) => x.id)).toEqual([...c.map((x) => x.id)].sort((a, b) => a - b));
}

describe('iidSplit', () => {
  it('gives near-equal sizes and covers every item exactly once', () => {
    const items = labelled(3, 34); // 102 items
    for (const n of [1, 5, 7, 102]) {
      const { clients } = iidSplit(items, n, 3);
      expect(clients).toHaveLength(n);
      const sizes = clients.map((c) => c.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expectPartition(clients, items);
    }
  });

  it('is random but deterministic for a seed', () => {
    const items = labelled(2, 50);
    const ids = (seed: number) => iidSplit(items, 4, seed).clients.map((c) => c.map((x) => x.id));
    expect(ids(1)).toEqual(ids(1));
    expect(ids(1)).not.toEqual(ids(2));
    expect(ids(1)[0]).not.toEqual(items.slice(0, 25).map((x) => x.id)); // not contiguous chunks
  });

  it('rejects more clients than items, and bad client counts', () => {
    expect(() => iidSplit(labelled(1, 3), 4, 0)).toThrow(SplitError);
    expect(() => iidSplit(labelled(1, 3), 4, 0)).toThrow(/3 records cannot fill 4 clients/);
    expect(() => iidSplit(labelled(1, 3), 0, 0)).toThrow(RangeError);
    expect(() => iidSplit(labelled(1, 3), 1.5, 0)).toThrow(RangeError);
  });
});

describe('metaSplit', () => {
  const items: Item[] = [
    ...Array.from({ length: 10 }, (_, i) => ({ id: i, label: 'b' })),
    ...Array.from({ length: 6 }, (_, i) => ({ id: 10 + i, label: 'a' })),
    ...Array.from({ length: 5 }, (_, i) => ({ id: 16 + i, label: 'd' })),
    ...Array.from({ length: 3 }, (_, i) => ({ id: 21 + i, label: 'c' })),
    ...Array.from({ length: 2 }, (_, i) => ({ id: 24 + i, label: 'e' })),
  ];

  it('makes one client per value, sorted by value', () => {
    const s = metaSplit(items, byLabel, { seed: 0 });
    expect(s.labels).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(s.groups).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
    expect(s.clients.map((c) => c.length)).toEqual([6, 10, 3, 5, 2]);
    s.clients.forEach((c, i) => {
      expect(new Set(c.map(byLabel))).toEqual(new Set([s.labels[i]]));
    });
    expectPartition(s.clients, items);
    expect(metaSplit(items, byLabel, { clients: 5, seed: 0 }).groups).toEqual(s.groups);
  });

  it('merges values down to N clients, balancing sizes (largest value into the smallest client)', () => {
    // sizes b10 a6 d5 c3 e2: b, a, d open the clients; c joins d (5), e joins a (6) -> 8 / 10 / 8
    const s = metaSplit(items, byLabel, { clients: 3, seed: 0 });
    expect(s.groups).toEqual([['a', 'e'], ['b'], ['c', 'd']]);
    expect(s.clients.map((c) => c.length)).toEqual([8, 10, 8]);
    expectPartition(s.clients, items);
    const two = metaSplit(items, byLabel, { clients: 2 });
    expect(two.clients.map((c) => c.length).sort()).toEqual([13, 13]);
    expect(metaSplit(items, byLabel, { clients: 1 }).clients[0]).toHaveLength(items.length);
  });

  it('balances many equal-sized values to within one value', () => {
    const many = labelled(12, 5);
    const sizes = metaSplit(many, byLabel, { clients: 4 }).clients.map((c) => c.length);
    expect(sizes).toEqual([15, 15, 15, 15]);
  });

  it('sorts numeric values numerically', () => {
    const nums = ['10', '2', '1', '2'].map((label, id) => ({ id, label }));
    expect(metaSplit(nums, byLabel).labels).toEqual(['1', '2', '10']);
    expect(['b', '10', 'a', '9', '-1'].sort(compareLabels)).toEqual(['-1', '9', '10', 'a', 'b']);
  });

  it('rejects more clients than values with a clear error', () => {
    expect(() => metaSplit(items, byLabel, { clients: 6 })).toThrow(SplitError);
    expect(() => metaSplit(items, byLabel, { clients: 6 })).toThrow(/6 clients but the field has only 5 distinct values .*"a", "b"/);
  });
});

describe('Gamma and Dirichlet sampling', () => {
  for (const shape of [0.3, 5]) {
    it(`Gamma(${shape}) has mean and variance ~ shape over 2e4 samples`, () => {
      const rng = new Rng(11);
      const n = 20000;
      let sum = 0;
      let sumSq = 0;
      let min = Infinity;
      for (let i = 0; i < n; i++) {
        const g = sampleGamma(rng, shape);
        min = Math.min(min, g);
        sum += g;
        sumSq += g * g;
      }
      const mean = sum / n;
      const variance = sumSq / n - mean * mean;
      expect(min).toBeGreaterThanOrEqual(0);
      // standard error of the mean is sqrt(shape / n): 0.004 for 0.3, 0.016 for 5
      expect(Math.abs(mean - shape)).toBeLessThan(5 * Math.sqrt(shape / n));
      expect(variance / shape).toBeGreaterThan(0.9);
      expect(variance / shape).toBeLessThan(1.1);
    });
  }

  it('Dirichlet draws sum to 1 even for tiny concentrations', () => {
    const rng = new Rng(5);
    for (const a of [1e-3, 0.01, 1, 50]) {
      const p = sampleDirichlet(rng, new Array(20).fill(a));
      expect(p.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    }
    expect(() => sampleGamma(rng, 0)).toThrow(RangeError);
  });
});

describe('dirichletSplit', () => {
  const items = labelled(4, 200); // 800 items

  it('is near-uniform per label for large alpha', () => {
    const s = dirichletSplit(items, byLabel, { clients: 5, alpha: 100, seed: 1 });
    expectPartition(s.clients, items);
    const h = histogram(s.clients, byLabel);
    expect(h.labels).toEqual(['L0', 'L1', 'L2', 'L3']);
    for (const c of h.clients) for (const l of h.labels) expect(Math.abs(c.counts[l]! - 40)).toBeLessThan(15);
    for (const p of s.proportions) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('is skewed for small alpha: most clients are dominated by one label', () => {
    /** Per non-empty client: the share of its largest label. */
    const topShares = (alpha: number, seed: number) => {
      const s = dirichletSplit(items, byLabel, { clients: 8, alpha, seed, allowEmpty: true });
      expectPartition(s.clients, items);
      return histogram(s.clients, byLabel)
        .clients.filter((c) => c.size > 0)
        .map((c) => Math.max(...Object.values(c.counts)) / c.size);
    };
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const skewed = seeds.map((seed) => topShares(0.1, seed));
    // 4 labels: a uniform client's top share is ~0.25-0.3
    expect(mean(skewed.map(mean))).toBeGreaterThan(0.7);
    expect(mean(skewed.map((sh) => sh.filter((x) => x >= 0.8).length / sh.length))).toBeGreaterThan(0.5);
    for (const seed of seeds) expect(Math.max(...topShares(100, seed))).toBeLessThan(0.4);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const ids = (seed: number) =>
      dirichletSplit(items, byLabel, { clients: 4, alpha: 0.5, seed, allowEmpty: true }).clients.map((c) => c.map((x) => x.id));
    expect(ids(7)).toEqual(ids(7));
    expect(ids(7)).not.toEqual(ids(8));
  });

  it('throws a SplitError naming the empty clients for a tiny alpha', () => {
    const small = labelled(3, 50);
    let err: unknown;
    try {
      dirichletSplit(small, byLabel, { clients: 20, alpha: 0.01, seed: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SplitError);
    expect(err).toBeInstanceOf(DataError); // printed without a stack by the CLI
    const e = err as SplitError;
    expect(e.emptyClients.length).toBeGreaterThanOrEqual(10); // 3 labels, each on a few clients
    expect(e.message).toContain(`left ${e.emptyClients.length} of 20 clients empty`);
    expect(e.message).toContain(`clients ${e.emptyClients.slice(0, 3).join(', ')}`);
    expect(e.message).toMatch(/alpha=0\.01/);
    expect(e.message).toMatch(/Raise alpha.*fewer clients.*allowEmpty/);
    // allowEmpty keeps the empty clients
    const s = dirichletSplit(small, byLabel, { clients: 20, alpha: 0.01, seed: 0, allowEmpty: true });
    expect(s.clients).toHaveLength(20);
    expect(s.clients.filter((c) => c.length === 0).length).toBe(e.emptyClients.length);
  });

  it('enforces minSize', () => {
    const s = dirichletSplit(items, byLabel, { clients: 4, alpha: 100, seed: 0, minSize: 150 });
    expect(Math.min(...s.clients.map((c) => c.length))).toBeGreaterThanOrEqual(150);
    expect(() => dirichletSplit(items, byLabel, { clients: 4, alpha: 100, seed: 0, minSize: 201 })).toThrow(
      /below the minimum of 201 records/,
    );
    expect(() => dirichletSplit(items, byLabel, { clients: 4, alpha: 0, seed: 0 })).toThrow(RangeError);
  });
});

describe('histogram', () => {
  it('counts sizes and labels and formats a table', () => {
    const h = histogram(
      [
        [
          { id: 0, label: 'x' },
          { id: 1, label: 'y' },
          { id: 2, label: 'x' },
        ],
        [],
      ],
      byLabel,
    );
    expect(h).toEqual({
      labels: ['x', 'y'],
      clients: [
        { size: 3, counts: { x: 2, y: 1 } },
        { size: 0, counts: {} },
      ],
    });
    expect(formatHistogram(h).split('\n')).toEqual([
      'client  size  x  y',
      '0          3  2  1',
      '1          0  0  0',
      'total      3  2  1',
    ]);
  });
});

describe('dataSplit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-split-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const recs = Array.from({ length: 30 }, (_, i) => ({
    instruction: `q${i}`,
    output: `a${i}`,
    category: ['open_qa', 'brainstorming', 'summarization'][i % 3],
  }));
  const lines = recs.map((r) => JSON.stringify(r));

  it('writes client files with the raw records and split.json, reporting bad lines', async () => {
    const input = join(dir, 'data.jsonl');
    // line 3 is not JSON, line 6 is blank, line 8 is not an object
    const text = [
      ...lines.slice(0, 2),
      '{"instruction": broken',
      ...lines.slice(2, 4),
      '',
      `  ${lines[4]}  `,
      '[1, 2]',
      ...lines.slice(5),
    ].join('\n');
    await writeFile(input, text);
    const out = join(dir, 'meta');
    const r = await dataSplit({ input, splitter: 'meta', seed: 0, out });
    expect(r.skipped).toEqual([`${input}:3: invalid JSON`, `${input}:8: record must be a JSON object, got array`]);
    expect((await readdir(out)).sort()).toEqual(['client_0.jsonl', 'client_1.jsonl', 'client_2.jsonl', 'split.json']);
    const written = await Promise.all(r.files.map((f) => readFile(f, 'utf8')));
    expect(written.flatMap((t) => t.trimEnd().split('\n')).sort()).toEqual([...lines].sort());
    expect(written[0]!.split('\n')[0]).toBe(lines[1]); // brainstorming first, in input order, unchanged
    const summary = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
    expect(summary).toMatchObject({
      splitter: 'meta',
      by: 'category',
      records: 30,
      skipped: 2,
      labels: ['brainstorming', 'open_qa', 'summarization'],
      params: { clients: 3, seed: 0 },
    });
    expect(summary.clients[1]).toEqual({ file: 'client_1.jsonl', size: 10, labels: { open_qa: 10 }, values: ['open_qa'] });
    expect(r.table).toContain('meta split');
    expect(r.table).toMatch(/total\s+30\s+10\s+10\s+10/);
  });

  it('splits dirichlet from a JSON array and iid without labels; replaces an earlier larger split', async () => {
    const input = join(dir, 'data.json');
    await writeFile(input, JSON.stringify(recs, null, 2));
    const out = join(dir, 'dir');
    const r = await dataSplit({ input, splitter: 'dirichlet', alpha: 50, clients: 4, seed: 3, out });
    expect(r.summary.params).toEqual({ clients: 4, seed: 3, alpha: 50, minSize: 1, allowEmpty: false });
    expect(r.summary.proportions).toHaveLength(3);
    expect(r.summary.clients.reduce((s, c) => s + c.size, 0)).toBe(30);
    const again = await dataSplit({ input, splitter: 'dirichlet', alpha: 50, clients: 4, seed: 3, out });
    expect(again.summary).toEqual(r.summary);

    const text = join(dir, 'text.jsonl');
    await writeFile(text, `${Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `t${i}` })).join('\n')}\n`);
    const iid = await dataSplit({ input: text, splitter: 'iid', clients: 3, seed: 0, out });
    expect(iid.summary.clients.map((c) => c.size)).toEqual([4, 3, 3]);
    expect(iid.summary.labels).toEqual([]);
    expect((await readdir(out)).sort()).toEqual(['client_0.jsonl', 'client_1.jsonl', 'client_2.jsonl', 'split.json']);
    expect(iid.table.split('\n').slice(1)).toEqual(['client  size', '0          4', '1          3', '2          3', 'total     10']);
  });

  it('reports records missing the field for meta and dirichlet (iid does not need it)', async () => {
    const input = join(dir, 'missing.jsonl');
    const withGaps = recs.map((r, i) =>
      i === 4 || i === 9 ? { instruction: r.instruction, output: r.output } : i === 11 ? { ...r, category: null } : r,
    );
    await writeFile(input, withGaps.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(dir, 'missing');
    for (const splitter of ['meta', 'dirichlet'] as const) {
      const opts = { input, splitter, clients: 3, seed: 0, out, ...(splitter === 'dirichlet' ? { alpha: 1 } : {}) };
      await expect(dataSplit(opts)).rejects.toThrow(DataError);
      await expect(dataSplit(opts)).rejects.toThrow(/3 of 30 records have no 'category' field \(missing, null or blank; lines 5, 10, 12\)/);
    }
    const iid = await dataSplit({ input, splitter: 'iid', clients: 3, seed: 0, out });
    expect(iid.summary.labels).toContain('(missing)');
    await expect(dataSplit({ input, splitter: 'meta', by: 'output', clients: 3, seed: 0, out })).resolves.toBeTruthy();
  });

  it('checks its options and the dirichlet empty-client error reaches the caller', async () => {
    const input = join(dir, 'opts.jsonl');
    await writeFile(input, lines.join('\n'));
    const out = join(dir, 'opts');
    await expect(dataSplit({ input, splitter: 'dirichlet', clients: 3, seed: 0, out })).rejects.toThrow(/--alpha: required/);
    await expect(dataSplit({ input, splitter: 'iid', seed: 0, out })).rejects.toThrow(/--clients: required/);
    await expect(dataSplit({ input, splitter: 'iid', alpha: 1, clients: 2, seed: 0, out })).rejects.toThrow(/--alpha: only used/);
    await expect(dataSplit({ input, splitter: 'meta', clients: 4, seed: 0, out })).rejects.toThrow(/only 3 distinct values/);
    await expect(dataSplit({ input, splitter: 'dirichlet', alpha: 0.01, clients: 12, seed: 0, out })).rejects.toThrow(SplitError);
    await expect(dataSplit({ input: join(dir, 'nope.jsonl'), splitter: 'iid', clients: 2, seed: 0, out })).rejects.toThrow(/cannot read/);
    // Only regular files are read (a directory or a FIFO is refused, never waited on).
    await expect(dataSplit({ input: dir, splitter: 'iid', clients: 2, seed: 0, out })).rejects.toThrow(/not a regular file/);
  });

  it('parses raw records with JSON-array element lines', () => {
    const { records, skipped } = parseRawRecords('[\n  {"a": 1},\n  "x",\n  {"b": "y\\n"}\n]', 'f.json');
    expect(records.map((r) => [r.line, r.text])).toEqual([
      [2, '{"a":1}'],
      [4, '{"b":"y\\n"}'],
    ]);
    expect(skipped).toEqual([{ line: 3, reason: 'record must be a JSON object, got string' }]);
    expect(() => parseRawRecords('\n\n', 'e.jsonl')).toThrow(/no valid records \(file is empty\)/);
  });
});
