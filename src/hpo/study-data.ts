// StudyData: what rank analysis, plots and the report read. A plain value (no journal, scheduler or
// files behind it), so the analysis works the same on a study's journal, a tabular benchmark, or
// trials made up in a test; `loadStudyData` maps a study directory onto it.
import type { SearchSpace } from './space.js';
import type { Objective, TrialRecord } from './strategy.js';

/** A point of a per-round series: the value reached after `round` federated rounds. */
export interface RoundValue {
  readonly round: number;
  readonly value: number;
}

/** A trial as the analysis reads it: the study's record, plus the evaluation score per round where it was measured. */
export interface AnalyzedTrial extends TrialRecord {
  /** The evaluation score (pass@1, accuracy) at the rounds it was measured (the tabular benchmark: 1, 2, 4, 8). */
  readonly scoreCurve?: readonly RoundValue[];
}

export interface StudyData {
  /** Shown in titles and legends; the strategy's name when absent. */
  readonly name?: string;
  /** The strategy that ran the study (random, grid, sha, bo, ...). */
  readonly strategy: string;
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly trials: readonly AnalyzedTrial[];
}

/** The metric names trials report (TrialRecord.metrics) that the analysis knows by meaning. */
export const VAL_LOSS = 'val_loss';
export const SCORE = 'score';
export const BYTES_SENT = 'bytes_sent';

const KNOWN_DIRECTIONS: Readonly<Record<string, Objective['direction']>> = {
  [VAL_LOSS]: 'minimize',
  [SCORE]: 'maximize',
  [BYTES_SENT]: 'minimize',
};

export function studyLabel(study: StudyData): string {
  return study.name ?? study.strategy;
}

/** Whether larger or smaller is better: the study's objective if it names one, else the known meaning (smaller for unknown metrics). */
export function metricDirection(study: StudyData, metric: string): Objective['direction'] {
  return study.objectives.find((o) => o.name === metric)?.direction ?? KNOWN_DIRECTIONS[metric] ?? 'minimize';
}

/** A trial's value of `metric`: its objective value if the metric is an objective, else its metrics entry; undefined when absent or not finite. */
export function metricValue(study: StudyData, trial: TrialRecord, metric: string): number | undefined {
  const i = study.objectives.findIndex((o) => o.name === metric);
  // Own entries only: a metric named 'toString' or '__proto__' is not in any trial.
  const v =
    i >= 0 && trial.values ? trial.values[i] : trial.metrics && Object.hasOwn(trial.metrics, metric) ? trial.metrics[metric] : undefined;
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** The metric that TrialRecord.curve follows: the study's primary objective. */
export function curveMetric(study: StudyData): string | undefined {
  return study.objectives[0]?.name;
}

/**
 * What a trial measured of `metric` round by round: its curve (for the primary objective), its score
 * curve (for the score), and, for a complete trial, the final value at its fidelity.
 */
export function metricByRound(study: StudyData, trial: AnalyzedTrial, metric: string): RoundValue[] {
  const points = new Map<number, number>();
  const series = metric === curveMetric(study) ? trial.curve : metric === SCORE ? trial.scoreCurve : undefined;
  for (const p of series ?? []) if (Number.isFinite(p.value)) points.set(p.round, p.value);
  const final = trial.status === 'complete' ? metricValue(study, trial, metric) : undefined;
  if (final !== undefined && !points.has(trial.fidelity)) points.set(trial.fidelity, final);
  return [...points].map(([round, value]) => ({ round, value })).sort((a, b) => a.round - b.round);
}

/** Complete trials, in id order: the ones every "final" ranking compares. */
export function completeTrials(study: StudyData): AnalyzedTrial[] {
  return study.trials.filter((t) => t.status === 'complete').sort((a, b) => a.id - b.id);
}
