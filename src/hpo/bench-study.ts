// A recorded bench table as StudyData, so rank analysis, plots and the report read a table the way
// they read a study's journal (one code path for the math): every row is one trial of its config,
// observed as if the grid study had stopped at `round`. A trial's curve is val_loss at rounds
// 1..round, its score curve the scores measured at the scored rounds up to it, and its final values
// those at `round`. A config that failed or diverged before `round` keeps its status and the rounds
// it reached; one that reached `round` with a finite val_loss is complete there.
import { basename, extname } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { BenchRow, BenchTable } from './bench-table.js';
import type { AnalyzedTrial, RoundValue, StudyData } from './study-data.js';
import { SCORE, VAL_LOSS } from './study-data.js';

export interface BenchStudyOptions {
  /** The round the trials are observed at: one of the table's scored rounds (default its max round). */
  readonly round?: number;
}

/** The table's name: its file name without the extension. */
export function benchTableName(table: BenchTable): string {
  return basename(table.file, extname(table.file));
}

/** The round to observe at, checked: a scored round of the table (so every trial has a score there). */
export function benchRound(table: BenchTable, round: number | undefined): number {
  const { max_round: max, score_rounds: scored } = table.header;
  const r = round ?? max;
  if (!scored.includes(r))
    throw new UserError(`--round ${r}: ${table.file} measured the score at rounds ${scored.join(', ')} only; pick one of them`);
  return r;
}

function finite(v: number | null | undefined): v is number {
  return v !== null && v !== undefined && Number.isFinite(v);
}

function trialOf(row: BenchRow, round: number): AnalyzedTrial {
  const upTo = row.rounds.filter((r) => r.round <= round).sort((a, b) => a.round - b.round);
  const curve: RoundValue[] = upTo.flatMap((r) => (finite(r.val_loss) ? [{ round: r.round, value: r.val_loss }] : []));
  const scoreCurve: RoundValue[] = upTo.flatMap((r) => (finite(r.score) ? [{ round: r.round, value: r.score }] : []));
  const at = upTo.find((r) => r.round === round);
  const base = { id: row.index, config: row.config, fidelity: round, curve, scoreCurve };
  if (at && finite(at.val_loss)) {
    const score = at.score;
    return { ...base, status: 'complete', rounds: round, values: [at.val_loss], metrics: finite(score) ? { [SCORE]: score } : {} };
  }
  const reached = upTo.at(-1)?.round ?? 0;
  return {
    ...base,
    status: row.status === 'failed' ? 'failed' : 'diverged',
    rounds: reached,
    reason: row.reason ?? (row.status === 'complete' ? `val_loss not finite at round ${round}` : `stopped after round ${reached}`),
  };
}

/** The table as an analysed study observed at `round` (default the max round). */
export function benchStudyData(table: BenchTable, options: BenchStudyOptions = {}): StudyData {
  const round = benchRound(table, options.round);
  return {
    name: `${benchTableName(table)}, round ${round}`,
    strategy: 'grid',
    space: table.space,
    objectives: [{ name: VAL_LOSS, direction: 'minimize' }],
    trials: [...table.rows].sort((a, b) => a.index - b.index).map((row) => trialOf(row, round)),
  };
}
