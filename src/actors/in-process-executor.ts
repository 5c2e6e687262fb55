// Trials in this process: each launched attempt runs on the TrialRunner concurrently with the others
// (the scheduler bounds how many). A runner that throws gives a failed trial, never a failed study.
import { failedOutcome, type Metrics, type RoundDecision, type TrialOutcome, type TrialRunner } from '../hpo/trial-runner.js';
import { LOCAL_WORKER, type TrialLaunch } from '../hpo/study.js';
import type { AttemptRef, SchedulerPort, TrialExecutor } from './trial-executor.js';

export class InProcessExecutor implements TrialExecutor {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(
    private readonly runner: TrialRunner,
    private readonly port: SchedulerPort,
  ) {}

  async launch(l: TrialLaunch): Promise<void> {
    if (this.closed) return;
    const ref: AttemptRef = { trialId: l.trialId, attempt: l.attempt, delivery: 1, worker: LOCAL_WORKER };
    const abort = new AbortController();
    const key = `${l.trialId}.${l.attempt}`;
    const curve: { round: number; metrics: Metrics }[] = [];
    const done = this.runner
      .run({
        ...l,
        signal: abort.signal,
        onRound: (round, metrics) => {
          curve.push({ round, metrics });
          // An aborted attempt stops waiting at once: the scheduler may be the one closing us.
          return this.closed ? 'prune' : untilAborted(this.port.round(ref, round, metrics), abort.signal);
        },
      })
      .catch((e: unknown): TrialOutcome => failedOutcome(e, curve, l.parent?.round ?? 0))
      .then((outcome) => {
        this.running.delete(key);
        if (!abort.signal.aborted && !this.closed) this.port.finished(ref, outcome);
      });
    this.running.set(key, { abort, done });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort(new Error('the study stopped'));
    await Promise.all(all.map((r) => r.done));
  }
}

function untilAborted(decision: Promise<RoundDecision>, signal: AbortSignal): Promise<RoundDecision> {
  if (signal.aborted) return Promise.resolve('prune');
  return Promise.race([
    decision,
    new Promise<RoundDecision>((resolve) => signal.addEventListener('abort', () => resolve('prune'), { once: true })),
  ]);
}
