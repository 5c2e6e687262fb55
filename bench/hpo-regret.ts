// Normalised regret on the tabular test functions (REFERENCE.md: FedHPO-Bench regret): every strategy
// runs sequentially with a budget of `fraction` x the grid's budget (every config to the max round),
// over `seeds` seeds; per strategy the mean with its 95 % interval, the mean rank among strategies
// (per seed, ties averaged), and the p-value of "lower regret than random search".
import type { StrategyFactory } from '../src/hpo/strategy.js';
import { runTabular } from '../src/hpo/tabular-run.js';
import type { TabularProblem } from '../src/hpo/testfns.js';
import { type MeanInterval, meanInterval, pLower, ranks } from './hpo-stats.js';

export interface RegretRow {
  readonly problem: string;
  readonly strategy: string;
  readonly budgetRounds: number;
  readonly regret: MeanInterval;
  readonly meanRank: number;
  /** One-sided permutation p-value that this strategy's mean regret is below random search's. */
  readonly pBelowRandom: number | null;
  /** Mean trials that reached the maximum round, and mean trials started, per run. */
  readonly fullTrials: number;
  readonly trials: number;
  readonly seconds: number;
}

export function regretTable(
  problems: readonly TabularProblem[],
  strategies: Readonly<Record<string, StrategyFactory>>,
  seeds: number,
  fraction: number,
  onProgress: (msg: string) => void = () => {},
): RegretRow[] {
  const rows: RegretRow[] = [];
  for (const problem of problems) {
    const budgetRounds = Math.floor(fraction * problem.gridBudget);
    const perStrategy = Object.entries(strategies).map(([name, factory]) => {
      const t0 = performance.now();
      const runs = Array.from({ length: seeds }, (_, seed) => runTabular(factory, problem, { budgetRounds, seed }));
      const seconds = (performance.now() - t0) / 1000;
      onProgress(`${problem.name} ${name}: ${seconds.toFixed(1)} s`);
      return { name, runs, seconds };
    });
    const regrets = perStrategy.map((s) => s.runs.map((r) => r.regret));
    const rankSums = perStrategy.map(() => 0);
    for (let seed = 0; seed < seeds; seed++)
      ranks(regrets.map((r) => r[seed]!)).forEach((r, i) => {
        rankSums[i]! += r;
      });
    const random = perStrategy.findIndex((s) => s.name === 'random');
    perStrategy.forEach((s, i) => {
      rows.push({
        problem: problem.name,
        strategy: s.name,
        budgetRounds,
        regret: meanInterval(regrets[i]!),
        meanRank: rankSums[i]! / seeds,
        pBelowRandom: random >= 0 && random !== i ? pLower(regrets[i]!, regrets[random]!) : null,
        fullTrials: s.runs.reduce((a, r) => a + r.trials.filter((t) => t.fidelity === problem.fidelity.max).length, 0) / seeds,
        trials: s.runs.reduce((a, r) => a + r.trials.length, 0) / seeds,
        seconds: s.seconds,
      });
    });
  }
  return rows;
}
