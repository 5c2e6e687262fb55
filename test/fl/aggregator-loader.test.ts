// A user's aggregator from a module path: real .mjs files in a temp directory, written as a plug-in
// author would (plain JS, no imports from fedhpo). Good modules (class, factory, object) load and
// aggregate; bad ones fail with one AggregatorError naming the file and what is wrong.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { AggregatorError, type ClientUpdate } from '../../src/fl/aggregator.js';
import { loadAggregator } from '../../src/fl/aggregator-loader.js';
import { resolveAggregator } from '../../src/fl/aggregators.js';
import { tensorsOf } from './fl-fixtures.js';

// Coordinate-wise median: a robust aggregator a user might bring. Takes { take } to cap clients per round.
const MEDIAN = `
export default class CoordinateMedian {
  name = 'median';
  constructor(options) { this.take = options.take ?? Infinity; this.rounds = 0; }
  configureRound(round, clientIds, rng) {
    const ids = [...clientIds];
    rng.shuffle(ids);
    return { clients: ids.slice(0, Math.min(this.take, ids.length)), trainConfig: { round } };
  }
  aggregate(global, updates) {
    this.rounds++;
    const out = new Map();
    for (const [name, t] of global) {
      const data = new Float32Array(t.data.length);
      for (let i = 0; i < data.length; i++) {
        const xs = updates.map((u) => u.tensors.get(name).data[i]).sort((a, b) => a - b);
        const m = xs.length >> 1;
        data[i] = xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
      }
      out.set(name, { shape: [...t.shape], data });
    }
    return out;
  }
  state() { return { rounds: this.rounds }; }
  restore(s) { this.rounds = s.rounds; }
}
`;

const updates: ClientUpdate[] = [
  [1, 10],
  [2, -5],
  [100, 0],
].map(([x, y], i) => ({ clientId: `c${i}`, samples: 1 + i, tensors: tensorsOf({ w: { shape: [2], data: [x!, y!] } }), metrics: {} }));
const global0 = tensorsOf({ w: { shape: [2], data: [0, 0] } });

let dir: string;
const write = async (name: string, text: string) => {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-agg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: unknown): Promise<AggregatorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AggregatorError);
    return e as AggregatorError;
  }
  throw new Error('expected an AggregatorError');
}

describe('loadAggregator: good modules', () => {
  it('a class default export is constructed with the options and used as is', async () => {
    const file = await write('median.mjs', MEDIAN);
    const agg = await loadAggregator(file, { take: 2 });
    expect(agg.name).toBe('median');
    const plan = agg.configureRound(4, ['a', 'b', 'c'], new Rng(1));
    expect(plan.clients).toHaveLength(2);
    expect(plan.trainConfig).toEqual({ round: 4 });
    // Median of [1, 2, 100] = 2 and of [10, -5, 0] = 0 (FedAvg would give (1 + 4 + 300)/6 and ...).
    const next = await agg.aggregate(global0, updates, 1);
    expect([...next.get('w')!.data]).toEqual([2, 0]);
    expect(agg.state()).toEqual({ rounds: 1 });
    agg.restore({ rounds: 7 });
    expect(agg.state()).toEqual({ rounds: 7 });
  });

  it('a path relative to the working directory, through resolveAggregator', async () => {
    const file = await write('median2.mjs', MEDIAN);
    const rel = relative(process.cwd(), file);
    expect((await resolveAggregator(rel.startsWith('.') ? rel : `./${rel}`)).name).toBe('median');
  });

  it('a factory function (async allowed) and a plain object', async () => {
    const factory = await write(
      'factory.mjs',
      `export default async (options) => ({
        name: 'first-' + options.tag,
        configureRound: (round, ids) => ({ clients: [ids[0]] }),
        aggregate: (global, updates) => updates[0].tensors,
        state: () => null,
        restore: () => {},
      });`,
    );
    const agg = await loadAggregator(factory, { tag: 'x' });
    expect(agg.name).toBe('first-x');
    expect(agg.configureRound(1, ['p', 'q'], new Rng(0)).clients).toEqual(['p']);
    expect([...(await agg.aggregate(global0, updates, 1)).get('w')!.data]).toEqual([1, 10]);
    const object = await write(
      'object.mjs',
      `export default { name: 'obj', configureRound: (r, ids) => ({ clients: [...ids] }), aggregate: (g) => g, state: () => ({}), restore() {} };`,
    );
    expect((await loadAggregator(object)).name).toBe('obj');
    expect((await failure(loadAggregator(object, { a: 1 }))).message).toMatch(
      /object.mjs: default export: is an object, so it cannot take the options/,
    );
  });
});

describe('loadAggregator: bad modules, each named', () => {
  it('missing file, syntax error, no default export, constructor that throws', async () => {
    expect((await failure(loadAggregator(join(dir, 'nope.mjs')))).message).toMatch(/nope\.mjs: cannot load the aggregator module/);
    const syntax = await write('syntax.mjs', 'export default class {');
    expect((await failure(loadAggregator(syntax))).message).toMatch(/syntax\.mjs: cannot load the aggregator module/);
    const named = await write('named.mjs', 'export class Agg {}');
    expect((await failure(loadAggregator(named))).message).toMatch(/named\.mjs: no default export/);
    const throws = await write('throws.mjs', "export default class { constructor() { throw new Error('needs a GPU'); } }");
    expect((await failure(loadAggregator(throws))).message).toMatch(/throws\.mjs: building the aggregator failed: needs a GPU/);
  });

  it('an export that does not implement the interface lists what is missing', async () => {
    const partial = await write('partial.mjs', 'export default class { name = "p"; aggregate() {} }');
    expect((await failure(loadAggregator(partial))).message).toMatch(
      /partial\.mjs: default export: does not implement Aggregator: missing configureRound\(\), state\(\), restore\(\)/,
    );
    const noName = await write('noname.mjs', 'export default { configureRound() {}, aggregate() {}, state() {}, restore() {} };');
    expect((await failure(loadAggregator(noName))).message).toMatch(/missing name \(a non-empty string\)/);
    const num = await write('number.mjs', 'export default () => 42;');
    expect((await failure(loadAggregator(num))).message).toMatch(/number\.mjs: default export: expected an Aggregator object, got number/);
  });

  it('a plug-in that breaks the contract at run time is caught and named', async () => {
    const base = `name: 'bad', state: () => ({}), restore() {}, configureRound: (r, ids) => ({ clients: [...ids] }), aggregate: (g) => g`;
    const variant = async (file: string, override: string) => loadAggregator(await write(file, `export default { ${base}, ${override} };`));
    const stranger = await variant('stranger.mjs', `configureRound: () => ({ clients: ['mallory'] })`);
    expect(() => stranger.configureRound(1, ['a'], new Rng(0))).toThrow(
      /stranger\.mjs: aggregator 'bad' configureRound\(\) chose 'mallory', which was not offered/,
    );
    const empty = await variant('empty.mjs', 'configureRound: () => ({ clients: [] })');
    expect(() => empty.configureRound(1, ['a'], new Rng(0))).toThrow(/at least one id/);
    const nan = await variant('nan.mjs', `aggregate: (g) => new Map([['w', { shape: [2], data: Float32Array.of(NaN, 0) }]])`);
    expect((await failure(nan.aggregate(global0, updates, 1))).message).toMatch(
      /nan\.mjs: aggregator 'bad' returned a bad adapter: .*'w' holds NaN/,
    );
    const shape = await variant('shape.mjs', `aggregate: (g) => new Map([['w', { shape: [1, 2], data: Float32Array.of(0, 0) }]])`);
    expect((await failure(shape.aggregate(global0, updates, 1))).message).toMatch(/'w' has shape \[1, 2\], expected \[2\]/);
    const notMap = await variant('notmap.mjs', 'aggregate: () => ({})');
    expect((await failure(notMap.aggregate(global0, updates, 1))).message).toMatch(/must return named tensors/);
    const crash = await variant('crash.mjs', `aggregate: () => { throw new TypeError('x is undefined'); }`);
    expect((await failure(crash.aggregate(global0, updates, 1))).message).toMatch(
      /crash\.mjs: aggregator 'bad' aggregate\(\) failed: x is undefined/,
    );
    const cyclic = await variant('cyclic.mjs', 'state: () => { const o = {}; o.o = o; return o; }');
    expect(() => cyclic.state()).toThrow(
      /cyclic\.mjs: aggregator 'bad' state\(\) returned something that is not JSON: Converting circular structure to JSON$/,
    );
  });
});
