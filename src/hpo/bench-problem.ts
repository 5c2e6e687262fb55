// A recorded bench table as a GridProblem, so the tabular runner (tabular-run.ts) replays any strategy
// against it: a trial of a config at round r reports the table's value there. On val_loss every round
// is recorded; on score a round reports the score measured last at or before it (what the trial would
// know), and the lowest fidelity is the first scored round. A config that failed or diverged before a
// round reports the worst value recorded at that round, so it never looks good.
import { basename, extname } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { BenchTable } from './bench-table.js';
import { type Config, configKey } from './space.js';
import type { Objective } from './strategy.js';
import { type GridProblem, gridConfigs, type TabularSummary, tabularSummary } from './testfns.js';

export const BENCH_OBJECTIVES = ['val_loss', 'score'] as const;
export type BenchObjective = (typeof BENCH_OBJECTIVES)[number];

export interface BenchProblemOptions {
  readonly objective?: BenchObjective;
  /** The lowest fidelity strategies may ask for (default: 1 on val_loss, the first scored round on score). */
  readonly minRound?: number;
  readonly name?: string;
}

export function benchProblem(table: BenchTable, opts: BenchProblemOptions = {}): GridProblem {
  const objective = opts.objective ?? 'val_loss';
  const direction: Objective['direction'] = objective === 'score' ? 'maximize' : 'minimize';
  const { header, space } = table;
  const max = header.max_round;
  const configs = gridConfigs(space);
  if (table.rows.length < configs.length)
    throw new UserError(
      `${table.file}: ${table.rows.length} of ${configs.length} configs recorded; finish it first (run the same bench record again)`,
    );
  const min = opts.minRound ?? (objective === 'score' ? header.score_rounds[0]! : 1);
  if (!(Number.isInteger(min) && min >= 1 && min <= max)) throw new UserError(`min round ${min}: want a whole number in 1..${max}`);
  if (objective === 'score' && min < header.score_rounds[0]!)
    throw new UserError(`min round ${min}: the table's first score is at round ${header.score_rounds[0]}`);

  // raw[k][r]: config k's recorded value at round r (NaN where missing), then missing -> the round's worst.
  const byKey = new Map(table.rows.map((row) => [configKey(space, row.config as Config), row]));
  const raw = configs.map((c) => {
    const values = new Float64Array(max + 1).fill(Number.NaN);
    const row = byKey.get(configKey(space, c));
    if (!row) throw new UserError(`${table.file}: config ${configKey(space, c)} is not recorded`);
    let last = Number.NaN;
    const at = new Map(row.rounds.map((r) => [r.round, r]));
    for (let r = 1; r <= max; r++) {
      const rec = at.get(r);
      if (objective === 'val_loss') values[r] = rec?.val_loss ?? Number.NaN;
      else {
        if (rec && rec.score !== undefined) last = rec.score ?? Number.NaN;
        else if (!rec) last = Number.NaN; // no longer running: nothing to carry forward
        values[r] = last;
      }
    }
    return values;
  });
  const sign = direction === 'minimize' ? 1 : -1;
  for (let r = 1; r <= max; r++) {
    const finite = raw.map((v) => v[r]!).filter(Number.isFinite);
    const worst = finite.length ? sign * Math.max(...finite.map((v) => sign * v)) : Number.NaN;
    for (const v of raw) if (!Number.isFinite(v[r]!)) v[r] = worst;
  }
  const index = new Map(configs.map((c, k) => [configKey(space, c), k]));
  let summary: TabularSummary | undefined;
  return {
    name: opts.name ?? basename(table.file, extname(table.file)),
    space,
    objectives: [{ name: objective, direction }],
    fidelity: { min, max },
    value: (config, round) => {
      const k = index.get(configKey(space, config));
      if (k === undefined) throw new RangeError(`bench table: ${configKey(space, config)} is not a config of the grid`);
      if (!(Number.isInteger(round) && round >= 1 && round <= max)) throw new RangeError(`bench table: no round ${round}`);
      return raw[k]![round]!;
    },
    table: () => {
      summary ??= tabularSummary(
        configs,
        Float64Array.from(raw, (v) => v[max]!),
        direction,
      );
      return summary;
    },
    gridBudget: configs.length * max,
  };
}
