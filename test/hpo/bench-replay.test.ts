// bench replay: a recorded table as a GridProblem for the tabular runner. Values come from the table
// (a promoted trial reports the table at its round and is charged only the rounds it adds), every run
// stays within its budget, regret lies in [0, 1], and a seed replays identically.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchProblem } from '../../src/hpo/bench-problem.js';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { replayBenchTable } from '../../src/hpo/bench-replay.js';
import { type BenchTable, readBenchTable } from '../../src/hpo/bench-table.js';
import { configKey } from '../../src/hpo/space.js';
import { STRATEGIES } from '../../src/hpo/strategies/index.js';
import { runTabular } from '../../src/hpo/tabular-run.js';
import { gridStudy } from '../helpers/bench-fixtures.js';
import { tempDir } from '../helpers/study-fixtures.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

let file: string;
let table: BenchTable;
let badFile: string;

beforeAll(async () => {
  const dir = await tempDir('fedhpo-replay-');
  file = join(dir, 'grid.jsonl');
  await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file, command: ['test'] });
  table = await readBenchTable(file);
  badFile = join(dir, 'bad.jsonl');
  await recordBenchTable({
    runnerFor: trialRunnerFor,
    config: gridStudy({ fail_rate: 0.2, diverge_rate: 0.2 }),
    file: badFile,
    command: ['test'],
  });
});

const recorded = (t: BenchTable, config: Record<string, unknown>) =>
  t.rows.find((r) => configKey(t.space, r.config) === configKey(t.space, config as never))!;

describe('a bench table as a tabular problem', () => {
  it('reports the recorded val_loss, and its best and worst at the max round', () => {
    const p = benchProblem(table);
    expect(p.fidelity).toEqual({ min: 1, max: 4 });
    expect(p.gridBudget).toBe(12 * 4);
    for (const row of table.rows) for (const x of row.rounds) expect(p.value(row.config, x.round)).toBe(x.val_loss);
    const finals = table.rows.map((r) => r.rounds.at(-1)!.val_loss!);
    expect(p.table().best).toBe(Math.min(...finals));
    expect(p.table().worst).toBe(Math.max(...finals));
  });

  it('on score: maximised, the last score measured at or before a round, fidelity from the first scored round', () => {
    const p = benchProblem(table, { objective: 'score' });
    expect(p.objectives).toEqual([{ name: 'score', direction: 'maximize' }]);
    expect(p.fidelity.min).toBe(1);
    const row = table.rows[3]!;
    const score = (round: number) => row.rounds.find((x) => x.round === round)!.score;
    expect(p.value(row.config, 2)).toBe(score(2));
    expect(p.value(row.config, 3)).toBe(score(2)); // not scored at 3
    expect(p.value(row.config, 4)).toBe(score(4));
    const finals = table.rows.map((r) => r.rounds.at(-1)!.score!);
    expect(p.table().best).toBe(Math.max(...finals));
  });

  it('gives failed and diverged configs the worst value recorded at the round', async () => {
    const bad = await readBenchTable(badFile);
    const p = benchProblem(bad);
    const broken = bad.rows.filter((r) => r.status !== 'complete');
    expect(broken.length).toBeGreaterThan(0);
    const finals = bad.rows.filter((r) => r.status === 'complete').map((r) => r.rounds.at(-1)!.val_loss!);
    for (const r of broken) expect(p.value(r.config, 4)).toBe(Math.max(...finals));
    expect(p.table().worst).toBe(Math.max(...finals));
  });

  it('refuses a table that is not finished', async () => {
    const partial = join(await tempDir('fedhpo-replay-'), 'partial.jsonl');
    await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file: partial, command: ['test'], limit: 5 });
    await expect(replayBenchTable({ table: partial, strategies: ['random'], seeds: 2, fractions: [0.5] })).rejects.toThrow(
      /5 of 12 configs recorded/,
    );
  });
});

describe('replaying strategies', () => {
  it('charge a promoted trial only the rounds it adds, report the table at its round, and keep to the budget', () => {
    const p = benchProblem(table);
    for (const name of ['random', 'bo', 'sha', 'hyperband'])
      for (let seed = 0; seed < 5; seed++) {
        const run = runTabular(STRATEGIES[name]!.factory, p, { budgetRounds: 20, seed });
        expect(run.spentRounds).toBeLessThanOrEqual(20);
        expect(run.spentRounds).toBe(run.trials.reduce((a, t) => a + t.rounds, 0));
        expect(run.regret).toBeGreaterThanOrEqual(0);
        expect(run.regret).toBeLessThanOrEqual(1);
        for (const t of run.trials) {
          expect(t.rounds).toBe(t.fidelity - (t.parent?.round ?? 0));
          expect(t.values![0]).toBe(recorded(table, t.config).rounds[t.fidelity - 1]!.val_loss);
        }
        if (name === 'sha') expect(run.trials.some((t) => t.parent)).toBe(true);
      }
  });

  it('are deterministic per seed, and the rows cover every strategy and budget', async () => {
    const opts = { table: file, strategies: ['random', 'sha', 'hyperband', 'bo'], seeds: 6, fractions: [0.25, 0.5] };
    const a = await replayBenchTable(opts);
    const b = await replayBenchTable(opts);
    const strip = (rows: typeof a.rows) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(b.rows)).toEqual(strip(a.rows));
    expect(a.rows.map((r) => `${r.fraction} ${r.strategy}`)).toEqual([
      '0.25 random',
      '0.25 sha',
      '0.25 hyperband',
      '0.25 bo',
      '0.5 random',
      '0.5 sha',
      '0.5 hyperband',
      '0.5 bo',
    ]);
    for (const r of a.rows) {
      expect(r.budgetRounds).toBe(Math.floor(r.fraction * 48));
      expect(r.spentRounds).toBeLessThanOrEqual(r.budgetRounds);
      expect(r.regret.mean).toBeGreaterThanOrEqual(0);
      expect(r.regret.mean).toBeLessThanOrEqual(1);
      expect(r.meanRank).toBeGreaterThanOrEqual(1);
      expect(r.meanRank).toBeLessThanOrEqual(4);
    }
    // Ranks over 4 strategies sum to 1 + 2 + 3 + 4 per seed.
    for (const f of [0.25, 0.5]) expect(a.rows.filter((r) => r.fraction === f).reduce((s, r) => s + r.meanRank, 0)).toBeCloseTo(10, 9);
    expect(a.table).toMatchObject({ configs: 12, maxRound: 4, gridBudget: 48, objective: 'val_loss', direction: 'minimize' });
  });

  it('with the whole grid budget, random search finds the best config (regret 0)', async () => {
    const r = await replayBenchTable({ table: file, strategies: ['random'], seeds: 3, fractions: [1] });
    expect(r.rows[0]!.regret).toEqual({ mean: 0, low: 0, high: 0 });
  });

  it('refuses strategies that ask the clients for work (FTS, FLoRA), naming them', async () => {
    for (const name of ['fts', 'flora'])
      await expect(replayBenchTable({ table: file, strategies: [name], seeds: 1, fractions: [0.5] })).rejects.toThrow(
        /asks the clients for work/,
      );
  });

  it('takes a user strategy by module path', async () => {
    const r = await replayBenchTable({
      table: file,
      strategies: ['test/helpers/hill-climb-strategy.ts'],
      seeds: 3,
      fractions: [0.5],
    });
    expect(r.rows[0]!.strategy).toBe('test/helpers/hill-climb-strategy.ts');
    expect(r.rows[0]!.trials).toBeGreaterThan(0);
  });
});
