// A study's state as its journal describes it: built only by applying journal events, in order, live
// (the scheduler applies each event after it is on disk) and on replay (resume, status, export), so a
// replayed study is exactly the one that was running. Inconsistent events (a trial finished twice, an
// event for an unknown trial) are refused, naming the line.
import type { JsonValue } from '../engine/json.js';
import { JournalError } from './journal.js';
import type { CurvePoint, EventOf, JournalEvent } from './journal-events.js';
import type { Config, SearchSpace } from './space.js';
import type { FidelityRange, Objective, StudyView, TrialParent, TrialRecord } from './strategy.js';
import { fidelityRange, parseStudyConfig, type StudyConfig, studyObjectives, studySpace } from './study-config.js';

export type TrialPhase = 'queued' | 'running' | 'complete' | 'failed' | 'diverged' | 'pruned';

export interface StudyTrial {
  readonly id: number;
  readonly config: Config;
  readonly fidelity: number;
  readonly parent?: TrialParent;
  readonly meta?: JsonValue;
  readonly source: 'strategy' | 'enqueue';
  status: TrialPhase;
  /** The current attempt (the last one once finished). */
  attempt: number;
  /** The current JetStream delivery of the attempt (0 until it starts). */
  delivery: number;
  worker?: string;
  /** Rounds of the current attempt while it runs; the final curve once finished. */
  curve: CurvePoint[];
  values?: number[];
  metrics?: Record<string, number>;
  reason?: string;
  /** Rounds trained by the finished trial: what it cost the budget (0 until it finishes). */
  rounds: number;
  costs?: Record<string, number>;
  checkpoint?: string;
  /** Rounds trained by attempts or deliveries that were lost (not counted in the budget). */
  lostRounds: number;
  readonly askedAt: string;
  finishedAt?: string;
}

export const FINISHED: ReadonlySet<TrialPhase> = new Set(['complete', 'failed', 'diverged', 'pruned']);

export class StudyState {
  readonly studyId: string;
  readonly config: StudyConfig;
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly trials: StudyTrial[] = [];
  enqueuedAsked = 0;
  spentRounds = 0;
  /** Clients' local work for client tasks (FTS, FLoRA): in client-rounds, and charged as rounds (client-rounds ÷ clients). */
  localClientRounds = 0;
  localRounds = 0;
  lostRounds = 0;
  session = 0;
  /** How the current (or last) session ran its trials. */
  mode: 'in-process' | 'workers' | undefined;
  /** The last `trials.asked` event: its line and the strategy state in it. */
  lastAsk: { seq: number; strategyState: JsonValue } | undefined;
  finished: { reason: string } | undefined;
  stopped: { reason: string } | undefined;
  private sessionSeconds = 0;
  lastEventAt = 0;

  private constructor(first: EventOf<'study.started'>, file: string) {
    this.studyId = first.study_id;
    this.config = parseStudyConfig(first.config, `${file} line 1 (study config)`);
    this.space = studySpace(this.config);
    this.objectives = studyObjectives(this.config);
    this.fidelity = fidelityRange(this.config);
    this.lastEventAt = Date.parse(first.t);
  }

  /** The state after `events` (the first must be study.started). */
  static replay(events: readonly JournalEvent[], file = 'journal'): StudyState {
    const first = events[0];
    if (first?.kind !== 'study.started') throw new JournalError(`${file} line 1: a journal starts with study.started`);
    const state = new StudyState(first, file);
    for (const e of events.slice(1)) state.apply(e, file);
    return state;
  }

  static fromStart(first: EventOf<'study.started'>): StudyState {
    return new StudyState(first, 'journal');
  }

  apply(e: JournalEvent, file = 'journal'): void {
    const at = Date.parse(e.t);
    // Time between a session's events counts; the gap before a session starts (a crash, a pause) does not.
    if (this.session && e.kind !== 'session.started') this.sessionSeconds += Math.max(0, at - this.lastEventAt) / 1000;
    this.lastEventAt = at;
    const fail = (msg: string): never => {
      throw new JournalError(`${file} line ${e.seq}: ${msg}`);
    };
    const trial = (id: number, attempt?: number): StudyTrial => {
      const t = this.trials[id] ?? fail(`${e.kind} for unknown trial ${id}`);
      if (FINISHED.has(t.status)) fail(`${e.kind} for trial ${id}, which already finished`);
      if (attempt !== undefined && attempt !== t.attempt)
        fail(`${e.kind} for attempt ${attempt} of trial ${id}, whose attempt is ${t.attempt}`);
      return t;
    };
    switch (e.kind) {
      case 'study.started':
        fail('a second study.started');
        return;
      case 'session.started':
        this.session = e.session;
        this.mode = e.mode;
        this.stopped = undefined;
        return;
      case 'trials.asked':
        for (const a of e.trials) {
          if (a.id !== this.trials.length) fail(`trial ${a.id} asked out of order (want ${this.trials.length})`);
          this.trials.push({
            id: a.id,
            config: a.config,
            fidelity: a.fidelity,
            ...(a.parent ? { parent: a.parent } : {}),
            ...(a.meta !== undefined ? { meta: a.meta } : {}),
            source: e.source,
            status: 'queued',
            attempt: 1,
            delivery: 0,
            curve: [],
            rounds: 0,
            lostRounds: 0,
            askedAt: e.t,
          });
        }
        if (e.source === 'enqueue') this.enqueuedAsked += e.trials.length;
        this.lastAsk = { seq: e.seq, strategyState: e.strategy_state };
        return;
      case 'trial.started': {
        const t = trial(e.id, e.attempt);
        t.status = 'running';
        t.delivery = e.delivery;
        t.worker = e.worker;
        t.curve = [];
        return;
      }
      case 'trial.round': {
        const t = trial(e.id, e.attempt);
        if (t.status !== 'running') fail(`round of trial ${e.id}, which is not running`);
        t.curve.push({ round: e.round, metrics: e.metrics });
        return;
      }
      case 'trial.finished': {
        const t = trial(e.id, e.attempt);
        t.status = e.status;
        if (e.reason !== undefined) t.reason = e.reason;
        if (e.values) t.values = e.values;
        t.metrics = e.metrics;
        t.curve = e.curve;
        t.rounds = e.rounds;
        t.costs = e.costs;
        if (e.checkpoint !== undefined) t.checkpoint = e.checkpoint;
        if (e.worker !== undefined) t.worker = e.worker;
        t.finishedAt = e.t;
        this.spentRounds += e.rounds;
        return;
      }
      case 'trial.interrupted': {
        const t = trial(e.id, e.attempt);
        t.status = 'queued';
        t.attempt += 1;
        t.delivery = 0;
        t.curve = [];
        t.lostRounds += e.rounds_lost;
        this.lostRounds += e.rounds_lost;
        return;
      }
      case 'worker.lost': {
        const t = trial(e.id, e.attempt);
        t.lostRounds += e.rounds_lost;
        this.lostRounds += e.rounds_lost;
        t.curve = [];
        return;
      }
      case 'client-task.finished':
        this.localClientRounds += e.client_rounds;
        this.localRounds += e.clients ? e.client_rounds / e.clients : 0;
        return;
      case 'session.stopped':
        this.stopped = { reason: e.reason };
        return;
      case 'study.finished':
        this.finished = { reason: e.reason };
        return;
    }
  }

  /** Wall time the study has run, summed over sessions (up to its last event). */
  get elapsedSeconds(): number {
    return this.sessionSeconds;
  }

  /** Trials asked and not finished (queued for a runner or running). */
  get unfinished(): StudyTrial[] {
    return this.trials.filter((t) => !FINISHED.has(t.status));
  }

  /** What the budget has paid: rounds trained by trials plus the clients' local work in rounds. */
  get chargedRounds(): number {
    return this.spentRounds + this.localRounds;
  }

  /** Rounds that unfinished trials will cost when they complete. */
  get committedRounds(): number {
    return this.unfinished.reduce((sum, t) => sum + t.fidelity - (t.parent?.round ?? 0), 0);
  }

  countByStatus(): Record<TrialPhase, number> {
    const counts: Record<TrialPhase, number> = { queued: 0, running: 0, complete: 0, failed: 0, diverged: 0, pruned: 0 };
    for (const t of this.trials) counts[t.status]++;
    return counts;
  }

  /** A trial as strategies and pruners see it (queued counts as running). */
  record(t: StudyTrial): TrialRecord {
    const primary = this.objectives[0]!.name;
    const curve = t.curve.filter((p) => primary in p.metrics).map((p) => ({ round: p.round, value: p.metrics[primary]! }));
    return {
      id: t.id,
      config: t.config,
      fidelity: t.fidelity,
      ...(t.parent ? { parent: t.parent } : {}),
      status: FINISHED.has(t.status) ? (t.status as TrialRecord['status']) : 'running',
      ...(t.values ? { values: t.values } : {}),
      curve,
      ...(t.metrics ? { metrics: { ...t.metrics, ...t.costs } } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      rounds: t.rounds,
      ...(t.meta !== undefined ? { meta: t.meta } : {}),
    };
  }

  view(): StudyView {
    return {
      space: this.space,
      objectives: this.objectives,
      fidelity: this.fidelity,
      trials: this.trials.map((t) => this.record(t)),
      budget: { spentRounds: this.chargedRounds, maxRounds: this.config.budget.rounds ?? Number.POSITIVE_INFINITY },
    };
  }
}
