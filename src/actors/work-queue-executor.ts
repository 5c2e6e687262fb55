// The scheduler's side of the trial work queue (see work-queue.ts for the design): creates the study's
// stream, consumers and registry entry, queues launched attempts, turns workers' started/round/result
// messages into SchedulerPort calls, and removes a trial's message only once its result is journaled.
import {
  AckPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { Study, TrialLaunch } from '../hpo/study.js';
import type { StudyConfig } from '../hpo/study-config.js';
import type { TrialRunner } from '../hpo/trial-runner.js';
import type { SchedulerPort, TrialExecutor } from './trial-executor.js';
import type { Subscription } from './transport.js';
import { NatsTransport } from './transport-nats.js';
import type { NatsConnectOptions } from './transport-nats-options.js';
import { TrialWorker } from './trial-worker.js';
import {
  decodeMessage,
  encodeMessage,
  ResultMessageSchema,
  RoundMessageSchema,
  SCHEDULER_CONSUMER,
  STUDIES_BUCKET,
  type StudyEntry,
  StartedMessageSchema,
  TrialMessageSchema,
  type TrialMessage,
  WORKERS_CONSUMER,
  type WorkQueueNames,
  workQueueNames,
} from './work-queue.js';

const NS = 1_000_000;

export interface WorkQueueOptions {
  readonly connection: NatsConnectOptions;
  /** Trial workers to run in this process too (sharing its connection). */
  readonly localWorkers: number;
  readonly runnerFor: (config: StudyConfig) => TrialRunner;
  readonly log?: ((line: string) => void) | undefined;
}

export interface WorkQueueHandle {
  readonly executor: (port: SchedulerPort) => TrialExecutor;
  /** Stops local workers and the connection; a finished study's stream and registry entry are removed. */
  close(): Promise<void>;
}

export async function startWorkQueue(study: Study, opts: WorkQueueOptions): Promise<WorkQueueHandle> {
  const transport = await NatsTransport.connect({ connection: opts.connection, name: `fedhpo scheduler ${study.state.studyId}` });
  const log = opts.log ?? (() => {});
  try {
    const nc = transport.connection;
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const names = workQueueNames(study.state.studyId);
    const ackWaitMs = study.config.workers.ack_wait * 1000;
    await ensureStream(jsm, names, ackWaitMs, study.config.workers.max_deliveries);
    const kv = await new Kvm(nc).create(STUDIES_BUCKET, { history: 1 });
    const entry: StudyEntry = { study_id: study.state.studyId, stream: names.stream, config: study.config, ack_wait_ms: ackWaitMs };
    await kv.put(study.state.studyId, JSON.stringify(entry));
    const workers = Array.from(
      { length: opts.localWorkers },
      (_, i) => new TrialWorker({ transport, runnerFor: opts.runnerFor, studies: [study.state.studyId], name: `local-${i + 1}`, log }),
    );
    const stopWorkers = new AbortController();
    const workerRuns = workers.map((w) => w.run(stopWorkers.signal));
    let executor: WorkQueueExecutor | undefined;
    log(`trials go to the work queue ${names.stream}; start workers with: fedhpo worker --nats ${opts.connection.servers.join(',')}`);
    return {
      executor: (port) => (executor = new WorkQueueExecutor(transport, js, jsm, names, study.state.studyId, port, log)),
      close: async () => {
        stopWorkers.abort();
        await Promise.all(workerRuns);
        await executor?.close();
        if (study.state.finished) await removeStudy(jsm, kv, names, study.state.studyId);
        await transport.close();
      },
    };
  } catch (e) {
    await transport.close();
    throw e;
  }
}

async function ensureStream(jsm: JetStreamManager, names: WorkQueueNames, ackWaitMs: number, maxDeliveries: number): Promise<void> {
  const exists = await jsm.streams.info(names.stream).then(
    () => true,
    () => false,
  );
  if (!exists)
    await jsm.streams.add({
      name: names.stream,
      subjects: [names.trials, names.results],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000 * NS,
    });
  const consumers = [
    { durable_name: WORKERS_CONSUMER, filter_subject: names.trials, ack_wait: ackWaitMs * NS, max_deliver: maxDeliveries },
    { durable_name: SCHEDULER_CONSUMER, filter_subject: names.results, ack_wait: 60_000 * NS, max_deliver: -1 },
  ];
  for (const c of consumers) {
    const present = await jsm.consumers.info(names.stream, c.durable_name).then(
      () => true,
      () => false,
    );
    if (present) await jsm.consumers.update(names.stream, c.durable_name, { ack_wait: c.ack_wait, max_deliver: c.max_deliver });
    else await jsm.consumers.add(names.stream, { ...c, ack_policy: AckPolicy.Explicit });
  }
}

async function removeStudy(jsm: JetStreamManager, kv: KV, names: WorkQueueNames, studyId: string): Promise<void> {
  await kv.delete(studyId).catch(() => undefined);
  await jsm.streams.delete(names.stream).catch(() => undefined);
}

class WorkQueueExecutor implements TrialExecutor {
  private readonly subs: Subscription[] = [];
  private results: ConsumerMessages | undefined;
  private readonly consuming: Promise<void>;
  private closed = false;

  constructor(
    transport: NatsTransport,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: WorkQueueNames,
    private readonly studyId: string,
    private readonly port: SchedulerPort,
    private readonly log: (line: string) => void,
  ) {
    this.subs.push(
      transport.subscribe(names.started, (m) => {
        const s = decodeMessage(StartedMessageSchema, m.payload);
        if (typeof s === 'string') return log(`work queue: refused a started message: ${s}`);
        if (s.study_id === studyId) port.started({ trialId: s.trial_id, attempt: s.attempt, delivery: s.delivery, worker: s.worker });
      }),
      transport.subscribe(names.round, async (m) => {
        const r = decodeMessage(RoundMessageSchema, m.payload);
        if (typeof r === 'string') return log(`work queue: refused a round message: ${r}`);
        const decision = await port.round(
          { trialId: r.trial_id, attempt: r.attempt, delivery: r.delivery, worker: r.worker },
          r.round,
          r.metrics,
        );
        if (m.reply && !transport.isClosed) m.respond(encodeMessage({ decision }));
      }),
      transport.subscribe(names.maxDeliveries, (m) => void this.abandoned(m.payload)),
    );
    this.consuming = this.consumeResults().catch((e: unknown) => {
      if (!this.closed) log(`work queue: reading results failed: ${(e as Error).message}`);
    });
  }

  /** Queues an attempt unless its message is already in the stream (a resumed scheduler re-launches what was in flight). */
  async launch(l: TrialLaunch): Promise<void> {
    const subject = this.names.trial(l.trialId);
    const existing = await this.jsm.streams.getMessage(this.names.stream, { last_by_subj: subject });
    if (existing) {
      const queued = decodeMessage(TrialMessageSchema, existing.data);
      if (typeof queued !== 'string' && queued.attempt === l.attempt) return;
      await this.remove(existing.seq);
    }
    const msg: TrialMessage = {
      study_id: this.studyId,
      trial_id: l.trialId,
      attempt: l.attempt,
      config: l.config,
      fidelity: l.fidelity,
      ...(l.parent ? { parent: l.parent } : {}),
      dir: l.dir,
    };
    await this.js.publish(subject, encodeMessage(msg), { msgID: `${l.trialId}.${l.attempt}` });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    await this.results?.close();
    await this.consuming;
  }

  private async consumeResults(): Promise<void> {
    const consumer = await this.js.consumers.get(this.names.stream, SCHEDULER_CONSUMER);
    this.results = await consumer.consume({ max_messages: 64 });
    if (this.closed) await this.results.close();
    for await (const m of this.results) {
      const r = decodeMessage(ResultMessageSchema, m.data);
      if (typeof r === 'string' || r.study_id !== this.studyId) {
        this.log(`work queue: dropped a result: ${typeof r === 'string' ? r : `for study ${r.study_id}`}`);
        m.term();
        continue;
      }
      const ref = { trialId: r.trial_id, attempt: r.attempt, delivery: r.delivery, worker: r.worker };
      this.port.finished(ref, r.outcome, (accepted, trialFinished) => {
        if (!accepted)
          this.log(
            `work queue: ignored a result of trial ${r.trial_id} (attempt ${r.attempt}, delivery ${r.delivery}): a duplicate or stale`,
          );
        // The trial's result is journaled (now or before): its message may leave the queue, then the result's.
        // A stale result (an attempt or delivery since replaced) leaves the queued trial alone.
        void (trialFinished ? this.removeTrial(r.trial_id) : Promise.resolve()).then(() => m.ack());
      });
    }
  }

  /** Removes a finished trial's queued message (the "ack"); a message already gone is fine. */
  private async removeTrial(trialId: number): Promise<void> {
    const existing = await this.jsm.streams.getMessage(this.names.stream, { last_by_subj: this.names.trial(trialId) }).catch(() => null);
    if (existing) await this.remove(existing.seq);
  }

  private async remove(seq: number): Promise<void> {
    await this.jsm.streams.deleteMessage(this.names.stream, seq, false).catch(() => false);
  }

  private async abandoned(payload: Uint8Array): Promise<void> {
    let advisory: { stream_seq?: number; deliveries?: number };
    try {
      advisory = JSON.parse(new TextDecoder().decode(payload)) as typeof advisory;
    } catch {
      return;
    }
    if (typeof advisory.stream_seq !== 'number') return;
    const seq = advisory.stream_seq;
    const msg = await this.jsm.streams.getMessage(this.names.stream, { seq }).catch(() => null);
    const t = msg ? decodeMessage(TrialMessageSchema, msg.data) : 'gone';
    if (typeof t === 'string') return;
    this.log(`work queue: trial ${t.trial_id} lost its worker ${advisory.deliveries ?? '?'} times; it fails`);
    this.port.abandoned(t.trial_id, advisory.deliveries ?? 0, () => void this.remove(seq));
  }
}
