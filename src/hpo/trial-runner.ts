// The TrialRunner: how one trial is trained and measured. The study machinery (scheduler, workers)
// only ever talks to this interface; the synthetic runner (a cheap deterministic objective for tests
// and benches) and the federated LoRA runner implement it. A runner reports every round through
// `onRound` and stops early when told to prune; it never throws for a bad trial (a failure is an
// outcome), but the scheduler treats a throw as a failed trial all the same.
import type { JsonObject } from './config-paths.js';

export type RoundDecision = 'continue' | 'prune';

/** A metric per name (val_loss, score, bytes_sent ...). */
export type Metrics = Readonly<Record<string, number>>;

export interface TrialRequest {
  readonly trialId: number;
  /** 1 for the first run of a trial; a re-run after an interruption counts up. */
  readonly attempt: number;
  /** The full trial config: the study's base trial config with fixed values and hyperparameters applied by dotted path. */
  readonly config: JsonObject;
  /** The round to reach, counted from round 0 of the trial's lineage (a continued trial starts at its parent's round). */
  readonly fidelity: number;
  /** Continue from an earlier trial's checkpoint instead of starting at round 0. */
  readonly parent?: { readonly trialId: number; readonly round: number; readonly checkpoint: string };
  /** A directory of the trial's own (checkpoints, logs); created by the runner when it needs it. */
  readonly dir: string;
  /** Called after every round with that round's metrics; 'prune' asks the runner to stop now (status pruned). */
  onRound(round: number, metrics: Metrics): RoundDecision | Promise<RoundDecision>;
  /** Aborted when the study stops: end soon, the outcome is ignored. */
  readonly signal: AbortSignal;
}

export type TrialOutcomeStatus = 'complete' | 'failed' | 'diverged' | 'pruned';

export interface TrialOutcome {
  readonly status: TrialOutcomeStatus;
  /** Why a failed, diverged or pruned trial ended. */
  readonly reason?: string;
  /** Final measurements: the objectives (val_loss, score, bytes_sent ...) and anything else worth keeping. */
  readonly metrics: Metrics;
  /** Every round's metrics, in order. */
  readonly curve: readonly { readonly round: number; readonly metrics: Metrics }[];
  /** Rounds trained by this run (fidelity minus the parent's round, fewer when it stopped early): the budget it cost. */
  readonly rounds: number;
  /** Costs: client_rounds, seconds, bytes_sent, bytes_received, ... */
  readonly costs: Metrics;
  /** Where a later trial can continue from (a path or an id the same runner understands). */
  readonly checkpoint?: string;
}

export interface TrialRunner {
  /** Shown in logs and summaries. */
  readonly name: string;
  run(request: TrialRequest): Promise<TrialOutcome>;
  /**
   * Writes the adapter of `checkpoint` to `dir` (PEFT layout); returns the files written. Reads only the
   * checkpoint (and its base model's config), so it works after close(): a study exports best/ while
   * its runner releases the base model.
   */
  exportAdapter(checkpoint: string, dir: string): Promise<string[]>;
  close?(): Promise<void>;
}

/** An outcome for a run that threw: failed, with the error's message as the reason. */
export function failedOutcome(error: unknown, curve: TrialOutcome['curve'] = [], parentRound = 0): TrialOutcome {
  const reason = error instanceof Error ? error.message : String(error);
  const last = curve.at(-1);
  return {
    status: 'failed',
    reason: reason || 'failed',
    metrics: last?.metrics ?? {},
    curve,
    rounds: last ? last.round - parentRound : 0,
    costs: {},
  };
}
