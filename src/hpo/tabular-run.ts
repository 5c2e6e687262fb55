// Runs a strategy against a tabular problem, one trial at a time, until its budget in rounds is
// spent, and scores it with the FedHPO-Bench normalised regret (REFERENCE.md): a trial costs the rounds
// it actually ran (a promoted trial continues from its parent's round), the incumbent is the best
// max-fidelity value among trials that reached the max round within the budget, and a run without
// such a trial has regret 1. "Best" follows the first objective's direction (a recorded table may be
// replayed on its score, which is maximized).
import type { JsonValue } from '../engine/json.js';
import type { Strategy, StrategyFactory, StudyView, TrialRecord } from './strategy.js';
import type { GridProblem, SimulatedProblem } from './testfns.js';

export interface TabularRunOptions {
  readonly budgetRounds: number;
  readonly seed: number;
  readonly options?: Readonly<Record<string, JsonValue>>;
  /** Stop after this many trials as well (default: no limit). */
  readonly maxTrials?: number;
}

export interface SimulatedRun {
  readonly trials: readonly TrialRecord[];
  readonly spentRounds: number;
  /** The strategy as the run left it, and the study it saw last (to time one more ask). */
  readonly strategy: Strategy;
  readonly view: StudyView;
}

export interface TabularRunResult extends SimulatedRun {
  /** Best value at the maximum round, if any trial got there. */
  readonly incumbent: number | undefined;
  readonly regret: number;
}

export function normalizedRegret(problem: GridProblem, trials: readonly TrialRecord[]): { incumbent: number | undefined; regret: number } {
  const { best, worst } = problem.table();
  const sign = problem.objectives[0]?.direction === 'maximize' ? -1 : 1;
  let incumbent: number | undefined;
  for (const t of trials)
    if (t.status === 'complete' && t.fidelity === problem.fidelity.max && t.values) {
      const v = t.values[0]!;
      if (incumbent === undefined || sign * v < sign * incumbent) incumbent = v;
    }
  if (incumbent === undefined) return { incumbent, regret: 1 };
  // A table whose configs all tie has nothing to regret.
  return { incumbent, regret: worst === best ? 0 : (incumbent - best) / (worst - best) };
}

export function runTabular(factory: StrategyFactory, problem: GridProblem, opts: TabularRunOptions): TabularRunResult {
  const run = runSimulated(factory, problem, opts);
  return { ...run, ...normalizedRegret(problem, run.trials) };
}

/** A sequential study of `problem`: ask one, run it (its values from the problem), tell, until the budget or maxTrials. */
export function runSimulated(factory: StrategyFactory, problem: SimulatedProblem, opts: TabularRunOptions): SimulatedRun {
  const strategy = factory({
    space: problem.space,
    objectives: problem.objectives,
    fidelity: problem.fidelity,
    seed: opts.seed,
    options: opts.options ?? {},
  });
  const trials: TrialRecord[] = [];
  let spent = 0;
  const view = (): StudyView => ({
    space: problem.space,
    objectives: problem.objectives,
    fidelity: problem.fidelity,
    trials,
    budget: { spentRounds: spent, maxRounds: opts.budgetRounds },
  });
  while (trials.length < (opts.maxTrials ?? Number.POSITIVE_INFINITY)) {
    if (strategy.isDone(view())) break;
    const [s] = strategy.ask(view(), 1);
    // Nothing is running in a sequential run, so no suggestion means nothing more to do.
    if (!s) break;
    const from = s.parent?.round ?? 0;
    const cost = s.fidelity - from;
    if (spent + cost > opts.budgetRounds) break;
    const curve = Array.from({ length: s.fidelity }, (_, i) => ({ round: i + 1, value: problem.value(s.config, i + 1) }));
    const trial: TrialRecord = {
      id: trials.length,
      config: s.config,
      fidelity: s.fidelity,
      ...(s.parent ? { parent: s.parent } : {}),
      status: 'complete',
      values: [curve.at(-1)!.value],
      curve,
      rounds: cost,
      ...(s.meta !== undefined ? { meta: s.meta } : {}),
    };
    trials.push(trial);
    spent += cost;
    strategy.tell(trial, view());
  }
  return { trials, spentRounds: spent, strategy, view: view() };
}
