// Learning curves: the primary objective round by round for every trial. A pruned trial's line
// stops at the round it was pruned and ends in a ×, a failed or diverged one in a hollow square, so
// a cut curve never reads as a trial that simply had a lower fidelity.
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../engine/errors.js';
import type { TrialStatus } from '../hpo/strategy.js';
import { curveMetric, type StudyData, studyLabel } from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';

export interface CurvePoint {
  readonly trial: number;
  readonly status: TrialStatus;
  readonly round: number;
  readonly value: number;
}

export const STATUS_ORDER: readonly TrialStatus[] = ['complete', 'pruned', 'failed', 'diverged', 'running'];
const STATUS_COLORS = ['#4c78a8', '#e45756', '#7f7f7f', '#b279a2', '#f58518'];
/** Vega's 'cross' is a plus sign; this SVG path (unit square, stroked) is an ×. */
const X_MARK = 'M-1,-1L1,1M-1,1L1,-1';

/** Every trial's curve, and the last point of each curve that was cut short (pruned, failed, diverged). */
export function curveSeries(study: StudyData): { lines: CurvePoint[]; cuts: CurvePoint[] } {
  const lines: CurvePoint[] = [];
  const cuts: CurvePoint[] = [];
  for (const t of [...study.trials].sort((a, b) => a.id - b.id)) {
    const points = (t.curve ?? [])
      .filter((p) => Number.isFinite(p.value))
      .map((p) => ({ trial: t.id, status: t.status, round: p.round, value: p.value }));
    points.sort((a, b) => a.round - b.round);
    lines.push(...points);
    if (points.length && (t.status === 'pruned' || t.status === 'failed' || t.status === 'diverged')) cuts.push(points.at(-1)!);
  }
  return { lines, cuts };
}

export function curvesChart(study: StudyData): Chart {
  const { lines, cuts } = curveSeries(study);
  if (!lines.length) throw new UserError(`curves: no trial of ${studyLabel(study)} has a per-round curve`);
  const metric = curveMetric(study) ?? 'objective';
  const color = { field: 'status', type: 'nominal' as const, title: 'status', scale: { domain: [...STATUS_ORDER], range: STATUS_COLORS } };
  const x = { field: 'round', type: 'quantitative' as const, title: 'federated round', axis: { tickMinStep: 1 } };
  const y = { field: 'value', type: 'quantitative' as const, title: metric, scale: { zero: false } };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Learning curves: ${metric} per round`, subtitle: `${studyLabel(study)}; × pruned, □ failed or diverged` },
    config: CHART_CONFIG,
    width: 520,
    height: 300,
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.2, opacity: 0.7 },
        encoding: { x, y, color, detail: { field: 'trial', type: 'nominal' } },
      },
      {
        data: { values: cuts.map((c) => ({ ...c, cut: c.status })) },
        mark: { type: 'point', filled: false, strokeWidth: 2.5, size: 90, opacity: 1 },
        encoding: {
          x,
          y,
          color: { ...color, legend: null },
          shape: {
            field: 'cut',
            type: 'nominal',
            scale: { domain: ['pruned', 'failed', 'diverged'], range: [X_MARK, 'square', 'square'] },
            legend: null,
          },
          tooltip: [{ field: 'trial' }, { field: 'status' }, { field: 'round' }],
        },
      },
    ],
  };
  return {
    name: 'curves',
    title: 'Learning curves',
    description: `${metric} after each federated round, one line per trial; a pruned trial ends at its pruning round in a ×, a failed or diverged one in a hollow square.`,
    spec,
  };
}
