// Regret vs budget on a recorded table (fedhpo bench replay --plot): per strategy, the mean normalised
// regret over seeds at each budget with its 95 % interval as a band, as FedHPO-Bench compares optimizers.
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../engine/errors.js';
import type { RegretRow } from '../hpo/regret-table.js';
import { CHART_CONFIG, type Chart } from './chart.js';

export function regretBudgetChart(rows: readonly RegretRow[], subtitle: string): Chart {
  if (!rows.length) throw new UserError('regret plot: nothing was replayed');
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const values = rows.map((r) => ({
    strategy: r.strategy,
    fraction: r.fraction,
    budget: r.budgetRounds,
    regret: r.regret.mean,
    // The interval may dip below 0 or above 1 (t-interval of a bounded mean); the band is clipped to [0, 1].
    low: Math.max(0, r.regret.low),
    high: Math.min(1, r.regret.high),
    rank: r.meanRank,
  }));
  const x = {
    field: 'fraction',
    type: 'quantitative' as const,
    title: 'budget (fraction of the grid budget: every config to the max round)',
  };
  const color = {
    field: 'strategy',
    type: 'nominal' as const,
    title: 'strategy',
    scale: { domain: strategies },
    legend: { symbolOpacity: 1 },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Normalised regret vs budget (mean, 95 % interval)', subtitle },
    config: CHART_CONFIG,
    width: 520,
    height: 300,
    data: { values },
    encoding: { x, color },
    layer: [
      {
        mark: { type: 'errorband', opacity: 0.18 },
        encoding: { y: { field: 'low', type: 'quantitative', title: 'normalised regret' }, y2: { field: 'high' } },
      },
      {
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          y: { field: 'regret', type: 'quantitative', title: 'normalised regret', scale: { domain: [0, 1] } },
          tooltip: [
            { field: 'strategy' },
            { field: 'budget', title: 'rounds' },
            { field: 'regret', format: '.4f' },
            { field: 'rank', title: 'mean rank', format: '.2f' },
          ],
        },
      },
    ],
  };
  return {
    name: 'regret-budget',
    title: 'Regret vs budget',
    description:
      'Mean normalised regret over seeds (0 = the best config of the table at the max round, 1 = the worst, or no trial reached the max round) against the budget in rounds as a fraction of the grid budget.',
    spec,
  };
}
