// What a study does with each kind of trial outcome, and what it writes: failures and divergence are
// recorded and the study goes on; pruning; several objectives keep a Pareto front; enqueued configs
// run first; export columns.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { dominates } from '../../src/hpo/pareto.js';
import { minimized } from '../../src/hpo/study-best.js';
import { StrategyError } from '../../src/hpo/study.js';
import { studyTable, toCsv } from '../../src/hpo/study-export.js';
import { SyntheticTrialRunner, SyntheticTrialSchema } from '../../src/hpo/synthetic-runner.js';
import { studySpace } from '../../src/hpo/study-config.js';
import type { TrialRunner } from '../../src/hpo/trial-runner.js';
import { replayStudy, syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

const HELPERS = resolve(dirname(fileURLToPath(import.meta.url)), '../helpers');

describe('study outcomes', () => {
  it('records failing, throwing and diverging trials and goes on to its budget', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({
      budget: { trials: 12 },
      parallel: 3,
      trial: { kind: 'synthetic', fail_rate: 0.25, diverge_rate: 0.25 },
    });
    // A runner that also throws outright for trial 5 and reports no objective for trial 6.
    const runnerFor = (): TrialRunner => {
      const inner = new SyntheticTrialRunner(studySpace(config), config.seed, SyntheticTrialSchema.parse(config.trial));
      return {
        name: 'flaky',
        exportAdapter: (c, d) => inner.exportAdapter(c, d),
        run: async (req) => {
          if (req.trialId === 5) throw new Error('runner crashed');
          const o = await inner.run(req);
          return req.trialId === 6 ? { ...o, status: 'complete', metrics: { score: 1 } } : o;
        },
      };
    };
    expect(await runStudy({ dir, config, runnerFor })).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    const s = await replayStudy(dir);
    const c = s.countByStatus();
    expect(c.failed).toBeGreaterThanOrEqual(2);
    expect(c.diverged).toBeGreaterThanOrEqual(1);
    expect(c.complete).toBeGreaterThanOrEqual(3);
    expect(c.complete + c.failed + c.diverged).toBe(12);
    expect(s.trials[5]).toMatchObject({ status: 'failed', reason: 'runner crashed' });
    expect(s.trials[6]).toMatchObject({ status: 'failed', reason: 'reported no val_loss' });
    for (const t of s.trials.filter((x) => x.status === 'diverged')) expect(t.reason).toMatch(/val_loss is NaN at round \d/);
    for (const t of s.trials.filter((x) => x.status === 'failed' && x.id !== 5 && x.id !== 6))
      expect(t.reason).toMatch(/synthetic failure/);
    // Budget: what each trial actually trained.
    expect(s.spentRounds).toBe(s.trials.reduce((a, t) => a + t.rounds, 0));
    expect(s.spentRounds).toBeLessThan(48);
    const best = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).best[0];
    expect(s.trials[best.trial]!.status).toBe('complete');
  });

  it('prunes with a pruner module and counts only the rounds trained', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({
      budget: { trials: 10 },
      fidelity: { rounds: 6 },
      pruner: { name: join(HELPERS, 'threshold-pruner.ts'), options: { round: 2, above: 1.8 } },
      trial: { kind: 'synthetic' },
    });
    await runStudy({ dir, config });
    const s = await replayStudy(dir);
    const pruned = s.trials.filter((t) => t.status === 'pruned');
    expect(pruned.length).toBeGreaterThan(0);
    expect(pruned.length).toBeLessThan(10);
    for (const t of pruned) expect(t).toMatchObject({ rounds: 2, reason: 'pruned at round 2' });
    expect(s.spentRounds).toBe(pruned.length * 2 + (10 - pruned.length) * 6);
  });

  it('keeps the Pareto front of several objectives in best.json', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({
      budget: { trials: 16 },
      objectives: [
        { name: 'val_loss', direction: 'minimize' },
        { name: 'bytes_sent', direction: 'minimize' },
      ],
    });
    await runStudy({ dir, config });
    const s = await replayStudy(dir);
    const front = JSON.parse(await readFile(join(dir, 'best.json'), 'utf8')).pareto_front as { trial: number; config: { kind: string } }[];
    expect(front.length).toBeGreaterThan(1);
    const ids = new Set(front.map((f) => f.trial));
    const points = s.trials.map((t) => ({ id: t.id, v: minimized(s.objectives, t.values!) }));
    for (const p of points) {
      const dominated = points.some((q) => dominates(q.v, p.v));
      expect(ids.has(p.id), `trial ${p.id}`).toBe(!dominated);
    }
    expect(front[0]!.config.kind).toBe('synthetic');
  });

  it('runs enqueued configs first and exports one row per trial with dotted columns', async () => {
    const dir = join(await tempDir(), 'study');
    const enq = { 'train.lr': 0.001, 'lora.r': 16, 'train.local_steps': 4 };
    const config = syntheticStudy({ budget: { trials: 4 }, enqueue: [enq, { train: { lr: 0.01, local_steps: 2 }, lora: { r: 4 } }] });
    await runStudy({ dir, config });
    const s = await replayStudy(dir);
    expect(s.trials.map((t) => t.source)).toEqual(['enqueue', 'enqueue', 'strategy', 'strategy']);
    expect(s.trials[1]!.config).toEqual({ 'train.lr': 0.01, 'train.local_steps': 2, 'lora.r': 4 });
    const table = studyTable(s);
    expect(table.columns).toEqual([
      'trial',
      'status',
      'fidelity',
      'rounds',
      'attempts',
      'train.lr',
      'lora.r',
      'train.local_steps',
      'val_loss',
      'cost.bytes_sent',
      'cost.client_rounds',
      'cost.seconds',
      'parent',
      'reason',
    ]);
    const csv = toCsv(table).split('\n');
    expect(csv[0]).toBe(table.columns.join(','));
    expect(csv[1]).toMatch(/^0,complete,4,4,1,0\.001,16,4,\d\.\d+,\d+,12,[\d.]+,,$/);
    expect(csv).toHaveLength(6);
    expect(toCsv({ columns: ['a'], rows: [{ a: 'x,"y"' }] })).toBe('a\n"x,""y"""\n');
  });

  it('stops with a StrategyError naming the strategy when it suggests outside the space', async () => {
    const dir = join(await tempDir(), 'study');
    const file = join(dir, '..', 'bad-strategy.mjs');
    await writeFile(
      file,
      "export default () => ({ name: 'bad', multiObjective: false, ask: (s, n) => [{ config: { 'train.lr': 7 }, fidelity: 4 }], tell() {}, isDone: () => false, state: () => null, restore() {} });\n",
    );
    const config = syntheticStudy({ strategy: { name: file } });
    await expect(runStudy({ dir, config })).rejects.toThrow(StrategyError);
    await expect(runStudy({ dir })).rejects.toThrow(/strategy bad: suggestion: no value for lora\.r|train\.lr = 7 is outside/);
  });
});
