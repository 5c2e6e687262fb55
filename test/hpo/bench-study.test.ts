// A bench table as StudyData: the rank analysis on the adapted table gives the same statistics as
// computing them straight from the table's rows, at the max round, at a lower scored round, and
// across fidelities; failed or diverged configs count only at the rounds they reached.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { benchStudyData } from '../../src/hpo/bench-study.js';
import { type BenchTable, readBenchTable } from '../../src/hpo/bench-table.js';
import { kendallTauB, spearman } from '../../src/hpo/rank-stats.js';
import {
  crossFidelityAgreement,
  crossFidelityRows,
  lossScoreAgreement,
  lossScoreAgreementRows,
  rankTrials,
} from '../../src/hpo/ranking.js';
import { gridStudy } from '../helpers/bench-fixtures.js';
import { tempDir } from '../helpers/study-fixtures.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

let table: BenchTable;

beforeAll(async () => {
  const file = join(await tempDir('fedhpo-bench-study-'), 'grid.jsonl');
  await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file, command: ['fedhpo', 'bench', 'record', 'grid.yaml'] });
  table = await readBenchTable(file);
});

/** Each row's val_loss and score at `round`, straight from the table. */
function column(t: BenchTable, round: number, key: 'val_loss' | 'score'): number[] {
  return [...t.rows].sort((a, b) => a.index - b.index).map((row) => row.rounds.find((r) => r.round === round)![key]!);
}

describe('benchStudyData', () => {
  it('one complete trial per config at the max round, with its val_loss curve and its scores', () => {
    const s = benchStudyData(table);
    expect(s.name).toBe('grid, round 4');
    expect(s.trials).toHaveLength(12);
    const t = s.trials[3]!;
    const row = table.rows.find((r) => r.index === 3)!;
    expect(t).toMatchObject({ id: 3, config: row.config, status: 'complete', fidelity: 4, rounds: 4 });
    expect(t.values).toEqual([row.rounds[3]!.val_loss]);
    expect(t.metrics).toEqual({ score: row.rounds[3]!.score });
    expect(t.curve).toEqual(row.rounds.map((r) => ({ round: r.round, value: r.val_loss })));
    expect(t.scoreCurve?.map((p) => p.round)).toEqual([1, 2, 4]);
  });

  it('val-loss rank vs score rank: the same Spearman and Kendall tau-b as computed from the rows', () => {
    for (const round of [4, 2]) {
      const loss = column(table, round, 'val_loss');
      const negScore = column(table, round, 'score').map((v) => -v); // rank 1 = highest score
      const a = lossScoreAgreement(benchStudyData(table, { round }));
      expect(a.n).toBe(12);
      expect(a.spearman).toEqual(spearman(loss, negScore));
      expect(a.kendall).toEqual(kendallTauB(loss, negScore));
      // The per-round row over configs agrees with the final-trial row.
      const rows = lossScoreAgreementRows(benchStudyData(table, { round }));
      expect(rows.find((r) => r.label === `configs after round ${round}`)?.agreement.spearman.value).toBeCloseTo(a.spearman.value, 12);
    }
  });

  it('round-2 val-loss rank vs round-4 val-loss rank: the same as computed from the rows', () => {
    const s = benchStudyData(table);
    const a = crossFidelityAgreement(s, 'val_loss', 2, 4);
    expect(a.n).toBe(12);
    // pairedRanks orders configs by key; the correlations do not depend on the order.
    expect(a.spearman.value).toBeCloseTo(spearman(column(table, 2, 'val_loss'), column(table, 4, 'val_loss')).value, 12);
    expect(a.kendall.value).toBeCloseTo(kendallTauB(column(table, 2, 'val_loss'), column(table, 4, 'val_loss')).value, 12);
    expect(crossFidelityRows(s).map((r) => r.label)).toEqual([
      'val_loss: round 1 vs round 4',
      'val_loss: round 2 vs round 4',
      'val_loss: round 3 vs round 4',
      'score: round 1 vs round 4',
      'score: round 2 vs round 4',
    ]);
    // Observed at round 2, the study ends there.
    expect(crossFidelityRows(benchStudyData(table, { round: 2 })).map((r) => r.label)).toEqual([
      'val_loss: round 1 vs round 2',
      'score: round 1 vs round 2',
    ]);
  });

  it('a config that diverged after round 2 is complete at round 2 and diverged at round 4', () => {
    const rows = table.rows.map((r) =>
      r.index === 0
        ? { ...r, status: 'diverged' as const, reason: 'val_loss NaN', rounds: [...r.rounds.slice(0, 2), { round: 3, val_loss: null }] }
        : r,
    );
    const damaged: BenchTable = { ...table, rows };
    const at4 = benchStudyData(damaged);
    expect(at4.trials[0]).toMatchObject({ id: 0, status: 'diverged', reason: 'val_loss NaN', rounds: 3 });
    expect(at4.trials[0]!.curve).toHaveLength(2);
    expect(rankTrials(at4)).toHaveLength(11);
    expect(benchStudyData(damaged, { round: 2 }).trials[0]).toMatchObject({ status: 'complete', fidelity: 2 });
  });

  it('reads a table only from a regular file: a FIFO is refused at once, a directory by name', async () => {
    const dir = await tempDir('fedhpo-bench-study-');
    const fifo = join(dir, 'fifo.jsonl');
    execFileSync('mkfifo', [fifo]);
    await expect(readBenchTable(fifo)).rejects.toThrow(`${fifo}: not a regular file`);
    await expect(readBenchTable(dir)).rejects.toThrow(`${dir}: a directory, not a bench table`);
  });

  it('refuses a round where the score was not measured, naming the scored rounds', () => {
    expect(() => benchStudyData(table, { round: 3 })).toThrow(/--round 3: .*grid\.jsonl measured the score at rounds 1, 2, 4 only/);
  });
});
