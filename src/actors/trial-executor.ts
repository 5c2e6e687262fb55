// Where a study's trials run: in this process (InProcessExecutor) or on trial workers over NATS
// JetStream (WorkQueueExecutor). An executor launches attempts the scheduler planned and reports back
// through a SchedulerPort; it never touches the journal — the scheduler is its only writer.
import type { TrialLaunch } from '../hpo/study.js';
import type { Metrics, RoundDecision, TrialOutcome } from '../hpo/trial-runner.js';

/** Which run of a trial a report is about: the attempt, its delivery (JetStream redeliveries count up), and who ran it. */
export interface AttemptRef {
  readonly trialId: number;
  readonly attempt: number;
  readonly delivery: number;
  readonly worker: string;
}

/** How an executor talks to the scheduler. */
export interface SchedulerPort {
  started(ref: AttemptRef): void;
  /**
   * Resolves with the scheduler's decision at once (or 'continue' if it does not answer in time): the
   * round's journal line follows in the next group commit, lost in a crash only with its unfinished trial.
   */
  round(ref: AttemptRef, round: number, metrics: Metrics): Promise<RoundDecision>;
  /**
   * `settled` runs once the result is journaled on disk (accepted) or found to be a duplicate or stale (not
   * accepted); `trialFinished` says whether the trial now has a journaled result (from this report or an earlier one).
   */
  finished(ref: AttemptRef, outcome: TrialOutcome, settled?: (accepted: boolean, trialFinished: boolean) => void): void;
  /** The work queue gave up on a trial (its workers kept dying). */
  abandoned(trialId: number, deliveries: number, settled?: () => void): void;
}

export interface TrialExecutor {
  /** Starts (or queues) one attempt; resolves once it is handed over, not when it ends. */
  launch(launch: TrialLaunch): Promise<void>;
  /** Stops launching and reporting; in-process attempts are aborted. */
  close(): Promise<void>;
}
