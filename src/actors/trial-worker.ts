// A trial worker (`fedhpo worker --nats URL`): pulls trials of every open study (or of the studies it is
// given) from their work queues, runs each with the TrialRunner the study's config names, heart-beats
// while it runs (in-progress acks every ack_wait / 3), reports rounds and publishes the result. It never
// acks: the scheduler removes the trial once the result is journaled (see work-queue.ts).
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { nuid } from '@nats-io/transport-node';
import { parseStudyConfig, type StudyConfig } from '../hpo/study-config.js';
import { failedOutcome, type Metrics, type RoundDecision, type TrialOutcome, type TrialRunner } from '../hpo/trial-runner.js';
import type { NatsTransport } from './transport-nats.js';
import {
  decodeMessage,
  encodeMessage,
  type ResultMessage,
  type RoundMessage,
  RoundReplySchema,
  STUDIES_BUCKET,
  type StartedMessage,
  type StudyEntry,
  StudyEntrySchema,
  TrialMessageSchema,
  WORKERS_CONSUMER,
  type WorkQueueNames,
  workQueueNames,
} from './work-queue.js';

export interface TrialWorkerOptions {
  readonly transport: NatsTransport;
  readonly runnerFor: (config: StudyConfig) => TrialRunner;
  /** Serve only these study ids (default: every open study in the registry). */
  readonly studies?: readonly string[];
  /** Shown in the journal as who ran a trial (default host:pid:random). */
  readonly name?: string;
  /** Where trials keep their files (default: the directory the scheduler names, i.e. a shared file system). */
  readonly trialsDir?: string;
  /** How long a round report may wait for the scheduler's decision. */
  readonly roundTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

interface OpenStudy {
  readonly entry: StudyEntry;
  readonly names: WorkQueueNames;
  readonly config: StudyConfig;
  runner?: TrialRunner;
  consumer?: Consumer;
}

export class TrialWorker {
  readonly name: string;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private kv: KV | undefined;
  private readonly open = new Map<string, OpenStudy>();
  private listedAt = 0;
  /** Trials this worker finished (for logs and tests). */
  finishedTrials = 0;

  constructor(private readonly opts: TrialWorkerOptions) {
    this.name = opts.name ?? `${hostname()}:${process.pid}:${nuid.next().slice(-6)}`;
  }

  /** Pulls and runs trials until `signal` aborts; a trial running then is handed back (nak) for another worker. */
  async run(signal: AbortSignal): Promise<void> {
    const nc = this.opts.transport.connection;
    this.js = jetstream(nc);
    this.jsm = await jetstreamManager(nc);
    this.kv = await new Kvm(nc).create(STUDIES_BUCKET, { history: 1 });
    try {
      while (!signal.aborted) {
        const studies = await this.studies();
        let worked = false;
        for (const s of studies) {
          if (signal.aborted) break;
          const m = await this.pull(s);
          if (m) {
            await this.handle(s, m, signal);
            worked = true;
          }
        }
        if (!worked && !studies.length) await sleep(300, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      for (const s of this.open.values()) await s.runner?.close?.();
    }
  }

  private log(line: string): void {
    this.opts.log?.(`worker ${this.name}: ${line}`);
  }

  /** Open studies from the registry, re-listed at most every second. */
  private async studies(): Promise<OpenStudy[]> {
    if (Date.now() - this.listedAt >= 1000) {
      this.listedAt = Date.now();
      const ids = new Set<string>();
      for await (const k of await this.kv!.keys()) if (!this.opts.studies || this.opts.studies.includes(k)) ids.add(k);
      for (const id of this.open.keys()) if (!ids.has(id)) this.forget(id);
      for (const id of ids) if (!this.open.has(id)) await this.remember(id);
    }
    return [...this.open.values()];
  }

  private async remember(id: string): Promise<void> {
    const e = await this.kv!.get(id);
    if (e?.operation !== 'PUT') return;
    const entry = decodeMessage(StudyEntrySchema, e.value);
    if (typeof entry === 'string') return this.log(`study ${id}: unreadable registry entry (${entry})`);
    try {
      this.open.set(id, { entry, names: workQueueNames(entry.study_id), config: parseStudyConfig(entry.config, `study ${id}`) });
    } catch (err) {
      this.log(`study ${id}: cannot serve it: ${(err as Error).message}`);
    }
  }

  private forget(id: string): void {
    void this.open.get(id)?.runner?.close?.();
    this.open.delete(id);
  }

  private async pull(s: OpenStudy): Promise<JsMsg | null> {
    try {
      s.consumer ??= await this.js!.consumers.get(s.names.stream, WORKERS_CONSUMER);
      return await s.consumer.next({ expires: 1000 });
    } catch {
      this.forget(s.entry.study_id); // the stream is gone (the study finished) or unreachable: list again later
      return null;
    }
  }

  private async handle(s: OpenStudy, m: JsMsg, signal: AbortSignal): Promise<void> {
    const t = decodeMessage(TrialMessageSchema, m.data);
    if (typeof t === 'string' || t.study_id !== s.entry.study_id) {
      this.log(`study ${s.entry.study_id}: refused a trial message (${typeof t === 'string' ? t : 'another study'})`);
      m.term();
      return;
    }
    const attempt = { study_id: t.study_id, trial_id: t.trial_id, attempt: t.attempt, delivery: m.info.deliveryCount, worker: this.name };
    const heartbeat = setInterval(() => m.working(), Math.max(100, s.entry.ack_wait_ms / 3));
    try {
      if (await this.hasResult(s, attempt.trial_id, attempt.attempt)) return; // waiting for the scheduler to journal it
      this.log(`trial ${t.trial_id} (attempt ${t.attempt}, delivery ${attempt.delivery}) of study ${t.study_id}`);
      this.opts.transport.publish(s.names.started, encodeMessage(attempt satisfies StartedMessage));
      const stop = new AbortController();
      const onStop = (): void => stop.abort(signal.reason);
      signal.addEventListener('abort', onStop, { once: true });
      const curve: { round: number; metrics: Metrics }[] = [];
      let outcome: TrialOutcome;
      try {
        s.runner ??= this.opts.runnerFor(s.config);
        outcome = await s.runner.run({
          trialId: t.trial_id,
          attempt: t.attempt,
          config: t.config,
          fidelity: t.fidelity,
          ...(t.parent ? { parent: t.parent } : {}),
          dir: this.opts.trialsDir ? join(this.opts.trialsDir, t.study_id, String(t.trial_id)) : t.dir,
          signal: stop.signal,
          onRound: (round, metrics) => {
            curve.push({ round, metrics });
            return this.reportRound(s, { ...attempt, round, metrics });
          },
        });
      } catch (e) {
        outcome = failedOutcome(e, curve, t.parent?.round ?? 0);
      } finally {
        signal.removeEventListener('abort', onStop);
      }
      if (signal.aborted) {
        m.nak(); // this worker is stopping: hand the trial to another one now
        return;
      }
      await this.publishResult(s, { ...attempt, outcome });
      this.finishedTrials++;
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async reportRound(s: OpenStudy, msg: RoundMessage): Promise<RoundDecision> {
    try {
      const reply = await this.opts.transport.request(s.names.round, encodeMessage(msg), this.opts.roundTimeoutMs ?? 30_000);
      const r = decodeMessage(RoundReplySchema, reply);
      return typeof r === 'string' ? 'continue' : r.decision;
    } catch {
      return 'continue'; // no scheduler right now: the result will still be journaled when it is back
    }
  }

  /** A result for this attempt is already waiting in the stream (an earlier delivery published it). */
  private async hasResult(s: OpenStudy, trialId: number, attemptNo: number): Promise<boolean> {
    const prior = await this.jsm!.streams.getMessage(s.names.stream, { last_by_subj: s.names.result(trialId) }).catch(() => null);
    if (!prior) return false;
    const r = decodeMessage(TrialMessageSchema.pick({ trial_id: true, attempt: true }).loose(), prior.data);
    return typeof r !== 'string' && r.attempt === attemptNo;
  }

  /** Publishes the result durably (JetStream), retrying while the server is away; idempotent by trial, attempt and delivery. */
  private async publishResult(s: OpenStudy, msg: ResultMessage): Promise<void> {
    const data = encodeMessage(msg);
    for (let i = 0; ; i++) {
      try {
        await this.js!.publish(s.names.result(msg.trial_id), data, { msgID: `${msg.trial_id}.${msg.attempt}.${msg.delivery}` });
        return;
      } catch (e) {
        if (i >= 20) throw e;
        await sleep(Math.min(5000, 200 * 2 ** i));
      }
    }
  }
}
