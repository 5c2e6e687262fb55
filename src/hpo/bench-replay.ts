// `fedhpo bench replay`: strategies (built-in names or a user's module paths) replayed against a
// recorded table, seeds 0..n-1 at each budget fraction, through the tabular runner and regretTable.
// Only strategies that need no client-side work can be replayed: a table holds server-side results.
import { UserError } from '../engine/errors.js';
import { type BenchObjective, benchProblem } from './bench-problem.js';
import { readBenchTable } from './bench-table.js';
import { usesClientTasks } from './client-task.js';
import { createStrategy } from './plugin.js';
import { type RegretRow, regretTable } from './regret-table.js';
import { resolveStrategy } from './strategies/index.js';
import type { StrategyFactory } from './strategy.js';
import type { TabularSummary } from './testfns.js';

export interface ReplayOptions {
  readonly table: string;
  /** Built-in names or module paths (resolved against cwd), in the order to report them. */
  readonly strategies: readonly string[];
  readonly seeds: number;
  /** Budgets as fractions of the grid's budget (every config to the max round). */
  readonly fractions: readonly number[];
  readonly objective?: BenchObjective;
  readonly minRound?: number;
  readonly cwd?: string;
  readonly onProgress?: (msg: string) => void;
}

export interface ReplayResult {
  readonly table: {
    readonly file: string;
    readonly name: string;
    readonly configs: number;
    readonly maxRound: number;
    readonly minRound: number;
    readonly gridBudget: number;
    readonly objective: BenchObjective;
    readonly direction: 'minimize' | 'maximize';
    readonly best: number;
    readonly worst: number;
    readonly bestConfig: TabularSummary['bestConfig'];
  };
  readonly seeds: number;
  readonly rows: readonly RegretRow[];
}

export async function replayBenchTable(o: ReplayOptions): Promise<ReplayResult> {
  const table = await readBenchTable(o.table);
  const problem = benchProblem(table, {
    ...(o.objective ? { objective: o.objective } : {}),
    ...(o.minRound !== undefined ? { minRound: o.minRound } : {}),
  });
  const factories: Record<string, StrategyFactory> = {};
  for (const spec of o.strategies) {
    const { source, factory } = await resolveStrategy(spec, o.cwd);
    factories[spec] = (ctx) => {
      const strategy = createStrategy(factory, ctx, source);
      if (usesClientTasks(strategy))
        throw new UserError(
          `${source}: ${strategy.name} asks the clients for work (a client task), which a recorded table cannot answer; ` +
            'replay strategies that need no client-side work',
        );
      return strategy;
    };
  }
  const summary = problem.table();
  const objective = problem.objectives[0]!;
  return {
    table: {
      file: o.table,
      name: problem.name,
      configs: summary.configs.length,
      maxRound: problem.fidelity.max,
      minRound: problem.fidelity.min,
      gridBudget: problem.gridBudget,
      objective: objective.name as BenchObjective,
      direction: objective.direction,
      best: summary.best,
      worst: summary.worst,
      bestConfig: summary.bestConfig,
    },
    seeds: o.seeds,
    rows: regretTable([problem], factories, o.seeds, o.fractions, o.onProgress),
  };
}
