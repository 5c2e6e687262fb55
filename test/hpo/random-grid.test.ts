import { describe, expect, it } from 'vitest';
import { parseSpace } from '../../src/hpo/space.js';
import { gridSearch, gridValues } from '../../src/hpo/strategies/grid.js';
import { randomSearch } from '../../src/hpo/strategies/random.js';
import { StudyDriver } from './study-driver.js';

describe('random search', () => {
  it('draws log dims uniformly in log space and int steps uniformly over their values, at full fidelity', () => {
    const space = parseSpace({
      'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true },
      'lora.r': { type: 'int', low: 2, high: 16, step: 2 },
    });
    const d = new StudyDriver(randomSearch, { space, seed: 3 });
    const got = d.ask(2000);
    expect(new Set(got.map((t) => t.fidelity))).toEqual(new Set([9]));
    const lr = got.map((t) => Number(t.config['train.lr']));
    const below = (x: number) => lr.filter((v) => v < x).length / lr.length;
    expect(below(1e-3)).toBeGreaterThan(0.46); // the log-space midpoint splits the draws in half
    expect(below(1e-3)).toBeLessThan(0.54);
    expect(below(1e-4 * 10 ** 0.5)).toBeGreaterThan(0.21); // a quarter of the log range
    expect(below(1e-4 * 10 ** 0.5)).toBeLessThan(0.29);
    const r = got.map((t) => t.config['lora.r']);
    const counts = [2, 4, 6, 8, 10, 12, 14, 16].map((v) => r.filter((x) => x === v).length);
    for (const c of counts) expect(c).toBeGreaterThan(2000 / 8 - 60); // the end values are no rarer than the rest
    expect(counts.reduce((a, b) => a + b)).toBe(2000);
  });

  it('draws a finite space without replacement, skips configs the study already has, and is done when exhausted', () => {
    const space = parseSpace({
      'lora.r': { type: 'int', low: 1, high: 3 },
      'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
    });
    const d = new StudyDriver(randomSearch, { space });
    d.trials.push({ id: 0, config: { 'lora.r': 2, 'lora.targets': 'all' }, fidelity: 9, status: 'failed', rounds: 1 }); // enqueued, failed
    const got = d.ask(10);
    expect(got).toHaveLength(5);
    const keys = got.map((t) => JSON.stringify(t.config));
    expect(new Set(keys).size).toBe(5);
    expect(keys).not.toContain(JSON.stringify({ 'lora.r': 2, 'lora.targets': 'all' }));
    expect(d.isDone()).toBe(true);
    expect(d.ask(1)).toEqual([]);
  });

  it('refuses options it does not have, by name', () => {
    expect(() => new StudyDriver(randomSearch, { options: { n: 3 } })).toThrow('strategy random: unknown option n (it takes no options)');
  });
});

describe('grid search', () => {
  const space = parseSpace({
    'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
    'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true },
  });

  it('visits every combination in order (last dim fastest), log dims evenly in log space', () => {
    const d = new StudyDriver(gridSearch, { space, options: { pointsPerDim: 3 } });
    const got = d.ask(100);
    expect(got.map((t) => [t.config['lora.targets'], Number(Number(t.config['train.lr']).toPrecision(12))])).toEqual([
      ['qv', 1e-4],
      ['qv', 1e-3],
      ['qv', 1e-2],
      ['all', 1e-4],
      ['all', 1e-3],
      ['all', 1e-2],
    ]);
    expect(got.every((t) => t.fidelity === 9)).toBe(true);
    expect(d.isDone()).toBe(true);
    expect(d.ask(1)).toEqual([]);
  });

  it('takes finite dims whole (steps, grid values) and a midpoint for one point per dim', () => {
    expect(gridValues({ type: 'int', low: 2, high: 8, step: 2 }, 2)).toEqual([2, 4, 6, 8]);
    expect(gridValues({ type: 'float', low: 0, high: 1, grid: [0.1, 0.5] }, 9)).toEqual([0.1, 0.5]);
    expect(gridValues({ type: 'float', low: 0, high: 1 }, 1)).toEqual([0.5]);
    expect(gridValues({ type: 'float', low: 0, high: 1 }, 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('never re-runs a config the study already has, whatever its status, and resumes at its cursor', () => {
    const d = new StudyDriver(gridSearch, { space, options: { pointsPerDim: 3 } });
    const [first] = d.ask(1);
    d.fail(first!.id);
    d.trials.push({ id: 1, config: { 'lora.targets': 'qv', 'train.lr': 1e-2 }, fidelity: 9, status: 'complete', values: [1], rounds: 9 });
    const state = JSON.parse(JSON.stringify(d.strategy.state()));
    const fresh = gridSearch(d.ctx);
    fresh.restore(state);
    const next = fresh.ask(d.view(), 10).map((s) => [s.config['lora.targets'], s.config['train.lr']]);
    expect(next).toHaveLength(4); // 6 points, one failed, one enqueued
    expect(next[0]![0]).toBe('qv');
    expect(next.slice(1).every(([t]) => t === 'all')).toBe(true);
  });

  it('shuffles by the seed: the same points in another, reproducible order', () => {
    const run = (seed: number) =>
      new StudyDriver(gridSearch, { space, seed, options: { pointsPerDim: 4, shuffle: true } })
        .ask(100)
        .map((t) => JSON.stringify(t.config));
    const plain = new StudyDriver(gridSearch, { space, options: { pointsPerDim: 4 } }).ask(100).map((t) => JSON.stringify(t.config));
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(plain);
    expect(run(1)).not.toEqual(run(2));
    expect([...run(1)].sort()).toEqual([...plain].sort());
  });

  it('refuses a grid too large to finish, naming the option', () => {
    const big = parseSpace(Object.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, { type: 'float', low: 0, high: 1 }])));
    expect(() => new StudyDriver(gridSearch, { space: big, options: { pointsPerDim: 40 } })).toThrow(
      /strategy grid: the grid has 2560000 points \(more than 1000000\); lower option pointsPerDim/,
    );
    expect(() => new StudyDriver(gridSearch, { options: { pointsPerDim: 0 } })).toThrow(/strategy grid: option pointsPerDim: /);
  });
});
