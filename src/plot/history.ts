// Optimization history: the best value found so far against the budget spent, in federated rounds
// (the cost every strategy pays), one line per study so strategies can be compared on one chart.
// Trials are taken in id order (the order the study started them); every trial's rounds count
// toward the budget, failed and pruned ones too, but only complete trials can be "the best".
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../engine/errors.js';
import { curveMetric, metricDirection, metricValue, type StudyData, studyLabel, VAL_LOSS } from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';

export interface HistoryPoint {
  readonly study: string;
  readonly trial: number;
  /** Rounds spent by this trial and all before it. */
  readonly budget: number;
  /** This trial's value, when it completed with one. */
  readonly value?: number;
  /** The best complete value up to and including this trial. */
  readonly best: number;
}

/** The history of one study; points start at the first complete trial (before it there is no best). */
export function historyPoints(study: StudyData, metric: string, label = studyLabel(study)): HistoryPoint[] {
  const sign = metricDirection(study, metric) === 'minimize' ? 1 : -1;
  let budget = 0;
  let best: number | undefined;
  const points: HistoryPoint[] = [];
  for (const t of [...study.trials].sort((a, b) => a.id - b.id)) {
    budget += t.rounds;
    const value = t.status === 'complete' ? metricValue(study, t, metric) : undefined;
    if (value !== undefined && (best === undefined || sign * value < sign * best)) best = value;
    if (best !== undefined) points.push({ study: label, trial: t.id, budget, ...(value !== undefined ? { value } : {}), best });
  }
  return points;
}

/** The objectives and measured metrics of the studies, for error messages. */
function knownMetrics(studies: readonly StudyData[]): string[] {
  const names = new Set<string>();
  for (const s of studies) {
    for (const o of s.objectives) names.add(o.name);
    for (const t of s.trials) for (const k of Object.keys(t.metrics ?? {})) names.add(k);
  }
  return [...names].sort();
}

/** Labels for the legend, made unique when two studies share a name. */
function uniqueLabels(studies: readonly StudyData[]): string[] {
  const seen = new Map<string, number>();
  return studies.map((s) => {
    const base = studyLabel(s);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} (${n})`;
  });
}

export function historyChart(studies: readonly StudyData[], options: { metric?: string } = {}): Chart {
  if (!studies.length) throw new UserError('history: name at least one study');
  const metric = options.metric ?? curveMetric(studies[0]!) ?? VAL_LOSS;
  const labels = uniqueLabels(studies);
  const points = studies.flatMap((s, i) => historyPoints(s, metric, labels[i]));
  // A metric no trial measured (a typo, or a name like '__proto__') is an error, not an empty chart.
  if (options.metric !== undefined && !points.length && studies.some((s) => s.trials.some((t) => t.status === 'complete')))
    throw new UserError(`history: no complete trial has a value of '${metric}' (known: ${knownMetrics(studies).join(', ')})`);
  const direction = metricDirection(studies[0]!, metric);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Optimization history: best ${metric} so far`, subtitle: `${direction === 'minimize' ? 'lower' : 'higher'} is better` },
    config: CHART_CONFIG,
    width: 520,
    height: 300,
    data: { values: points },
    encoding: {
      x: { field: 'budget', type: 'quantitative', title: 'budget spent (federated rounds)' },
      color: { field: 'study', type: 'nominal', title: 'study', scale: { domain: labels } },
    },
    layer: [
      {
        mark: { type: 'point', opacity: 0.35, size: 18, filled: true },
        encoding: { y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } } },
      },
      {
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: { y: { field: 'best', type: 'quantitative', title: metric } },
      },
    ],
  };
  return {
    name: 'history',
    title: 'Optimization history',
    description: `Best ${metric} among complete trials against the federated rounds spent by all trials (failed and pruned included), trials in start order; dots are single trials.`,
    spec,
  };
}
