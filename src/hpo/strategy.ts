// The Strategy plug-in: how a study chooses what to try next. Pure with respect to I/O: a strategy
// sees the study (space, objectives, trials so far) and answers with suggestions; the scheduler runs
// them and tells the strategy each result. Randomness comes from the seed in its context, and
// state()/restore() carry everything it keeps as JSON, so a resumed study asks exactly what the
// uninterrupted one would have. A user's strategy is a module whose default export is a
// StrategyFactory (or a class taking a StrategyContext); `checkStrategyConformance` tests it.
import type { JsonValue } from '../engine/json.js';
import type { Config, SearchSpace } from './space.js';

/** A quantity the study optimizes, named as trials report it (`val_loss`, `score`, `bytes_sent` ...). */
export interface Objective {
  readonly name: string;
  readonly direction: 'minimize' | 'maximize';
}

export type TrialStatus = 'running' | 'complete' | 'failed' | 'diverged' | 'pruned';

/**
 * Where a continued trial starts: its parent trial and the round of the parent's checkpoint it
 * continues from (normally the round the parent reached: a complete parent's fidelity, a pruned
 * parent's last round). The child trains rounds round+1 .. its fidelity and is charged only those.
 */
export interface TrialParent {
  readonly id: number;
  readonly round: number;
}

/** One trial as the study knows it (the journal's record; the strategy's view of a result). */
export interface TrialRecord {
  readonly id: number;
  readonly config: Config;
  /** Rounds the trial was asked to reach (its fidelity), counted from round 0 of its lineage. */
  readonly fidelity: number;
  readonly parent?: TrialParent;
  readonly status: TrialStatus;
  /** Objective values in the study's objective order: for complete trials, and for pruned ones at the round they stopped. */
  readonly values?: readonly number[];
  /** The primary objective per round so far (what pruners and successive halving compare). */
  readonly curve?: readonly { readonly round: number; readonly value: number }[];
  /** Everything else the trial measured (score, bytes sent, seconds, ...). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Why a failed or diverged trial ended. */
  readonly reason?: string;
  /** Rounds actually trained by this trial (fidelity minus the parent's round): the budget it cost. */
  readonly rounds: number;
  /** The suggesting strategy's own tag (bracket, rung, ...), echoed back unchanged. */
  readonly meta?: JsonValue;
}

/** What a strategy asks for: a config at a fidelity (whole rounds), optionally continuing an earlier trial. */
export interface Suggestion {
  readonly config: Config;
  readonly fidelity: number;
  readonly parent?: TrialParent;
  readonly meta?: JsonValue;
}

/**
 * The study as a strategy sees it. `trials` holds every trial so far (running ones too), by id.
 * Contract: every suggestion an `ask` returns is a trial of the view the strategy sees next (the
 * scheduler registers it, `meta` echoed), so a strategy may derive its progress from the view and
 * keep in its state only what the view cannot tell (RNG position, cursors).
 */
export interface StudyView {
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly trials: readonly TrialRecord[];
  /** Rounds trained so far over all trials, and the study's limit in rounds (Infinity when unlimited). */
  readonly budget: { readonly spentRounds: number; readonly maxRounds: number };
}

/** Fidelity in federated rounds: the cheapest a strategy may ask for and the most that is meaningful. */
export interface FidelityRange {
  readonly min: number;
  readonly max: number;
}

/** What a strategy is built from. `options` are its own settings from the study config. */
export interface StrategyContext {
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly seed: number;
  readonly options: Readonly<Record<string, JsonValue>>;
}

export interface Strategy {
  /** Shown in logs, journals and reports. */
  readonly name: string;
  /** Accepts studies with several objectives (otherwise the study refuses to start). */
  readonly multiObjective: boolean;
  /**
   * Up to `n` suggestions for the study as it stands. Fewer (even none) means "nothing to start now":
   * e.g. successive halving waiting for a rung to fill. Never a config outside the space, and never a
   * config already tried at the same fidelity in a finite space.
   */
  ask(study: StudyView, n: number): Suggestion[];
  /** A trial ended (complete, failed, diverged or pruned). */
  tell(trial: TrialRecord, study: StudyView): void;
  /** Nothing more to suggest (grid exhausted, brackets done); the study also stops on its budget. */
  isDone(study: StudyView): boolean;
  state(): JsonValue;
  restore(state: JsonValue): void;
}

export type StrategyFactory = (ctx: StrategyContext) => Strategy;

/** Stops running trials early from their per-round curves; independent of the strategy (as Optuna separates them). */
export interface Pruner {
  readonly name: string;
  /** Whether `trial` (running, its curve up to `round`) should stop now, judged against the other trials. */
  shouldPrune(trial: TrialRecord, round: number, study: StudyView): boolean;
}

/** What a pruner is built from: the study's objectives and fidelity, and its own settings. */
export interface PrunerContext {
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly options: Readonly<Record<string, JsonValue>>;
}

export type PrunerFactory = (ctx: PrunerContext) => Pruner;

/** The last round a trial holds a checkpoint of: a complete trial's fidelity, a pruned trial's last curve round. */
export function reachedRound(t: TrialRecord): number | undefined {
  if (t.status === 'complete') return t.fidelity;
  if (t.status === 'pruned') return t.curve?.length ? t.curve[t.curve.length - 1]!.round : undefined;
  return undefined;
}

/** The objective values of `t` with every objective turned into "smaller is better". */
export function minimizedValues(objectives: readonly Objective[], t: TrialRecord): number[] | undefined {
  if (!t.values) return undefined;
  return objectives.map((o, i) => (o.direction === 'minimize' ? t.values![i]! : -t.values![i]!));
}
