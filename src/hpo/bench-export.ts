// `fedhpo bench export`: a recorded table as one row per (config, round): one column per
// hyperparameter by its dotted name, then round, val_loss, score (null/empty where not evaluated) and
// the config's status, for a spreadsheet or pandas. Same cell rules and CSV as `study export`.
import type { BenchTable } from './bench-table.js';
import type { ExportCell, StudyTable } from './study-export.js';

export function benchExportTable(table: BenchTable): StudyTable {
  const params = [...table.space.keys()];
  const columns = [...params, 'round', 'val_loss', 'score', 'status'];
  const rows = [...table.rows]
    .sort((a, b) => a.index - b.index)
    .flatMap((row) =>
      row.rounds.map((r) => {
        const cells: Record<string, ExportCell> = {};
        for (const p of params) cells[p] = row.config[p] ?? null;
        cells.round = r.round;
        cells.val_loss = r.val_loss;
        cells.score = r.score ?? null;
        cells.status = row.status;
        return cells;
      }),
    );
  return { columns, rows };
}
