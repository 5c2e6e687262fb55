// writeReport: one self-contained report.html for a study (the correlations, the best config, every
// plot, a sortable table of trials), and optionally each plot as SVG/PNG files beside it.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMPORTANCE_METHOD } from '../hpo/importance.js';
import { formatParamValue } from '../hpo/param-bins.js';
import { EXACT_MAHONIAN_MAX, EXACT_PERMUTATION_MAX } from '../hpo/rank-stats.js';
import { type AgreementOptions, bestTrial, crossFidelityRows, lossScoreAgreementRows, rankTrials } from '../hpo/ranking.js';
import { BYTES_SENT, metricValue, SCORE, type StudyData, studyLabel, VAL_LOSS } from '../hpo/study-data.js';
import { loadStudyData } from '../hpo/study-journal.js';
import { writeChart } from './chart.js';
import type { ChartFormat, Marginalize } from './chart-options.js';
import { specToSvg, svgToPng } from './render.js';
import { formatNumber, type ReportCell, type ReportModel, type ReportPlot, reportHtml } from './report-html.js';
import { studyCharts } from './study-charts.js';

export const REPORT_FILE = 'report.html';

export interface ReportOptions extends AgreementOptions {
  /** How landscapes marginalise the other hyperparameters (default best). */
  readonly marginalize?: Marginalize;
  /** Also write every plot into the directory in these formats (what `study run` keeps beside the report). */
  readonly chartFiles?: readonly ChartFormat[];
}

export interface WrittenReport {
  readonly path: string;
  /** The plots the report shows, by file stem, in report order. */
  readonly plots: readonly string[];
  /** Plot files written beside it (chartFiles). */
  readonly files: readonly string[];
}

function trialTable(study: StudyData): Pick<ReportModel, 'columns' | 'rows'> {
  const params = [...study.space.keys()];
  const ranks = new Map(rankTrials(study).map((r) => [r.trial.id, r]));
  const withBytes = study.trials.some((t) => metricValue(study, t, BYTES_SENT) !== undefined);
  const num = (v: number | undefined): ReportCell => ({ text: formatNumber(v), sort: v === undefined || Number.isNaN(v) ? null : v });
  const columns = [
    { label: 'trial', numeric: true },
    { label: 'status', numeric: false },
    { label: 'fidelity', numeric: true },
    { label: 'rounds', numeric: true },
    ...params.map((p) => ({ label: p, numeric: study.space.get(p)!.type !== 'categorical' })),
    { label: VAL_LOSS, numeric: true },
    { label: SCORE, numeric: true },
    { label: 'val_loss rank', numeric: true },
    { label: 'score rank', numeric: true },
    ...(withBytes ? [{ label: BYTES_SENT, numeric: true }] : []),
  ];
  const rows = [...study.trials]
    .sort((a, b) => a.id - b.id)
    .map((t): ReportCell[] => {
      const r = ranks.get(t.id);
      return [
        num(t.id),
        { text: t.status, sort: t.status },
        num(t.fidelity),
        num(t.rounds),
        ...params.map((p) => {
          const v = t.config[p];
          return {
            text: v === undefined ? '–' : formatParamValue(v),
            sort: typeof v === 'number' ? v : v === undefined ? null : String(v),
          };
        }),
        num(metricValue(study, t, VAL_LOSS)),
        num(metricValue(study, t, SCORE)),
        num(r?.valLossRank),
        num(r?.scoreRank),
        ...(withBytes ? [num(metricValue(study, t, BYTES_SENT))] : []),
      ];
    });
  return { columns, rows };
}

export async function writeReport(dir: string, study: StudyData, options: ReportOptions = {}): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const charts = studyCharts(study, { marginalize: options.marginalize });
  const plots: ReportPlot[] = [];
  for (const chart of charts) {
    const svg = await specToSvg(chart.spec);
    const [, width, height] = /width="([\d.]+)" height="([\d.]+)"/.exec(svg) ?? [];
    plots.push({ ...chart, png: svgToPng(svg), width: Number(width), height: Number(height) });
  }
  const files: string[] = [];
  if (options.chartFiles?.length) for (const chart of charts) files.push(...(await writeChart(dir, chart, options.chartFiles)));
  const counts = new Map<string, number>();
  for (const t of study.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const best = [VAL_LOSS, SCORE].flatMap((m) => {
    const t = bestTrial(study, m);
    return t ? [{ label: `best by ${m}`, trial: t.id, value: `${m} ${formatNumber(metricValue(study, t, m))}`, config: t.config }] : [];
  });
  const model: ReportModel = {
    title: `Study report: ${studyLabel(study)}`,
    facts: [
      ['strategy', study.strategy],
      ['objectives', study.objectives.map((o) => `${o.name} (${o.direction})`).join(', ')],
      ['hyperparameters', [...study.space.keys()].join(', ')],
      ['trials', `${study.trials.length} (${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')})`],
      ['rounds spent', String(study.trials.reduce((s, t) => s + t.rounds, 0))],
    ],
    agreements: lossScoreAgreementRows(study, options),
    fidelityAgreements: crossFidelityRows(study, options),
    best,
    plots,
    ...trialTable(study),
    notes: [
      `p-values are two-sided. exact-permutation: all n! pairings enumerated (n <= ${EXACT_PERMUTATION_MAX}); exact-mahonian: Kendall's exact null distribution without ties (n <= ${EXACT_MAHONIAN_MAX}); t: Spearman's t approximation with n-2 degrees of freedom; normal: Kendall's S with the tie-corrected variance.`,
      `Parameter importance: ${IMPORTANCE_METHOD}.`,
    ],
  };
  const path = join(dir, REPORT_FILE);
  await writeFile(path, reportHtml(model));
  return { path, plots: charts.map((c) => c.name), files };
}

/** The formats `study run` keeps every plot in beside the report. */
export const STUDY_PLOT_FORMATS: readonly ChartFormat[] = ['svg', 'png'];

/**
 * What `fedhpo study run` and `study resume` leave at the end of a study: DIR/report.html and every
 * plot it shows (history, curves, rank landscapes over the pairs of hyperparameters ...) as SVG and PNG.
 */
export async function writeStudyReport(dir: string): Promise<WrittenReport> {
  return writeReport(dir, await loadStudyData(dir), { chartFiles: STUDY_PLOT_FORMATS });
}
