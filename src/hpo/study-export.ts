// `fedhpo study export`: one row per trial, one column per hyperparameter by its dotted name, then the
// objectives by name, status, fidelity, rounds, attempts and the costs — for a spreadsheet or pandas.
import type { StudyState } from './study-state.js';

export type ExportCell = string | number | boolean | null;

export interface StudyTable {
  readonly columns: string[];
  readonly rows: Record<string, ExportCell>[];
}

export function studyTable(state: StudyState): StudyTable {
  const params = [...state.space.keys()];
  const objectives = state.objectives.map((o) => o.name);
  const costKeys = [...new Set(state.trials.flatMap((t) => Object.keys(t.costs ?? {})))].sort();
  const columns = [
    'trial',
    'status',
    'fidelity',
    'rounds',
    'attempts',
    ...params,
    ...objectives,
    ...costKeys.map((k) => `cost.${k}`),
    'parent',
    'reason',
  ];
  const rows = state.trials.map((t) => {
    const row: Record<string, ExportCell> = { trial: t.id, status: t.status, fidelity: t.fidelity, rounds: t.rounds, attempts: t.attempt };
    for (const p of params) row[p] = t.config[p] ?? null;
    objectives.forEach((name, i) => {
      const v = t.values?.[i] ?? t.metrics?.[name];
      row[name] = v === undefined || !Number.isFinite(v) ? null : v;
    });
    for (const k of costKeys) row[`cost.${k}`] = t.costs?.[k] ?? null;
    row.parent = t.parent ? `${t.parent.id}@${t.parent.round}` : null;
    row.reason = t.reason ?? null;
    return row;
  });
  return { columns, rows };
}

/** RFC 4180: a header line, then rows; a cell is quoted when it holds a comma, a quote or a line break. */
export function toCsv(table: StudyTable): string {
  const cell = (v: ExportCell): string => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [table.columns.map(cell).join(','), ...table.rows.map((r) => table.columns.map((c) => cell(r[c] ?? null)).join(','))];
  return `${lines.join('\n')}\n`;
}
