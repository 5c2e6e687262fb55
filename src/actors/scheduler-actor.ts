// The SchedulerActor: one nact actor owns a Study and handles its messages one at a time (nact awaits a
// handler's promise before the next message), so journal appends, strategy calls and launches never
// interleave. Executors reach it through a SchedulerPort: `round` is a query (with a timeout, as nact
// requires) answered with the pruning decision once the round is journaled; results are dispatched.
import { dispatch, query, type Ref, spawn, start, stop } from 'nact';
import type { Study } from '../hpo/study.js';
import { FINISHED } from '../hpo/study-state.js';
import { type StudySummary, studySummary, writeStudyOutputs } from '../hpo/study-outputs.js';
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
  | { readonly type: 'status'; readonly sender: Ref<StudySummary> };

export interface StudyRunResult {
  /** finished: budget spent or strategy done; stopped: asked to stop (resume continues it). */
  readonly state: 'finished' | 'stopped';
  readonly reason: string;
}

export interface SchedulerOptions {
  /** Builds the executor, given the port it reports through. */
  readonly executor: (port: SchedulerPort) => TrialExecutor;
  /** Exports the best trial's adapter at the end (best/). */
  readonly runner?: TrialRunner;
  /** How long a runner waits for a round's decision before it continues anyway. */
  readonly roundTimeoutMs?: number;
}

interface SchedulerState {
  readonly study: Study;
  readonly executor: TrialExecutor;
  readonly runner: TrialRunner | undefined;
  readonly settle: (r: StudyRunResult | Error) => void;
  ended: boolean;
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
  ref = spawn(system, handle, 'scheduler', { initialState: { study, executor, runner: opts.runner, settle, ended: false } });
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
      await study.started(msg.ref.trialId, msg.ref.attempt, msg.ref.delivery, msg.ref.worker);
      return;
    case 'round': {
      const r = msg.ref;
      dispatch(msg.sender, await study.round(r.trialId, r.attempt, r.delivery, r.worker, msg.round, msg.metrics));
      return;
    }
    case 'finished': {
      const r = msg.ref;
      const accepted = await study.finished(r.trialId, r.attempt, r.delivery, r.worker, msg.outcome);
      const status = study.state.trials[r.trialId]?.status;
      msg.settled?.(accepted, status !== undefined && FINISHED.has(status));
      if (accepted) await writeStudyOutputs(study.dir, study.state, undefined);
      break;
    }
    case 'abandoned':
      await study.abandoned(msg.trialId, msg.deliveries);
      msg.settled?.();
      break;
    case 'stop':
      await study.stop(msg.reason);
      await end(s, { state: 'stopped', reason: msg.reason });
      return;
    case 'status':
      dispatch(msg.sender, studySummary(study.state));
      return;
  }
  for (const l of await study.plan()) await s.executor.launch(l);
  if (study.isComplete) {
    await study.finish();
    await end(s, { state: 'finished', reason: study.state.finished?.reason ?? 'done' });
  }
}

/** Ends the run once: closes the executor, writes the outputs (with the best adapter when finished), closes the study. */
async function end(s: SchedulerState, result: StudyRunResult | Error): Promise<void> {
  if (s.ended) return;
  s.ended = true;
  let outcome: StudyRunResult | Error = result;
  try {
    await s.executor.close();
    if (!(result instanceof Error)) await writeStudyOutputs(s.study.dir, s.study.state, result.state === 'finished' ? s.runner : undefined);
  } catch (e) {
    if (!(result instanceof Error)) outcome = e instanceof Error ? e : new Error(String(e));
  }
  try {
    await s.study.close();
  } catch (e) {
    if (!(outcome instanceof Error)) outcome = e instanceof Error ? e : new Error(String(e));
  }
  s.settle(outcome);
}
