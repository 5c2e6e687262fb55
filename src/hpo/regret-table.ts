// Normalised regret of strategies on grid problems (REFERENCE.md: FedHPO-Bench regret): every strategy
// runs sequentially with a budget of `fraction` x the grid's budget (every config to the max round),
// over seeds 0..seeds-1; per (problem, budget, strategy) the mean with its 95 % interval, the mean rank
// among the strategies (per seed, ties averaged), and the p-value of "lower regret than random search".
// Used by bench:hpo (test functions) and `fedhpo bench replay` (recorded tables).
import { averageRanks } from './rank-stats.js';
import { type MeanInterval, meanInterval, pLower } from './regret-stats.js';
import type { StrategyFactory } from './strategy.js';
import { runTabular } from './tabular-run.js';
import type { GridProblem } from './testfns.js';

export interface RegretRow {
  readonly problem: string;
  readonly strategy: string;
  /** The budget as a fraction of the grid's budget, and in rounds (floor of fraction x grid budget). */
  readonly fraction: number;
  readonly budgetRounds: number;
  readonly regret: MeanInterval;
  readonly meanRank: number;
  /** One-sided permutation p-value that this strategy's mean regret is below random search's. */
  readonly pBelowRandom: number | null;
  /** Mean trials that reached the maximum round, and mean trials started, per run. */
  readonly fullTrials: number;
  readonly trials: number;
  /** Mean rounds spent per run (at most budgetRounds). */
  readonly spentRounds: number;
  /** Wall time of all seeds of this strategy at this budget. */
  readonly seconds: number;
}

export function regretTable(
  problems: readonly GridProblem[],
  strategies: Readonly<Record<string, StrategyFactory>>,
  seeds: number,
  fractions: readonly number[],
  onProgress: (msg: string) => void = () => {},
): RegretRow[] {
  const rows: RegretRow[] = [];
  for (const problem of problems)
    for (const fraction of fractions) {
      const budgetRounds = Math.floor(fraction * problem.gridBudget);
      const perStrategy = Object.entries(strategies).map(([name, factory]) => {
        const t0 = performance.now();
        const runs = Array.from({ length: seeds }, (_, seed) => runTabular(factory, problem, { budgetRounds, seed }));
        const seconds = (performance.now() - t0) / 1000;
        onProgress(`${problem.name} ${name} @ ${fraction}: ${seconds.toFixed(1)} s`);
        return { name, runs, seconds };
      });
      const regrets = perStrategy.map((s) => s.runs.map((r) => r.regret));
      const rankSums = perStrategy.map(() => 0);
      for (let seed = 0; seed < seeds; seed++)
        averageRanks(regrets.map((r) => r[seed]!)).forEach((r, i) => {
          rankSums[i]! += r;
        });
      const random = perStrategy.findIndex((s) => s.name === 'random');
      const perRun = (s: (typeof perStrategy)[number], f: (r: (typeof s.runs)[number]) => number) =>
        s.runs.reduce((a, r) => a + f(r), 0) / seeds;
      perStrategy.forEach((s, i) => {
        rows.push({
          problem: problem.name,
          strategy: s.name,
          fraction,
          budgetRounds,
          regret: meanInterval(regrets[i]!),
          meanRank: rankSums[i]! / seeds,
          pBelowRandom: random >= 0 && random !== i ? pLower(regrets[i]!, regrets[random]!) : null,
          fullTrials: perRun(s, (r) => r.trials.filter((t) => t.fidelity === problem.fidelity.max).length),
          trials: perRun(s, (r) => r.trials.length),
          spentRounds: perRun(s, (r) => r.spentRounds),
          seconds: s.seconds,
        });
      });
    }
  return rows;
}
