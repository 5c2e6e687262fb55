// FedAvg against a hand-computed weighted average, update validation, FedAvgM's server momentum over
// three rounds against a hand computation (and resumed from its JSON state), FedProx's round plan,
// and the registry that builds them from config options.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { AggregatorError, type ClientUpdate, InvalidUpdateError, validateUpdates, weightedMetrics } from '../../src/fl/aggregator.js';
import { AGGREGATORS, createAggregator, resolveAggregator } from '../../src/fl/aggregators.js';
import { FedAvg, fedAvg } from '../../src/fl/fedavg.js';
import { FedAvgM } from '../../src/fl/fedavgm.js';
import { FedProx } from '../../src/fl/fedprox.js';
import type { NamedTensors } from '../../src/fl/tensors.js';
import { tensorsOf } from './fl-fixtures.js';

const update = (clientId: string, samples: number, a: number[], b: number[], metrics: Record<string, number> = {}): ClientUpdate => ({
  clientId,
  samples,
  tensors: tensorsOf({ a: { shape: [2], data: a }, b: { shape: [1, 1], data: b } }),
  metrics,
});
const global0 = tensorsOf({ a: { shape: [2], data: [0, 0] }, b: { shape: [1, 1], data: [0] } });
const values = (t: NamedTensors, name: string) => [...t.get(name)!.data];

describe('FedAvg', () => {
  it('averages weighted by sample counts (hand-computed)', () => {
    // Weights 1/8, 2/8, 5/8:
    //   a[0] = (1*8 + 2*4 + 5*0) / 8 = 2;   a[1] = (1*0 + 2*-4 + 5*1.6) / 8 = 0
    //   b    = (1*1 + 2*2 + 5*3) / 8 = 20/8 = 2.5
    const avg = fedAvg(global0, [update('c1', 1, [8, 0], [1]), update('c2', 2, [4, -4], [2]), update('c3', 5, [0, 1.6], [3])]);
    expect(values(avg, 'a')[0]).toBe(2);
    expect(values(avg, 'a')[1]).toBeCloseTo(0, 6);
    expect(values(avg, 'b')).toEqual([2.5]);
    expect(avg.get('b')!.shape).toEqual([1, 1]);
  });

  it('equal sample counts give the plain mean; one client gives its own weights (a copy)', () => {
    const u = update('c1', 3, [1, 2], [3]);
    const one = fedAvg(global0, [u]);
    expect(values(one, 'a')).toEqual([1, 2]);
    expect(one.get('a')!.data).not.toBe(u.tensors.get('a')!.data);
    expect(values(fedAvg(global0, [update('x', 4, [1, 3], [0]), update('y', 4, [3, 5], [1])]), 'a')).toEqual([2, 4]);
  });

  it('rejects, naming the client: bad sample counts, layouts, non-finite values and metrics, duplicates, no updates', () => {
    const bad: [ClientUpdate[], RegExp][] = [
      [[update('c1', 0, [1, 2], [3])], /client 'c1'.*sample count must be a positive integer, got 0/],
      [[update('c1', 1.5, [1, 2], [3])], /positive integer, got 1.5/],
      [[update('c1', Number.NaN, [1, 2], [3])], /got NaN/],
      [[update('c2', 1, [1, Number.NaN], [3])], /client 'c2'.*tensor 'a' holds NaN at index 1/],
      [[update('c2', 1, [1, 2], [Number.POSITIVE_INFINITY])], /tensor 'b' holds Infinity/],
      [[{ ...update('c3', 1, [1, 2], [3]), tensors: tensorsOf({ a: { shape: [2], data: [1, 2] } }) }], /client 'c3'.*missing tensor 'b'/],
      [
        [{ ...update('c3', 1, [1, 2], [3]), tensors: tensorsOf({ a: { shape: [1, 2], data: [1, 2] }, b: { shape: [1, 1], data: [0] } }) }],
        /'a' has shape \[1, 2\], expected \[2\]/,
      ],
      [[update('c4', 1, [1, 2], [3], { loss: Number.NaN })], /client 'c4'.*metric 'loss' is NaN/],
      [[update('c5', 1, [1, 2], [3]), update('c5', 2, [1, 2], [3])], /client 'c5' sent two updates/],
      [[], /no updates/],
    ];
    for (const [updates, message] of bad) {
      expect(() => validateUpdates(global0, updates)).toThrow(InvalidUpdateError);
      expect(() => new FedAvg().aggregate(global0, updates, 1)).toThrow(message);
    }
  });

  it('samples clients at its rate and keeps no state', () => {
    const agg = new FedAvg({ sampleRate: 0.5 });
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const plan = agg.configureRound(1, ids, new Rng(1).fork(1));
    expect(plan.clients).toHaveLength(3);
    expect(plan.trainConfig).toBeUndefined();
    expect(new FedAvg().configureRound(1, ids, new Rng(1)).clients).toEqual(ids);
    expect(agg.state()).toEqual({ aggregator: 'fedavg' });
    expect(() => agg.restore({ aggregator: 'fedavgm', velocity: null })).toThrow(AggregatorError);
    expect(() => new FedAvg({ sampleRate: 0 })).toThrow(/sample rate must be in \(0, 1\]/);
  });

  it('weighted metrics: sample-weighted mean per key', () => {
    // loss = (1*1 + 3*3) / 4 = 2.5; acc only reported by c2.
    expect(weightedMetrics([update('c1', 1, [0, 0], [0], { loss: 1 }), update('c2', 3, [0, 0], [0], { loss: 3, acc: 0.5 })])).toEqual({
      loss: 2.5,
      acc: 0.5,
    });
  });
});

describe('FedAvgM', () => {
  // One value per tensor is enough to follow by hand; a[1] mirrors a[0] with the opposite sign.
  // serverLr 0.5, momentum 0.5, w0 = 1:
  //   round 1: avg = (1*0 + 3*1)/4 = 0.75; delta = 1 - 0.75 = 0.25;       v = 0.25;              w = 1 - 0.5*0.25 = 0.875
  //   round 2: avg = (2*0.5 + 2*0.75)/4 = 0.625; delta = 0.25;             v = 0.5*0.25 + 0.25 = 0.375; w = 0.875 - 0.1875 = 0.6875
  //   round 3: avg = 0.6875 (one client); delta = 0;                       v = 0.1875;            w = 0.6875 - 0.09375 = 0.59375
  const start = tensorsOf({ a: { shape: [2], data: [1, -1] }, b: { shape: [1, 1], data: [1] } });
  const u = (id: string, n: number, x: number) => update(id, n, [x, -x], [x]);
  const rounds: ClientUpdate[][] = [[u('c1', 1, 0), u('c2', 3, 1)], [u('c1', 2, 0.5), u('c2', 2, 0.75)], [u('c3', 1, 0.6875)]];
  const expected = [0.875, 0.6875, 0.59375];

  it('follows w <- w - lr * (beta * v + (w - avg)) over three rounds', () => {
    const agg = new FedAvgM({ serverLr: 0.5, momentum: 0.5 });
    let w = start;
    rounds.forEach((updates, r) => {
      w = agg.aggregate(w, updates, r + 1);
      expect(values(w, 'a')).toEqual([expected[r], -expected[r]!]);
      expect(values(w, 'b')).toEqual([expected[r]]);
    });
  });

  it('resumes from its JSON state exactly where it stopped', () => {
    const agg = new FedAvgM({ serverLr: 0.5, momentum: 0.5 });
    let w = agg.aggregate(start, rounds[0]!, 1);
    w = agg.aggregate(w, rounds[1]!, 2);
    const saved = JSON.parse(JSON.stringify(agg.state()));
    const resumed = new FedAvgM({ serverLr: 0.5, momentum: 0.5 });
    resumed.restore(saved);
    expect(values(resumed.aggregate(w, rounds[2]!, 3), 'a')).toEqual([0.59375, -0.59375]);
    // Without the momentum buffer round 3 would give w - 0.5 * 0 = 0.6875: the state matters.
    expect(values(new FedAvgM({ serverLr: 0.5, momentum: 0.5 }).aggregate(w, rounds[2]!, 3), 'a')).toEqual([0.6875, -0.6875]);
  });

  it('with serverLr 1 and momentum 0 it is FedAvg', () => {
    const updates = rounds[0]!;
    expect(values(new FedAvgM({ momentum: 0 }).aggregate(start, updates, 1), 'a')).toEqual(values(fedAvg(start, updates), 'a'));
  });

  it('refuses bad options, foreign or corrupt states, and a momentum buffer of another layout', () => {
    expect(() => new FedAvgM({ momentum: 1 })).toThrow(/momentum must be in \[0, 1\)/);
    expect(() => new FedAvgM({ serverLr: 0 })).toThrow(/server learning rate/);
    const agg = new FedAvgM();
    expect(() => agg.restore({ aggregator: 'fedavg' })).toThrow(/not a fedavgm state/);
    expect(() => agg.restore({ aggregator: 'fedavgm', velocity: Buffer.from('not a tensor message at all').toString('base64') })).toThrow(
      /cannot restore the momentum buffer: codec: .*bad magic/,
    );
    agg.aggregate(start, rounds[0]!, 1);
    const other = tensorsOf({ c: { shape: [1], data: [0] } });
    expect(() => agg.aggregate(other, [{ clientId: 'x', samples: 1, tensors: other, metrics: {} }], 2)).toThrow(
      /momentum buffer: missing tensor 'c'/,
    );
  });
});

describe('FedProx (server side)', () => {
  it('aggregates as FedAvg and sends mu to the chosen clients', () => {
    const agg = new FedProx({ mu: 0.01, sampleRate: 0.5 });
    const plan = agg.configureRound(1, ['a', 'b', 'c', 'd'], new Rng(3));
    expect(plan.clients).toHaveLength(2);
    expect(plan.trainConfig).toEqual({ proximal_mu: 0.01 });
    const updates = [update('c1', 1, [8, 0], [1]), update('c2', 3, [0, 4], [2])];
    expect(agg.aggregate(global0, updates, 1)).toEqual(fedAvg(global0, updates));
    expect(agg.name).toBe('fedprox');
    expect(() => new FedProx({ mu: -1 })).toThrow(/fedprox: mu must be finite and >= 0/);
  });
});

describe('registry', () => {
  it('builds each built-in from snake_case options with defaults', () => {
    expect(Object.keys(AGGREGATORS)).toEqual(['fedavg', 'fedavgm', 'fedprox', 'pfedme']);
    const m = createAggregator('fedavgm', { server_lr: 0.5 }) as FedAvgM;
    expect(m).toBeInstanceOf(FedAvgM);
    expect([m.serverLr, m.momentum, m.sampleRate]).toEqual([0.5, 0.9, 1]);
    const p = createAggregator('fedprox', { mu: 0.1, sample_rate: 0.25 }) as FedProx;
    expect([p.name, p.mu, p.sampleRate]).toEqual(['fedprox', 0.1, 0.25]);
    expect(createAggregator('fedavg').name).toBe('fedavg');
  });

  it('names every bad option, and unknown aggregators', () => {
    expect(() => createAggregator('fedprox', {})).toThrow(/aggregator 'fedprox': mu: /);
    expect(() => createAggregator('fedavgm', { momentum: 1.5, lr: 1 })).toThrow(/lr: unknown option.*|momentum: .*lr: unknown option/);
    expect(() => createAggregator('fedavg', { sample_rate: 0 })).toThrow(/sample_rate: /);
    expect(() => createAggregator('fedavg', 'fast')).toThrow(/aggregator 'fedavg': \(options\)/);
    expect(() => createAggregator('scaffold')).toThrow(/unknown aggregator 'scaffold' \(built in: fedavg, fedavgm, fedprox/);
  });

  it('resolves names to built-ins and paths to modules', async () => {
    expect((await resolveAggregator('fedavg')).name).toBe('fedavg');
    await expect(resolveAggregator('./no-such-aggregator.mjs')).rejects.toThrow(
      /\.\/no-such-aggregator\.mjs: cannot load the aggregator module/,
    );
  });
});
