// Validation-loss rank against score rank, one dot per complete trial: on the diagonal the loss is
// a faithful proxy for the score; the spread is the disagreement the correlations measure.
import type { TopLevelSpec } from 'vega-lite';
import { lossScoreAgreement, rankTrials } from '../hpo/ranking.js';
import type { RankCorrelation } from '../hpo/rank-stats.js';
import { type StudyData, studyLabel } from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';

/** "rho = 0.42 (p = 0.013, t)" */
export function formatCorrelation(symbol: string, c: RankCorrelation): string {
  if (Number.isNaN(c.value)) return `${symbol} undefined (n = ${c.n})`;
  const p = Number.isNaN(c.p) ? 'no test' : `p = ${c.p < 1e-4 ? c.p.toExponential(1) : c.p.toPrecision(2)}, ${c.method}`;
  return `${symbol} = ${c.value.toFixed(3)} (${p})`;
}

export function rankScatterChart(study: StudyData): Chart {
  const ranked = rankTrials(study);
  const a = lossScoreAgreement(study);
  const n = ranked.length;
  const values = ranked.map((r) => ({
    trial: r.trial.id,
    fidelity: r.trial.fidelity,
    valLossRank: r.valLossRank,
    scoreRank: r.scoreRank,
    valLoss: r.valLoss,
    score: r.score,
  }));
  const axis = (title: string) => ({ type: 'quantitative' as const, title, scale: { domain: [0, n + 1], nice: false } });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Validation-loss rank vs score rank',
      subtitle: [
        `${studyLabel(study)}, ${n} complete trials`,
        formatCorrelation('Spearman rho', a.spearman),
        formatCorrelation('Kendall tau-b', a.kendall),
      ],
    },
    config: CHART_CONFIG,
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: [{ a: 1 }, { a: Math.max(1, n) }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
        encoding: {
          x: { field: 'a', ...axis('rank by validation loss (1 = best)') },
          y: { field: 'a', ...axis('rank by score (1 = best)') },
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          x: { field: 'valLossRank', ...axis('rank by validation loss (1 = best)') },
          y: { field: 'scoreRank', ...axis('rank by score (1 = best)') },
          ...(new Set(values.map((v) => v.fidelity)).size > 1
            ? { color: { field: 'fidelity', type: 'ordinal' as const, title: 'fidelity (rounds)' } }
            : {}),
          tooltip: [{ field: 'trial' }, { field: 'valLoss', format: '.4g' }, { field: 'score', format: '.4g' }],
        },
      },
    ],
  };
  return {
    name: 'rank-scatter',
    title: 'Validation-loss rank vs score rank',
    description: 'One dot per complete trial; the dashed diagonal is perfect agreement. Ranks are 1 = best with ties averaged.',
    spec,
  };
}
