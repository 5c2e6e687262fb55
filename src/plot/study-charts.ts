// The charts a study's report shows (and `study run` writes): every kind that the study has data
// for, with rank landscapes over the most important pairs of hyperparameters.
import { paramImportance } from '../hpo/importance.js';
import { rankTrials } from '../hpo/ranking.js';
import { SCORE, type StudyData, VAL_LOSS } from '../hpo/study-data.js';
import type { Chart } from './chart.js';
import { curvesChart } from './curves.js';
import { historyChart } from './history.js';
import { importanceChart } from './importance.js';
import type { Marginalize } from './chart-options.js';
import { landscapeChart } from './landscape.js';
import { paretoChart } from './pareto.js';
import { rankScatterChart } from './rank-scatter.js';

/** Landscapes over all pairs of up to this many hyperparameters (the most important ones): 4 -> 6 pairs. */
export const LANDSCAPE_PARAMS = 4;

/** Pairs of hyperparameters to draw landscapes for: all pairs of the (most important) first LANDSCAPE_PARAMS dims. */
export function landscapePairs(study: StudyData): [string, string][] {
  let names = [...study.space.keys()];
  if (names.length > LANDSCAPE_PARAMS) {
    const importance = new Map(paramImportance(study, SCORE).map((p) => [p.param, p.importance]));
    for (const p of paramImportance(study, VAL_LOSS)) importance.set(p.param, (importance.get(p.param) ?? 0) + p.importance);
    names = names.sort((a, b) => (importance.get(b) ?? 0) - (importance.get(a) ?? 0)).slice(0, LANDSCAPE_PARAMS);
    names = [...study.space.keys()].filter((n) => names.includes(n)); // back in space order
  }
  return names.flatMap((x, i) => names.slice(i + 1).map((y): [string, string] => [x, y]));
}

export function studyCharts(study: StudyData, options: { marginalize?: Marginalize } = {}): Chart[] {
  const charts: Chart[] = [historyChart([study])];
  const ranked = rankTrials(study).length;
  if (ranked >= 2) {
    charts.push(rankScatterChart(study));
    for (const [x, y] of landscapePairs(study)) charts.push(landscapeChart(study, { x, y, marginalize: options.marginalize }));
  }
  if (study.trials.some((t) => t.curve?.length)) charts.push(curvesChart(study));
  if (ranked >= 2) charts.push(importanceChart(study), paretoChart(study));
  return charts;
}
