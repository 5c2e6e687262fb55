// Loading strategies and pruners by name or module path, with errors that name the file, and the
// worked example in examples/ run through the conformance suite by its module path.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/engine/errors.js';
import { checkStrategyConformance, formatConformanceReport } from '../../src/hpo/conformance.js';
import { loadPruner } from '../../src/hpo/pruners/index.js';
import { parseSpace } from '../../src/hpo/space.js';
import { loadStrategy, resolveStrategy, STRATEGIES } from '../../src/hpo/strategies/index.js';
import type { StrategyContext } from '../../src/hpo/strategy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CTX: StrategyContext = {
  space: parseSpace({ 'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true } }),
  objectives: [{ name: 'val_loss', direction: 'minimize' }],
  fidelity: { min: 1, max: 9 },
  seed: 0,
  options: {},
};
const TWO_OBJECTIVES: StrategyContext = { ...CTX, objectives: [...CTX.objectives, { name: 'score', direction: 'maximize' }] };

let dir: string;
const MODULES: Record<string, string> = {
  'factory.mjs': `export default (ctx) => ({ name: 'mine', multiObjective: false, seed: ctx.seed,
    ask: () => [], tell() {}, isDone: () => true, state: () => null, restore() {} });`,
  'no-default.js': 'export const strategy = 1;',
  'number.js': 'export default 42;',
  'missing-ask.js': `export default class { name = 'half'; multiObjective = true; tell() {} isDone() { return true; } state() { return null; } restore() {} }`,
  'broken.js': 'export default (;',
  'pruner.js': `export default class { constructor(ctx) { this.name = 'never'; this.options = ctx.options; } shouldPrune() { return false; } }`,
  'bad-pruner.js': `export default () => ({ name: 'bad' });`,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-plugins-'));
  for (const [name, text] of Object.entries(MODULES)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('loadStrategy', () => {
  it('builds every built-in by name, each with a one-line description, and validates options by name', async () => {
    for (const [name, entry] of Object.entries(STRATEGIES)) {
      expect((await loadStrategy(name, CTX)).name).toBe(name);
      expect(entry.description).not.toMatch(/\n/);
    }
    await expect(loadStrategy('sha', { ...CTX, options: { eta: 1 } })).rejects.toThrow(/^strategy sha: option eta: /);
    await expect(loadStrategy('hyperband', { ...CTX, options: { etta: 3 } })).rejects.toThrow(
      'strategy hyperband: unknown option etta (known: eta, repeat)',
    );
  });

  it('refuses an unknown name, listing the built-ins, and never takes an inherited property for one', async () => {
    await expect(loadStrategy('tpe', CTX)).rejects.toThrow(
      "unknown strategy 'tpe' (built in: random, grid, sha, hyperband, asha, bo, fts, flora; or a module path",
    );
    await expect(loadStrategy('toString', CTX)).rejects.toThrow(/unknown strategy 'toString'/);
  });

  it('loads a module path against the working directory: a factory or a class', async () => {
    const s = await loadStrategy('./factory.mjs', { ...CTX, seed: 7 }, dir);
    expect([s.name, (s as unknown as { seed: number }).seed]).toEqual(['mine', 7]);
    expect((await loadStrategy(join(ROOT, 'examples/my-strategy.js'), CTX, '/')).name).toBe('local-search');
  });

  it('names the file and the problem when a module is not a strategy', async () => {
    const fails = async (spec: string, message: RegExp) => {
      const err = await loadStrategy(spec, CTX, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
    };
    await fails('./nowhere.js', new RegExp(`^strategy module ./nowhere.js: no such file \\(looked for ${join(dir, 'nowhere.js')}\\)`));
    await fails('./no-default.js', /^strategy module .\/no-default.js: no default export; export default a factory/);
    await fails('./number.js', /^strategy module .\/number.js: the default export is a number, not a factory/);
    await fails('./missing-ask.js', /^strategy module .\/missing-ask.js: the strategy has no function 'ask' \(found undefined\)/);
    await fails('./broken.js', /^strategy module .\/broken.js: cannot load it: /);
  });

  it('refuses a single-objective strategy for a study with several objectives, saying why', async () => {
    await expect(loadStrategy('./factory.mjs', TWO_OBJECTIVES, dir)).rejects.toThrow(
      'strategy module ./factory.mjs: strategy mine optimizes one objective, but the study has 2 (val_loss, score); choose a strategy that declares multiObjective',
    );
    expect((await loadStrategy('asha', TWO_OBJECTIVES)).multiObjective).toBe(true);
  });
});

describe('loadPruner', () => {
  const ctx = { objectives: CTX.objectives, fidelity: CTX.fidelity, options: {} };
  it('builds built-ins by name and module paths (a class), checking the shape', async () => {
    expect((await loadPruner('median', ctx)).name).toBe('median');
    expect((await loadPruner('percentile', { ...ctx, options: { percentile: 10 } })).name).toBe('percentile');
    expect((await loadPruner('./pruner.js', { ...ctx, options: { x: 1 } }, dir)).name).toBe('never');
    await expect(loadPruner('./bad-pruner.js', ctx, dir)).rejects.toThrow(
      "pruner module ./bad-pruner.js: the pruner has no function 'shouldPrune'",
    );
    await expect(loadPruner('hyperband', ctx)).rejects.toThrow(/unknown pruner 'hyperband' \(built in: median, percentile;/);
  });
});

describe('examples/my-strategy.js', () => {
  it('loads by module path and passes the conformance suite', async () => {
    const { factory, source } = await resolveStrategy('./examples/my-strategy.js', ROOT);
    expect(source).toBe('strategy module ./examples/my-strategy.js');
    const report = await checkStrategyConformance(factory, { options: { startup: 3 } });
    expect(report.failures, formatConformanceReport(report)).toEqual([]);
    expect(report.strategy).toBe('local-search');
  });

  it('improves on its random start-up: the best loss after 40 trials beats the best of the first 5', async () => {
    const { factory } = await resolveStrategy('./examples/my-strategy.js', ROOT);
    const space = parseSpace({ x: { type: 'float', low: 0, high: 1 }, y: { type: 'float', low: 1e-3, high: 1, log: true } });
    const strategy = await loadStrategy('./examples/my-strategy.js', { ...CTX, space }, ROOT);
    expect(typeof factory).toBe('function');
    const trials: import('../../src/hpo/strategy.js').TrialRecord[] = [];
    const loss = (c: Record<string, unknown>) => (Number(c.x) - 0.3) ** 2 + Math.log10(Number(c.y) / 0.01) ** 2;
    for (let i = 0; i < 40; i++) {
      const view = {
        space,
        objectives: CTX.objectives,
        fidelity: CTX.fidelity,
        trials,
        budget: { spentRounds: 0, maxRounds: Number.POSITIVE_INFINITY },
      };
      const [s] = strategy.ask(view, 1);
      trials.push({ id: i, config: s!.config, fidelity: s!.fidelity, status: 'complete', values: [loss(s!.config)], rounds: 9 });
    }
    const best = (ts: typeof trials) => Math.min(...ts.map((t) => t.values![0]!));
    expect(best(trials)).toBeLessThan(best(trials.slice(0, 5)) / 4);
  });
});
