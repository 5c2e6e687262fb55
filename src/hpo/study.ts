// A study's decisions, journal first: every method that changes the study writes the event to the
// journal (numbered, in order), applies it to the StudyState and acts on it. Writes are group-committed
// (journal.ts): what is on disk after a crash is always a prefix of the events, and resume continues
// from any prefix. So an action needs its events on disk first only when it outlives this process or
// reports to someone outside it. The durability of each event:
// - study.started: on disk before create() returns (a journal without it cannot be resumed).
// - session.started, trial.interrupted (opening a session): on disk before create()/resume() returns.
// - trial.round: NOT waited for. The pruner's answer goes back at once and the line follows in the
//   next group commit. A crash before it is written loses an intermediate value of an unfinished trial,
//   which runs again on resume anyway. (A trial's result carries its whole curve.)
// - trials.asked, trial.started: in-process, NOT waited for before the launch: the trial dies with
//   this process, and a resume asks again from the strategy's last journaled state. On workers, on
//   disk before the launch: a JetStream message outlives this process and must name a journaled trial.
//   (A worker's trial.started / worker.lost are not waited for: the worker runs on regardless.)
// - trial.finished (a worker's result, or an abandoned trial): on disk before the result is reported:
//   the scheduler waits for durable() before it acks the result to the work queue, rewrites
//   summary.json / best.json, or calls onEvent. The strategy is told (and the next trial asked)
//   before: a crash loses the result, the told state and that ask together, and the trial runs again.
// - client-task.finished: on disk before the strategy is told (the clients' work is costly to redo).
// - session.stopped, study.finished: on disk before the run ends (the scheduler waits for durable()).
// "On disk" is fsync'd: it survives a power cut. A SIGKILL leaves every line already written, fsync'd or not.
// Used by one caller at a time — the SchedulerActor — which owns the timing (parallel trials,
// workers); this class owns what happens.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from './config-paths.js';
import { Journal, journalFileOf, readJournal } from './journal.js';
import type { EventOf, JournalEvent, NewJournalEvent } from './journal-events.js';
import type { Pruner, Strategy, Suggestion } from './strategy.js';
import { type ClientTaskReply, type ClientTaskRunner, usesClientTasks } from './client-task.js';
import { checkSuggestion, finiteOrNaN, guard, journaledResult, StrategyError } from './study-checks.js';
import { enqueuedConfig, fidelityRange, type StudyConfig, studyObjectives, studySpace } from './study-config.js';
import { StudyLock } from './study-lock.js';
import { loadPruner } from './pruners/index.js';
import { loadStrategy } from './strategies/index.js';
import { FINISHED, StudyState, type StudyTrial } from './study-state.js';
import { trialConfigOf } from './trial-config.js';
import { fedhpoVersion } from './version.js';
import type { Metrics, RoundDecision, TrialOutcome } from './trial-runner.js';

export { StrategyError } from './study-checks.js';

export type StudyMode = 'in-process' | 'workers';

/** What the scheduler hands a runner or the work queue to run one attempt of a trial. */
export interface TrialLaunch {
  readonly trialId: number;
  readonly attempt: number;
  readonly config: JsonObject;
  readonly fidelity: number;
  readonly parent?: { readonly trialId: number; readonly round: number; readonly checkpoint: string };
  readonly dir: string;
}

export interface StudyOptions {
  readonly mode: StudyMode;
  /** Overrides the config's `parallel` (the CLI's --workers). */
  readonly parallel?: number;
  /** Every event once it is on disk (in journal order; the state passed may already hold later events). */
  readonly onEvent?: (event: JournalEvent, state: StudyState) => void;
  readonly log?: (line: string) => void;
  /** Runs the client tasks of strategies that declare them (FTS, FLoRA) on the federation's clients. */
  readonly clientTasks?: ClientTaskRunner;
}

/** Where the worker identity of an in-process trial is recorded. */
export const LOCAL_WORKER = 'in-process';

export class Study {
  private readonly launched = new Set<number>();
  /** The strategy suggested nothing while nothing ran: it is out of ideas until a trial finishes. */
  private nothingToAsk = false;
  private closed = false;
  /** Settles once the last recorded event is on disk and reported to onEvent. */
  private lastReported: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly state: StudyState,
    private readonly journal: Journal,
    private readonly strategy: Strategy,
    private readonly pruner: Pruner | undefined,
    private readonly lock: StudyLock,
    private readonly opts: StudyOptions,
  ) {}

  /** Starts a new study in `dir` (refused when `dir` already holds one). */
  static async create(dir: string, config: StudyConfig, opts: StudyOptions): Promise<Study> {
    const journal = await Journal.create(dir);
    let lock: StudyLock | undefined;
    try {
      lock = await StudyLock.acquire(dir);
      const { strategy, pruner } = await loadPlugins(config);
      const started = { kind: 'study.started', study_id: randomBytes(6).toString('hex'), config, version: await fedhpoVersion() } as const;
      // study.started and session.started share one fsync: the study exists for resume once it returns.
      const first = journal.write(started).event as EventOf<'study.started'>;
      const study = new Study(dir, StudyState.fromStart(first), journal, strategy, pruner, lock, opts);
      study.beginSession();
      await study.durable();
      return study;
    } catch (e) {
      await journal.close();
      await lock?.release();
      throw e;
    }
  }

  /**
   * Continues the study in `dir`: replays its journal (dropping a torn last line), restores the strategy
   * from its last snapshot and tells it the trials that finished since, and marks trials that were
   * running in a process that is gone as interrupted (they run again as their next attempt).
   */
  static async resume(dir: string, opts: StudyOptions): Promise<Study> {
    await journalFileOf(dir); // before the lock: "no study here" rather than a failure to create its lock file
    const lock = await StudyLock.acquire(dir);
    try {
      const { events, torn } = await readJournal(dir, { repair: true });
      if (torn) opts.log?.(`journal: dropped a torn last line (line ${torn.line}, ${torn.bytes} bytes): the process died while writing it`);
      const state = StudyState.fromStart(events[0] as EventOf<'study.started'>);
      const { strategy, pruner } = await loadPlugins(state.config);
      const lastAsk = events.reduce((at, e) => (e.kind === 'trials.asked' ? e.seq : at), 0);
      for (const e of events.slice(1)) {
        state.apply(e);
        if (e.kind === 'trials.asked' && e.seq === lastAsk) guard(strategy, 'restore', () => strategy.restore(e.strategy_state));
        else if (e.kind === 'trial.finished' && e.seq > lastAsk)
          guard(strategy, 'tell', () => strategy.tell(state.record(state.trials[e.id]!), state.view()));
        else if (e.kind === 'client-task.finished' && e.seq > lastAsk && usesClientTasks(strategy)) {
          const request = { task: e.task, args: e.args as JsonObject };
          guard(strategy, 'tellClientTask', () => strategy.tellClientTask(request, e.replies.map(replyOf), state.view()));
        }
      }
      const study = new Study(dir, state, await Journal.reopen(dir, events), strategy, pruner, lock, opts);
      if (state.finished) return study;
      const previous = state.mode;
      study.beginSession();
      // Trials queued for workers survive a scheduler's death (JetStream keeps them); in-process ones died with it.
      if (!(previous === 'workers' && opts.mode === 'workers')) study.interruptUnfinished('interrupted: the study process stopped');
      await study.durable();
      return study;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  get config(): StudyConfig {
    return this.state.config;
  }

  get parallel(): number {
    return this.opts.parallel ?? this.config.parallel;
  }

  get strategyName(): string {
    return this.strategy.name;
  }

  /** The strategy declares client tasks (FTS, FLoRA): the study needs a ClientTaskRunner. */
  get usesClientTasks(): boolean {
    return usesClientTasks(this.strategy);
  }

  private clientTasks: ClientTaskRunner | undefined;

  /** Where the strategy's client tasks run (default: StudyOptions.clientTasks). */
  useClientTasks(runner: ClientTaskRunner): void {
    this.clientTasks = runner;
  }

  /**
   * Asks for new trials while slots are free and the budget allows, journals them, and returns every
   * attempt that should be running but is not yet launched in this session (new trials and re-runs).
   */
  async plan(): Promise<TrialLaunch[]> {
    if (this.state.finished || this.state.stopped) return [];
    for (let free = this.parallel - this.state.unfinished.length; free > 0 && !this.stopReason(); ) {
      const asked = await this.ask(free);
      if (!asked) break;
      free -= asked;
    }
    const launches: TrialLaunch[] = [];
    for (const t of this.state.unfinished) {
      if (this.launched.has(t.id)) continue;
      this.launched.add(t.id);
      if (this.opts.mode === 'in-process')
        this.record({ kind: 'trial.started', id: t.id, attempt: t.attempt, delivery: 1, worker: LOCAL_WORKER });
      launches.push(this.launchOf(t));
    }
    // A queued JetStream message outlives this process: the trial it names must be on disk first. An
    // in-process trial dies with the process, so it starts at once (its events follow in the next commit).
    if (this.opts.mode === 'workers' && launches.length) await this.durable();
    return launches;
  }

  /** Why no new trial may start (budget, strategy done or out of ideas), or undefined while one may. */
  stopReason(): string | undefined {
    const { budget } = this.config;
    const s = this.state;
    if (budget.trials !== undefined && s.trials.length >= budget.trials) return 'budget: trials';
    if (budget.rounds !== undefined && s.chargedRounds + s.committedRounds >= budget.rounds) return 'budget: rounds';
    if (budget.wall_time !== undefined && this.elapsedSeconds() >= budget.wall_time) return 'budget: wall_time';
    if (s.enqueuedAsked < this.config.enqueue.length) return undefined;
    if (guard(this.strategy, 'isDone', () => this.strategy.isDone(s.view()))) return 'strategy done';
    if (this.nothingToAsk) return 'strategy has nothing more to suggest';
    return undefined;
  }

  /** Nothing runs and nothing more may start. */
  get isComplete(): boolean {
    return this.state.unfinished.length === 0 && this.stopReason() !== undefined;
  }

  elapsedSeconds(): number {
    return this.state.elapsedSeconds + (this.state.session ? Math.max(0, Date.now() - this.state.lastEventAt) / 1000 : 0);
  }

  /** A worker began an attempt (or a later delivery of it: the earlier worker stopped heart-beating). Not waited for on disk. */
  started(id: number, attempt: number, delivery: number, worker: string): void {
    const t = this.state.trials[id];
    if (!t || FINISHED.has(t.status) || t.attempt !== attempt) return;
    if (t.status === 'running' && delivery <= t.delivery) return;
    if (t.status === 'running')
      this.record({ kind: 'worker.lost', id, attempt, delivery: t.delivery, worker: t.worker ?? '?', rounds_lost: t.curve.length });
    this.record({ kind: 'trial.started', id, attempt, delivery, worker });
  }

  /**
   * A round's metrics: journaled and judged by the pruner at once, without waiting for the line to be on
   * disk (see the top of this file). A round from a replaced attempt or delivery is told to stop.
   */
  round(id: number, attempt: number, delivery: number, worker: string, round: number, metrics: Metrics): RoundDecision {
    const t = this.state.trials[id];
    if (!t || FINISHED.has(t.status) || t.attempt !== attempt || delivery < t.delivery) return 'prune';
    this.started(id, attempt, delivery, worker);
    if (t.curve.some((p) => p.round >= round)) return 'continue'; // a repeated message
    this.record({ kind: 'trial.round', id, attempt, round, metrics: finiteOrNaN(metrics) });
    if (!this.pruner || round >= t.fidelity) return 'continue';
    const pruner = this.pruner;
    return guard(pruner, 'shouldPrune', () => pruner.shouldPrune(this.state.record(t), round, this.state.view())) ? 'prune' : 'continue';
  }

  /**
   * A result: journaled (once — a duplicate or a stale attempt is ignored, returning false) and told to
   * the strategy. A complete result without finite objectives becomes failed or diverged. The line is
   * not on disk yet when this returns: the caller waits for durable() before it reports the result.
   */
  finished(id: number, attempt: number, delivery: number, worker: string, outcome: TrialOutcome): boolean {
    const t = this.state.trials[id];
    if (!t || FINISHED.has(t.status) || t.attempt !== attempt || delivery < t.delivery) return false;
    this.started(id, attempt, delivery, worker);
    this.record({ kind: 'trial.finished', id, attempt, ...journaledResult(this.state.objectives, outcome), worker });
    this.told(t);
    return true;
  }

  /** JetStream gave up redelivering a trial whose workers kept dying: it fails, the study goes on (durable() before reporting it). */
  abandoned(id: number, deliveries: number): void {
    const t = this.state.trials[id];
    if (!t || FINISHED.has(t.status)) return;
    const reason = `lost its worker ${deliveries} times (workers.max_deliveries)`;
    this.record({
      kind: 'trial.finished',
      id,
      attempt: t.attempt,
      status: 'failed',
      reason,
      metrics: {},
      curve: [],
      rounds: 0,
      costs: {},
    });
    this.told(t);
  }

  /**
   * Stops this session: in-process attempts are interrupted (they run again on resume); queued work stays
   * with the workers. On disk once durable() resolves.
   */
  stop(reason: string): void {
    if (this.state.finished || this.state.stopped) return;
    if (this.opts.mode === 'in-process') this.interruptUnfinished(`interrupted: ${reason}`);
    this.record({ kind: 'session.stopped', reason });
  }

  /** Journals the end of the study (once); on disk once durable() resolves. */
  finish(): void {
    if (!this.state.finished) this.record({ kind: 'study.finished', reason: this.stopReason() ?? 'done' });
  }

  /**
   * Resolves once every event so far is on disk (and told to onEvent); rejects if a write failed. The
   * scheduler waits for it before anything leaves the process: a result's ack, summary.json, the end.
   */
  durable(): Promise<void> {
    return this.lastReported;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.journal.close();
    } finally {
      await this.lock.release();
    }
  }

  private beginSession(): void {
    this.record({
      kind: 'session.started',
      session: this.state.session + 1,
      mode: this.opts.mode,
      pid: process.pid,
      host: hostname(),
    });
  }

  private interruptUnfinished(reason: string): void {
    for (const t of this.state.unfinished) {
      this.launched.delete(t.id);
      this.record({ kind: 'trial.interrupted', id: t.id, attempt: t.attempt, reason, rounds_lost: t.curve.length });
    }
  }

  /** One ask (of the enqueued configs first, then the strategy); returns how many trials joined. */
  private async ask(free: number): Promise<number> {
    const s = this.state;
    const { budget, enqueue } = this.config;
    let n = Math.min(free, budget.trials !== undefined ? budget.trials - s.trials.length : free);
    if (budget.rounds !== undefined) n = Math.min(n, Math.ceil((budget.rounds - s.chargedRounds - s.committedRounds) / s.fidelity.max));
    if (n <= 0) return 0;
    if (s.enqueuedAsked >= enqueue.length && (await this.runClientTask())) {
      // The clients' local work is charged: the budget may be spent now.
      if (this.stopReason()) return 0;
    }
    let source: 'strategy' | 'enqueue' = 'enqueue';
    let suggestions: Suggestion[];
    if (s.enqueuedAsked < enqueue.length) {
      suggestions = enqueue
        .slice(s.enqueuedAsked, s.enqueuedAsked + n)
        .map((c) => ({ config: enqueuedConfig(c), fidelity: s.fidelity.max }));
    } else {
      source = 'strategy';
      suggestions = guard(this.strategy, 'ask', () => this.strategy.ask(s.view(), n));
      if (!Array.isArray(suggestions) || suggestions.length > n)
        throw new StrategyError(
          `strategy ${this.strategy.name}: ask(study, ${n}) returned ${Array.isArray(suggestions) ? suggestions.length : typeof suggestions} suggestions`,
        );
      if (!suggestions.length) {
        this.nothingToAsk = true;
        return 0;
      }
    }
    const trials = suggestions.map((sg, i) => checkSuggestion(this.state, this.strategy.name, sg, s.trials.length + i));
    const strategyState = guard(this.strategy, 'state', () => this.strategy.state());
    this.record({ kind: 'trials.asked', source, trials, strategy_state: strategyState });
    return trials.length;
  }

  /** Runs the client task the strategy asks for before its next ask, if any: journaled, then told. */
  private async runClientTask(): Promise<boolean> {
    const strategy = this.strategy;
    if (!usesClientTasks(strategy)) return false;
    const request = guard(strategy, 'clientTask', () => strategy.clientTask(this.state.view()));
    if (!request) return false;
    const runner = this.clientTasks ?? this.opts.clientTasks;
    if (!runner)
      throw new StrategyError(
        `strategy ${strategy.name} needs client task ${request.task}, but this study has no clients to run it (see client_tasks in the study config)`,
      );
    const replies = await runner.run(request);
    const clientRounds = replies.reduce((sum, r) => sum + r.clientRounds, 0);
    // The clients' work is done and costly to repeat: on disk before the strategy learns from it.
    this.record({
      kind: 'client-task.finished',
      task: request.task,
      args: request.args,
      replies: replies.map((r) => ({ client: r.client, result: r.result, local_steps: r.localSteps, client_rounds: r.clientRounds })),
      client_rounds: clientRounds,
      clients: replies.length,
    });
    await this.durable();
    this.opts.log?.(`client task ${request.task}: ${replies.length} client(s) replied, ${clientRounds} local client-rounds`);
    guard(strategy, 'tellClientTask', () => strategy.tellClientTask(request, replies, this.state.view()));
    return true;
  }

  private launchOf(t: StudyTrial): TrialLaunch {
    const parent = t.parent ? this.state.trials[t.parent.id] : undefined;
    return {
      trialId: t.id,
      attempt: t.attempt,
      config: trialConfigOf(this.config, t.config),
      fidelity: t.fidelity,
      ...(t.parent && parent?.checkpoint ? { parent: { trialId: t.parent.id, round: t.parent.round, checkpoint: parent.checkpoint } } : {}),
      dir: join(this.dir, 'trials', String(t.id)),
    };
  }

  private told(t: StudyTrial): void {
    this.nothingToAsk = false;
    this.launched.delete(t.id);
    guard(this.strategy, 'tell', () => this.strategy.tell(this.state.record(t), this.state.view()));
  }

  /**
   * Writes `event` to the journal and applies it to the state at once; onEvent hears of it once it is
   * on disk. Whether to wait for that is the caller's choice (see the top of this file): durable().
   */
  private record(event: NewJournalEvent): void {
    const { event: e, durable } = this.journal.write(event);
    this.state.apply(e);
    // One chain: events are reported in journal order, and a failed write (or onEvent) fails every later durable().
    this.lastReported = this.lastReported.then(() => durable).then(() => this.opts.onEvent?.(e, this.state));
    this.lastReported.catch(() => {}); // not every event is waited for; a failure surfaces in the next durable()
  }
}

function replyOf(r: EventOf<'client-task.finished'>['replies'][number]): ClientTaskReply {
  return { client: r.client, result: r.result, localSteps: r.local_steps, clientRounds: r.client_rounds };
}

async function loadPlugins(config: StudyConfig): Promise<{ strategy: Strategy; pruner: Pruner | undefined }> {
  const ctx = { space: studySpace(config), objectives: studyObjectives(config), fidelity: fidelityRange(config), seed: config.seed };
  // Module paths were made absolute when the config was loaded (resolvePluginPaths), so no cwd matters here.
  const strategy = await loadStrategy(config.strategy.name, { ...ctx, options: config.strategy.options });
  const pruner = config.pruner
    ? await loadPruner(config.pruner.name, { objectives: ctx.objectives, fidelity: ctx.fidelity, options: config.pruner.options })
    : undefined;
  return { strategy, pruner };
}
