// The BO strategy (src/hpo/strategies/bo.ts) beyond the conformance suite: it finds better configs
// than random search, keeps to the space, spreads a batch, handles two objectives and resumes exactly.
import { describe, expect, it } from 'vitest';
import { checkConfig, configKey, parseSpace } from '../../src/hpo/space.js';
import { bayesianOptimization } from '../../src/hpo/strategies/bo.js';
import { randomSearch } from '../../src/hpo/strategies/random.js';
import type { Objective } from '../../src/hpo/strategy.js';
import { runTabular } from '../../src/hpo/tabular-run.js';
import { braninGrid } from '../../src/hpo/testfns.js';
import { LOSS, StudyDriver } from './study-driver.js';

const mixedSpace = parseSpace({
  'train.lr': { type: 'float', low: 1e-5, high: 1e-1, log: true },
  'lora.r': { type: 'int', low: 2, high: 64, step: 2 },
  'train.local_steps': { type: 'int', low: 1, high: 512, log: true },
  'lora.alpha': { type: 'float', low: 1, high: 64, grid: [8, 16, 32] },
  'lora.targets': { type: 'categorical', choices: ['qv', 'qkvo', 'all'] },
});

/** A smooth objective over the mixed space with its best at lr 1e-3, r 16, 32 steps, alpha 16, 'qkvo'. */
function mixedObjective(c: Record<string, unknown>): number {
  const lr = Math.log10(c['train.lr'] as number) + 3;
  const r = ((c['lora.r'] as number) - 16) / 32;
  const steps = Math.log2(c['train.local_steps'] as number) - 5;
  const alpha = Math.log2(c['lora.alpha'] as number) - 4;
  return lr * lr + r * r + 0.1 * steps * steps + 0.2 * alpha * alpha + (c['lora.targets'] === 'qkvo' ? 0 : 0.5);
}

describe('BO', () => {
  it('beats random search on the Branin grid: 8 seeds, 20 full-fidelity trials each (5 % of the grid budget)', () => {
    const problem = braninGrid();
    const budgetRounds = 20 * problem.fidelity.max;
    const regrets = (factory: typeof randomSearch) =>
      Array.from({ length: 8 }, (_, seed) => runTabular(factory, problem, { budgetRounds, seed }).regret);
    const bo = regrets(bayesianOptimization);
    const random = regrets(randomSearch);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Measured: BO 0.0005, random 0.0143 (BO at the grid's best on 7 of 8 seeds). Asked: a 5x margin.
    expect(mean(bo)).toBeLessThan(mean(random) / 5);
    expect(bo.filter((r, i) => r <= random[i]!).length).toBeGreaterThanOrEqual(7);
  });

  it('keeps to the space: log bounds, int steps, grid values, categories; never a config twice', () => {
    const d = new StudyDriver(bayesianOptimization, { space: mixedSpace, seed: 3, options: { startupTrials: 6 } });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      for (const t of d.ask(2)) {
        checkConfig(mixedSpace, t.config);
        expect((t.config['lora.r'] as number) % 2).toBe(0);
        expect(seen.has(configKey(mixedSpace, t.config))).toBe(false);
        seen.add(configKey(mixedSpace, t.config));
        d.complete(t.id, mixedObjective(t.config));
      }
    }
    const model = d.trials.filter((t) => (t.meta as { by: string }).by === 'model');
    expect(model.length).toBe(54);
    // And it learns: the model's picks end up far better than the random start-up ones.
    const best = Math.min(...model.map((t) => t.values![0]!));
    const startup = d.trials.filter((t) => (t.meta as { by: string }).by === 'random').map((t) => t.values![0]!);
    expect(best).toBeLessThan(Math.min(...startup));
    expect(best).toBeLessThan(0.15);
  });

  it('spreads a batch with the constant liar: distinct points, away from running trials', () => {
    const space = parseSpace({ x: { type: 'float', low: 0, high: 1 }, y: { type: 'float', low: 0, high: 1 } });
    const f = (c: Record<string, unknown>) => ((c.x as number) - 0.3) ** 2 + ((c.y as number) - 0.6) ** 2;
    for (const liar of ['min', 'mean', 'max'] as const) {
      const d = new StudyDriver(bayesianOptimization, { space, seed: 1, options: { liar } });
      for (const t of d.ask(10)) d.complete(t.id, f(t.config));
      const running = d.ask(2);
      const batch = d.ask(6);
      expect(batch.length).toBe(6);
      const points = [...running, ...batch].map((t) => [t.config.x as number, t.config.y as number]);
      for (let i = 0; i < points.length; i++)
        for (let j = 0; j < i; j++)
          expect(Math.hypot(points[i]![0]! - points[j]![0]!, points[i]![1]! - points[j]![1]!)).toBeGreaterThan(1e-3);
    }
  });

  it('handles two objectives with ParEGO: model picks spread along the Pareto front', () => {
    const space = parseSpace({ x: { type: 'float', low: 0, high: 1 }, y: { type: 'float', low: 0, high: 1 } });
    const objectives: Objective[] = [LOSS, { name: 'score', direction: 'maximize' }];
    // Minimise x + y^2, maximise sqrt(x) - y^2: the front is y = 0, every x in [0, 1].
    const values = (c: Record<string, unknown>) => {
      const [x, y] = [c.x as number, c.y as number];
      return [x + y * y, Math.sqrt(x) - y * y];
    };
    const d = new StudyDriver(bayesianOptimization, { space, objectives, seed: 2 });
    for (let i = 0; i < 40; i++) for (const t of d.ask(1)) d.complete(t.id, values(t.config));
    expect(bayesianOptimization(d.ctx).multiObjective).toBe(true);
    const picks = d.trials.slice(20);
    const ys = picks.map((t) => t.config.y as number).sort((a, b) => a - b);
    const xs = picks.map((t) => t.config.x as number);
    expect(ys[Math.floor(ys.length / 2)]!).toBeLessThan(0.1); // most picks on or near the front
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(0.5); // and spread along it
  });

  it('copes with failed, diverged and pruned trials', () => {
    const space = parseSpace({ x: { type: 'float', low: 0, high: 1 } });
    const d = new StudyDriver(bayesianOptimization, { space, seed: 4, options: { startupTrials: 4 } });
    for (let i = 0; i < 16; i++) {
      const [t] = d.ask(1);
      const x = t!.config.x as number;
      if (x > 0.8) d.fail(t!.id);
      else if (x > 0.6) d.fail(t!.id, 'diverged');
      else if (x < 0.1) d.prune(t!.id, 3, 5);
      else d.complete(t!.id, (x - 0.4) ** 2);
    }
    const model = d.trials.slice(8).map((t) => t.config.x as number);
    expect(model.filter((x) => x > 0.2 && x < 0.6).length).toBeGreaterThanOrEqual(5);
  });

  it('is deterministic for a seed, and a restored state suggests exactly what the original would', () => {
    const run = (seed: number, swap: boolean) => {
      const d = new StudyDriver(bayesianOptimization, { space: mixedSpace, seed });
      const out: string[] = [];
      for (let i = 0; i < 14; i++) {
        if (swap) {
          const state = JSON.parse(JSON.stringify(d.strategy.state()));
          const fresh = bayesianOptimization(d.ctx);
          fresh.restore(state);
          (d as { strategy: unknown }).strategy = fresh;
        }
        for (const t of d.ask(i % 3 === 0 ? 2 : 1)) {
          out.push(configKey(mixedSpace, t.config));
          d.complete(t.id, mixedObjective(t.config));
        }
      }
      return out;
    };
    const a = run(5, false);
    expect(run(5, false)).toEqual(a);
    expect(run(5, true)).toEqual(a);
    expect(run(6, false)).not.toEqual(a);
  });

  it('refuses unknown or malformed options by name', () => {
    const ctx = { space: mixedSpace, objectives: [LOSS], fidelity: { min: 1, max: 9 }, seed: 0 };
    expect(() => bayesianOptimization({ ...ctx, options: { liar: 'median' } })).toThrow(/^strategy bo: option liar: /);
    expect(() => bayesianOptimization({ ...ctx, options: { startup: 3 } })).toThrow(/unknown option startup/);
  });
});
