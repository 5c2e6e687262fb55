// The SchedulerActor: one nact actor owns a Study and handles its messages one at a time (nact awaits a
// handler's promise before the next message), so journal appends, strategy calls and launches never
// interleave. Executors reach it through a SchedulerPort: `round` is a query (with a timeout, as nact
// requires) answered with the pruning decision at once, the round's journal line following in the next
// group commit; results are dispatched. A result is on disk before it is reported (the work queue's
// ack, summary.json / best.json, onEvent), but the next trial is asked and launched while its
// line is being written, and the reports run after the fsync off the actor's path (other trials' rounds
// are answered meanwhile): no fsync and no output file lies between two trials. (Which event waits for
// the disk, and why: src/hpo/study.ts.)
import { dispatch, query, type Ref, spawn, start, stop } from 'nact';
import type { Study } from '../hpo/study.js';
import { FINISHED } from '../hpo/study-state.js';
import { type StudySummary, saveStudyOutputs, studyOutputsOf, studySummary } from '../hpo/study-outputs.js';
import type { Metrics, RoundDecision, TrialOutcome, TrialRunner } from '../hpo/trial-runner.js';
import type { AttemptRef, SchedulerPort, TrialExecutor } from './trial-executor.js';

export type SchedulerMsg =
  | { readonly type: 'plan' }
  | { readonly type: 'started'; readonly ref: AttemptRef }
  | {
      readonly type: 'round';
      readonly ref: AttemptRef;
      readonly round: number;
      readonly metrics: Metrics;
      readonly sender: Ref<RoundDecision>;
    }
  | {
      readonly type: 'finished';
      readonly ref: AttemptRef;
      readonly outcome: TrialOutcome;
      readonly settled?: (accepted: boolean, trialFinished: boolean) => void;
    }
  | { readonly type: 'abandoned'; readonly trialId: number; readonly deliveries: number; readonly settled?: () => void }
  | { readonly type: 'stop'; readonly reason: string }
  | { readonly type: 'status'; readonly sender: Ref<StudySummary> }
  /** A report after the disk failed (a journal write, summary.json): the study ends with the error. */
  | { readonly type: 'failed'; readonly error: Error };

export interface StudyRunResult {
  /** finished: budget spent or strategy done; stopped: asked to stop (resume continues it). */
  readonly state: 'finished' | 'stopped';
  readonly reason: string;
}

export interface SchedulerOptions {
  /** Builds the executor, given the port it reports through. */
  readonly executor: (port: SchedulerPort) => TrialExecutor;
  /** Exports the best trial's adapter to best/ at the end (its exportAdapter works after close()). */
  readonly runner?: TrialRunner;
  /** How long a runner waits for a round's decision before it continues anyway. */
  readonly roundTimeoutMs?: number;
  /**
   * Releases what `runner` holds (its base model): called at the end as soon as no trial runs, so the
   * release overlaps the last journal fsync, the outputs and best/'s export.
   */
  readonly releaseRunner?: () => Promise<void>;
}

interface SchedulerState {
  readonly study: Study;
  readonly executor: TrialExecutor;
  readonly runner: TrialRunner | undefined;
  readonly releaseRunner: (() => Promise<void>) | undefined;
  readonly settle: (r: StudyRunResult | Error) => void;
  ended: boolean;
  /** Reports of what is on disk (acks, summary.json, best.json), one after another, off the actor's path. */
  reporting: Promise<void>;
  readonly self: () => Ref<SchedulerMsg>;
}

export interface SchedulerHandle {
  readonly done: Promise<StudyRunResult>;
  /** Stops the study gracefully (Ctrl-C): running in-process attempts are interrupted and journaled so; resume continues. */
  stop(reason: string): void;
  status(timeoutMs?: number): Promise<StudySummary>;
}

/** Spawns a SchedulerActor for `study` and starts it; `done` settles when the study finishes, stops or fails. */
export function runScheduler(study: Study, opts: SchedulerOptions): SchedulerHandle {
  const system = start();
  let settle!: (r: StudyRunResult | Error) => void;
  const done = new Promise<StudyRunResult>((resolve, reject) => {
    settle = (r) => (r instanceof Error ? reject(r) : resolve(r));
  });
  let ref!: Ref<SchedulerMsg>;
  const port = schedulerPort(() => ref, opts.roundTimeoutMs ?? 120_000);
  const executor = opts.executor(port);
  const initialState: SchedulerState = {
    study,
    executor,
    runner: opts.runner,
    releaseRunner: opts.releaseRunner,
    settle,
    ended: false,
    reporting: Promise.resolve(),
    self: () => ref,
  };
  ref = spawn(system, handle, 'scheduler', { initialState });
  dispatch(ref, { type: 'plan' });
  void done.then(
    () => stop(system),
    () => stop(system),
  );
  return {
    done,
    stop: (reason) => dispatch(ref, { type: 'stop', reason }),
    status: (timeoutMs = 10_000) => query(ref, (sender: Ref<StudySummary>): SchedulerMsg => ({ type: 'status', sender }), timeoutMs),
  };
}

function schedulerPort(ref: () => Ref<SchedulerMsg>, roundTimeoutMs: number): SchedulerPort {
  return {
    started: (r) => dispatch(ref(), { type: 'started', ref: r }),
    round: (r, round, metrics) =>
      query(ref(), (sender: Ref<RoundDecision>): SchedulerMsg => ({ type: 'round', ref: r, round, metrics, sender }), roundTimeoutMs).catch(
        (): RoundDecision => 'continue', // a slow or stopped scheduler never stalls a trial
      ),
    finished: (r, outcome, settled) => dispatch(ref(), { type: 'finished', ref: r, outcome, ...(settled ? { settled } : {}) }),
    abandoned: (trialId, deliveries, settled) =>
      dispatch(ref(), { type: 'abandoned', trialId, deliveries, ...(settled ? { settled } : {}) }),
  };
}

/** The actor's handler: a stateful nact handler must return its state. */
async function handle(s: SchedulerState, msg: SchedulerMsg): Promise<SchedulerState> {
  if (s.ended) {
    if (msg.type === 'round') dispatch(msg.sender, 'prune');
    if (msg.type === 'status') dispatch(msg.sender, studySummary(s.study.state));
    return s;
  }
  try {
    await step(s, msg);
  } catch (e) {
    await end(s, e instanceof Error ? e : new Error(String(e)));
  }
  return s;
}

async function step(s: SchedulerState, msg: SchedulerMsg): Promise<void> {
  const { study } = s;
  switch (msg.type) {
    case 'plan':
      break;
    case 'started':
      study.started(msg.ref.trialId, msg.ref.attempt, msg.ref.delivery, msg.ref.worker);
      return;
    case 'round': {
      const r = msg.ref;
      dispatch(msg.sender, study.round(r.trialId, r.attempt, r.delivery, r.worker, msg.round, msg.metrics));
      return;
    }
    case 'finished': {
      const r = msg.ref;
      const accepted = study.finished(r.trialId, r.attempt, r.delivery, r.worker, msg.outcome);
      const status = study.state.trials[r.trialId]?.status;
      const trialFinished = status !== undefined && FINISHED.has(status);
      // The next trial starts now; the result is reported once on disk (a duplicate too: the result it repeats may still be on its way).
      await launchNext(s);
      whenDurable(s, accepted, () => msg.settled?.(accepted, trialFinished));
      break;
    }
    case 'abandoned':
      study.abandoned(msg.trialId, msg.deliveries);
      await launchNext(s);
      whenDurable(s, true, () => msg.settled?.());
      break;
    case 'stop':
      study.stop(msg.reason);
      await end(s, { state: 'stopped', reason: msg.reason });
      return;
    case 'status':
      dispatch(msg.sender, studySummary(study.state));
      return;
    case 'failed':
      throw msg.error;
  }
  await launchNext(s);
  if (study.isComplete) {
    study.finish();
    await end(s, { state: 'finished', reason: study.state.finished?.reason ?? 'done' });
  }
}

/** Asks for and launches what may run now (Study.plan waits for the disk when the launch outlives this process). */
async function launchNext(s: SchedulerState): Promise<void> {
  for (const l of await s.study.plan()) await s.executor.launch(l);
}

/**
 * Once every event so far is on disk, and after the reports before it: `report`, then (with `outputs`)
 * summary.json and best.json as the study stands now. Off the actor's path: the actor goes on
 * answering rounds meanwhile; a failure comes back to it as a message and ends the study.
 */
function whenDurable(s: SchedulerState, outputs: boolean, report: () => void): void {
  const durable = s.study.durable();
  // Computed now: the state moves on while the journal is written, and later events are not on disk yet.
  const out = outputs ? studyOutputsOf(s.study.state) : undefined;
  s.reporting = s.reporting
    .then(() => durable)
    .then(async () => {
      report();
      // At the end (the study finished or ended meanwhile), end() writes the final outputs (and best/) itself.
      if (out && !s.ended && !s.study.state.finished) await saveStudyOutputs(s.study.dir, out, undefined);
    })
    .catch((e: unknown) => dispatch(s.self(), { type: 'failed', error: e instanceof Error ? e : new Error(String(e)) }));
}

/** Ends the run once: closes the executor, writes the outputs (with the best adapter when finished), closes the study. */
async function end(s: SchedulerState, result: StudyRunResult | Error): Promise<void> {
  if (s.ended) return;
  s.ended = true;
  let outcome: StudyRunResult | Error = result;
  const failed = (e: unknown): void => {
    if (!(outcome instanceof Error)) outcome = e instanceof Error ? e : new Error(String(e));
  };
  let released: Promise<void> | undefined;
  try {
    await s.executor.close();
    // No trial runs any more: the runner lets go of its model while the last lines, the outputs and best/ are written.
    released = s.releaseRunner?.();
    await s.reporting;
    // The outputs report the journal: every event on disk first (this also surfaces a failed group commit).
    await s.study.durable();
    if (!(result instanceof Error))
      await saveStudyOutputs(s.study.dir, studyOutputsOf(s.study.state), result.state === 'finished' ? s.runner : undefined);
  } catch (e) {
    failed(e);
  }
  try {
    await (released ?? s.releaseRunner?.());
  } catch (e) {
    failed(e);
  }
  try {
    await s.study.close();
  } catch (e) {
    failed(e);
  }
  s.settle(outcome);
}
