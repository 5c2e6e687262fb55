// Pareto fronts over complete trials: validation loss vs score, and validation loss vs bytes sent
// (the federated cost) when trials report it. Front members are drawn large and joined by a step line.
import type { TopLevelSpec } from 'vega-lite';
import { paretoFront } from '../hpo/pareto.js';
import {
  BYTES_SENT,
  completeTrials,
  metricDirection,
  metricValue,
  SCORE,
  type StudyData,
  studyLabel,
  VAL_LOSS,
} from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';

export interface ParetoPoint {
  readonly trial: number;
  readonly x: number;
  readonly y: number;
  readonly front: boolean;
}

/** Complete trials with both metrics; `front` marks the non-dominated ones (each metric in its own direction). */
export function paretoPoints(study: StudyData, xMetric: string, yMetric: string): ParetoPoint[] {
  const rows = completeTrials(study)
    .map((t) => ({ trial: t.id, x: metricValue(study, t, xMetric), y: metricValue(study, t, yMetric) }))
    .filter((r): r is { trial: number; x: number; y: number } => r.x !== undefined && r.y !== undefined);
  const front = new Set(
    paretoFront(
      rows.map((r) => [r.x, r.y]),
      [metricDirection(study, xMetric), metricDirection(study, yMetric)],
    ),
  );
  return rows.map((r, i) => ({ ...r, front: front.has(i) }));
}

const TITLES: Readonly<Record<string, string>> = { [VAL_LOSS]: 'validation loss', [SCORE]: 'score', [BYTES_SENT]: 'bytes sent' };

function panel(study: StudyData, xMetric: string, yMetric: string) {
  const points = paretoPoints(study, xMetric, yMetric);
  const dir = (m: string) => (metricDirection(study, m) === 'minimize' ? 'lower' : 'higher');
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: `${TITLES[xMetric] ?? xMetric} (${dir(xMetric)} is better)`,
    scale: { zero: false },
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: `${TITLES[yMetric] ?? yMetric} (${dir(yMetric)} is better)`,
    scale: { zero: false },
  };
  return {
    width: 300,
    height: 260,
    data: { values: points },
    layer: [
      { mark: { type: 'point' as const, filled: true, size: 30, color: '#bbb' }, encoding: { x, y } },
      {
        transform: [{ filter: 'datum.front' }],
        mark: { type: 'line' as const, interpolate: 'step-after' as const, color: '#e45756', point: { size: 60, color: '#e45756' } },
        encoding: { x, y, order: { field: 'x', type: 'quantitative' as const }, tooltip: [{ field: 'trial' }] },
      },
    ],
  };
}

export function paretoChart(study: StudyData): Chart {
  const withBytes = study.trials.some((t) => t.status === 'complete' && metricValue(study, t, BYTES_SENT) !== undefined);
  const panels = [panel(study, VAL_LOSS, SCORE), ...(withBytes ? [panel(study, VAL_LOSS, BYTES_SENT)] : [])];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Pareto front', subtitle: `${studyLabel(study)}; red: trials no other complete trial beats on both axes` },
    config: CHART_CONFIG,
    hconcat: panels,
  };
  return {
    name: 'pareto',
    title: 'Pareto front',
    description: `Complete trials (grey) and the non-dominated ones (red): validation loss vs score${withBytes ? ', and validation loss vs bytes sent' : ''}.`,
    spec,
  };
}
