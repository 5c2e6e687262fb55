// Parameter importance bars, for validation loss and score side by side (they need not agree).
import type { TopLevelSpec } from 'vega-lite';
import { IMPORTANCE_METHOD, paramImportance } from '../hpo/importance.js';
import { SCORE, type StudyData, studyLabel, VAL_LOSS } from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';

export function importanceChart(study: StudyData): Chart {
  const values = [VAL_LOSS, SCORE].flatMap((m) => paramImportance(study, m));
  const params = [...study.space.keys()];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Parameter importance', subtitle: `${studyLabel(study)}; method: ${IMPORTANCE_METHOD}` },
    config: CHART_CONFIG,
    width: 420,
    height: { step: 16 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'param', type: 'nominal', title: null, scale: { domain: params } },
      yOffset: { field: 'metric', type: 'nominal', scale: { domain: [VAL_LOSS, SCORE] } },
      x: { field: 'importance', type: 'quantitative', title: 'share of variance explained (eta²)', scale: { domain: [0, 1] } },
      color: { field: 'metric', type: 'nominal', title: 'metric', scale: { domain: [VAL_LOSS, SCORE] } },
      tooltip: [{ field: 'param' }, { field: 'metric' }, { field: 'importance', format: '.3f' }, { field: 'bins' }, { field: 'trials' }],
    },
  };
  return {
    name: 'importance',
    title: 'Parameter importance',
    description: `Method: ${IMPORTANCE_METHOD}. For each hyperparameter, the share of the metric's variance over complete trials explained by its binned marginal means (first-order functional ANOVA terms, no interactions).`,
    spec,
  };
}
