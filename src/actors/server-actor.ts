// The ServerActor: the one holder of a trial's state (round, global adapter, aggregator state). Per
// round: configureRound (sampling) -> `round` to each selected client -> collect updates until all
// arrived or the deadline -> aggregate with a quorum, else retry (attempt + 1), else fail the run ->
// `evaluate` to every client -> validation loss = sample-weighted mean of the clients' losses of the
// new global on their own validation splits -> next round. Every inbound message is dispatched into
// the actor's mailbox and handled there, one at a time; timers are messages to itself. Nothing a
// client sends can crash it: a bad message is rejected with a reason, counted and logged.
import { UserError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { AggregatorError, type Aggregator, type ClientUpdate } from '../fl/aggregator.js';
import { encodeTensors, type ResolvedCodecSettings } from '../fl/codec/codec.js';
import type { TrainSettings } from '../fl/fl-config.js';
import { addScaled, checkFinite, checkSameLayout, cloneTensors, type NamedTensors, TensorLayoutError } from '../fl/tensors.js';
import type { LoraConfig } from '../peft/lora.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { type ActorSystemRef, type Mailbox, spawnActor } from './actor-system.js';
import { decodeGlobal, encodeGlobal, type ClientRoundRecord, type FederationState, type RoundRecord } from './federation-state.js';
import {
  decodeClientMessage,
  encodeMessage,
  type EvalResultMsg,
  type HelloMsg,
  MESSAGE_VERSION,
  MessageRejected,
  type RejectReason,
  type ServerMessage,
  type UpdateMsg,
} from './messages.js';
import { quorumOf, RoundCollector } from './round-collector.js';
import { clientDirectSubject, parseSubject, serverSubject, subjectPatterns, type TrialScope } from './transport-subjects.js';
import { admitDelta, updateDecodeLimits } from './update-admission.js';

/** A run that cannot go on (no quorum after the retries, no client joined, a broken aggregator). */
export class FederationError extends UserError {
  override name = 'FederationError';
}

export interface ServerSettings {
  scope: TrialScope;
  seed: number;
  rounds: number;
  lora: LoraConfig;
  train: TrainSettings;
  /** How clients encode their deltas. */
  codec: ResolvedCodecSettings;
  round: { deadline_s: number; quorum: number; retries: number; join_timeout_s: number };
  eval: { every: number; batch_size: number };
  /** sha256 of the base model files: a client with another base is refused. */
  modelSha256: string;
}

export type ServerEvent =
  | { type: 'joined'; clients: string[] }
  | { type: 'round-started'; round: number; attempt: number; selected: string[] }
  | { type: 'evaluating'; round: number; attempt: number }
  | { type: 'round-done'; record: RoundRecord }
  | { type: 'rejected'; reason: RejectReason; message: string; subject: string };

export interface ServerActorOptions {
  system: ActorSystemRef;
  transport: Transport;
  settings: ServerSettings;
  /** The clients of the trial, in a fixed order. */
  clients: readonly string[];
  aggregator: Aggregator;
  /** The adapter round 1 starts from (ignored when resuming). */
  initialGlobal: NamedTensors;
  /** Continue a trial from its state after some round. */
  resume?: FederationState;
  /** Stop after completing this round (default settings.rounds). */
  stopAfterRound?: number;
  onEvent?: (e: ServerEvent) => void;
  log?: (line: string) => void;
}

export interface ServerResult {
  state: FederationState;
  global: NamedTensors;
  history: RoundRecord[];
  /** Rejected messages over the whole run, by reason. */
  rejected: Record<string, number>;
}

type ServerInbox =
  | { type: 'start' }
  | { type: 'wire'; subject: string; payload: Uint8Array }
  | { type: 'deadline'; token: number }
  | { type: 'reconnected' }
  | { type: 'abort'; reason: string }
  | { type: 'snapshot'; reply: (s: FederationState) => void };

type Phase = 'idle' | 'joining' | 'training' | 'evaluating' | 'done';

interface Accepted {
  samples: number;
  weights: NamedTensors;
  metrics: Record<string, number>;
}
interface EvalReply {
  lossSum: number;
  tokens: number;
  samples: number;
}

/** Log lines kept per round for rejected messages (the counts are complete). */
const REJECT_LOG_LINES = 20;

export class ServerActor {
  private readonly s: ServerSettings;
  private readonly mailbox: Mailbox<ServerInbox>;
  private readonly expected: readonly string[];
  private readonly joined = new Set<string>();
  private readonly stopAfter: number;
  private phase: Phase = 'idle';
  private global: NamedTensors;
  private globalBytes: Uint8Array | undefined;
  private completed: number;
  private readonly history: RoundRecord[];
  private record: RoundRecord | undefined;
  private roundStarted = 0;
  private training: RoundCollector<Accepted> | undefined;
  private evaluation: RoundCollector<EvalReply> | undefined;
  private rejectedNow: Record<string, number> = {};
  private rejectedLogNow: string[] = [];
  private readonly rejectedTotal: Record<string, number> = {};
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerToken = 0;
  private readonly limits;
  private readonly finished: Promise<ServerResult>;
  private settle!: { resolve: (r: ServerResult) => void; reject: (e: Error) => void };
  private markReady!: () => void;
  /** Resolves once the server listens for its clients (start clients after it, or they re-hello on `join`). */
  readonly ready: Promise<void>;

  constructor(private readonly o: ServerActorOptions) {
    this.s = o.settings;
    this.expected = [...o.clients];
    if (new Set(this.expected).size !== this.expected.length) throw new FederationError('server: client ids must be distinct');
    this.stopAfter = Math.min(o.stopAfterRound ?? this.s.rounds, this.s.rounds);
    if (o.resume) {
      const r = o.resume;
      if (r.study !== this.s.scope.study || r.trial !== this.s.scope.trial || r.seed !== this.s.seed)
        throw new FederationError(`server: the state to resume is of ${r.study}/${r.trial} seed ${r.seed}, not this trial`);
      if (r.aggregator.name !== o.aggregator.name)
        throw new FederationError(`server: the state to resume was made with aggregator ${r.aggregator.name}, not ${o.aggregator.name}`);
      this.global = decodeGlobal(r.global);
      o.aggregator.restore(r.aggregator.state);
      this.completed = r.round;
      this.history = structuredClone(r.history);
    } else {
      this.global = cloneTensors(o.initialGlobal);
      this.completed = 0;
      this.history = [];
    }
    this.limits = updateDecodeLimits(this.global);
    this.finished = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.finished.catch(() => {}); // the caller of run() sees it
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.mailbox = spawnActor<null, ServerInbox>(
      o.system,
      'server',
      null,
      async (state, msg) => {
        await this.handle(msg);
        return state;
      },
      // A user's aggregator that breaks its contract fails the run with its message; anything else is a bug.
      (e) =>
        this.fail(
          e instanceof UserError ? e.message : `server: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        ),
    );
  }

  /** Starts the trial; resolves when the last round is done, rejects with a FederationError when the run fails. */
  run(): Promise<ServerResult> {
    this.mailbox.post({ type: 'start' });
    return this.finished;
  }

  /** The state between two messages (consistent: asked through the mailbox). */
  snapshot(timeoutMs = 10_000): Promise<FederationState> {
    return this.mailbox.ask<FederationState>((reply) => ({ type: 'snapshot', reply }), timeoutMs);
  }

  /** For the transport's onStatus: after a reconnect, the current request is published again. */
  onTransportStatus(status: TransportStatus): void {
    if (status.type === 'reconnected') this.mailbox.post({ type: 'reconnected' });
  }

  /** Ends the run now (between two messages): run() rejects with a FederationError giving `reason`. */
  abort(reason: string): void {
    this.mailbox.post({ type: 'abort', reason });
  }

  stop(): void {
    this.clearTimer();
    this.subscription?.unsubscribe();
    this.mailbox.stop();
  }

  private async handle(m: ServerInbox): Promise<void> {
    if (m.type === 'snapshot') return m.reply(this.state());
    if (this.phase === 'done') return;
    switch (m.type) {
      case 'start':
        return this.start();
      case 'wire':
        return this.onWire(m.subject, m.payload);
      case 'deadline':
        if (m.token === this.timerToken) await this.onDeadline();
        return;
      case 'reconnected':
        return this.republish();
      case 'abort':
        return this.fail(m.reason);
    }
  }

  // ---- joining

  private async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    this.subscription = this.o.transport.subscribe(subjectPatterns.clientUpdates(this.s.scope), (msg) =>
      this.mailbox.post({ type: 'wire', subject: msg.subject, payload: msg.payload }),
    );
    // Once the subscription has reached the NATS server, a client's hello cannot be lost to a race.
    await this.o.transport.flush();
    this.markReady();
    this.phase = 'joining';
    this.publishJoin();
    this.setTimer(this.s.round.join_timeout_s);
  }

  private publishJoin(): void {
    this.broadcast({
      v: MESSAGE_VERSION,
      kind: 'join',
      study: this.s.scope.study,
      trial: this.s.scope.trial,
      modelSha256: this.s.modelSha256,
      round: this.completed,
    });
  }

  private onHello(h: HelloMsg): void {
    if (h.modelSha256 !== this.s.modelSha256)
      throw new MessageRejected(
        'model-mismatch',
        `client ${h.from} has base model ${h.modelSha256.slice(0, 12)}…, the server ${this.s.modelSha256.slice(0, 12)}…`,
      );
    const isNew = !this.joined.has(h.from);
    this.joined.add(h.from);
    if (this.phase === 'joining') {
      if (this.joined.size === this.expected.length) this.beginTrial();
      return;
    }
    // A client that (re)joins mid-request may have missed it: send it again.
    if (this.phase === 'training' && this.training?.missing().includes(h.from)) this.publishRound([h.from]);
    if (this.phase === 'evaluating' && this.evaluation?.missing().includes(h.from)) this.publishEvaluate([h.from]);
    if (isNew) this.log(`client ${h.from} joined during round ${this.completed + 1}`);
  }

  private available(): string[] {
    return this.expected.filter((c) => this.joined.has(c));
  }

  private beginTrial(): void {
    this.clearTimer();
    this.o.onEvent?.({ type: 'joined', clients: this.available() });
    if (this.completed >= this.stopAfter) this.finish();
    else if (this.completed === 0 && !this.history.some((r) => r.round === 0)) this.beginEval(0, this.newRecord(0, []));
    else this.beginRound(this.completed + 1);
  }

  // ---- training

  private newRecord(round: number, selected: string[]): RoundRecord {
    this.roundStarted = performance.now();
    const clients: Record<string, ClientRoundRecord> = {};
    for (const c of this.expected) clients[c] = { downloadBytes: 0, uploadBytes: 0 };
    return {
      round,
      selected,
      accepted: [],
      attempts: 0,
      valLoss: null,
      trainLoss: null,
      rejected: {},
      rejectedLog: [],
      seconds: 0,
      clients,
    };
  }

  private beginRound(round: number): void {
    const available = this.available();
    const plan = this.o.aggregator.configureRound(round, available, new Rng(this.s.seed).fork('sampling').fork(round));
    const selected = plan.clients;
    if (!selected.length || new Set(selected).size !== selected.length || selected.some((c) => !available.includes(c)))
      throw new AggregatorError(
        `${this.o.aggregator.name}: configureRound chose [${selected.join(', ')}], not distinct clients among [${available.join(', ')}]`,
      );
    this.record = this.newRecord(round, [...selected]);
    this.record.attempts = 1;
    this.aggregatorConfig = plan.trainConfig ?? {};
    this.training = new RoundCollector<Accepted>({
      round,
      expected: selected,
      quorum: quorumOf(this.s.round.quorum, selected.length),
      retries: this.s.round.retries,
      what: 'update',
    });
    this.phase = 'training';
    this.o.onEvent?.({ type: 'round-started', round, attempt: 0, selected: [...selected] });
    this.publishRound(selected);
    this.setTimer(this.s.round.deadline_s);
  }

  private aggregatorConfig: NonNullable<ReturnType<Aggregator['configureRound']>['trainConfig']> = {};

  private globalPayload(): Uint8Array {
    this.globalBytes ??= encodeTensors(this.global, { precision: 'fp32' });
    return this.globalBytes;
  }

  private publishRound(to: readonly string[]): void {
    const c = this.training!;
    const bytes = encodeMessage(
      {
        v: MESSAGE_VERSION,
        kind: 'round',
        round: c.round,
        attempt: c.attempt,
        selected: [...c.expected],
        seed: this.s.seed,
        lora: { r: this.s.lora.r, alpha: this.s.lora.alpha, dropout: this.s.lora.dropout, targets: [...this.s.lora.targets] },
        train: this.s.train,
        aggregatorConfig: this.aggregatorConfig,
        codec: { ...this.s.codec },
      },
      this.globalPayload(),
    );
    for (const id of to) {
      this.o.transport.publish(clientDirectSubject(this.s.scope, id, 'round'), bytes);
      this.record!.clients[id]!.downloadBytes += bytes.byteLength;
    }
  }

  private async onUpdate(u: UpdateMsg, payload: Uint8Array, size: number): Promise<void> {
    const c = this.training;
    if (this.phase !== 'training' || !c) throw this.outOfPhase('update', u.round);
    c.check(u.from, u.round, u.attempt);
    const delta = admitDelta(this.global, payload, this.limits, `update from client ${u.from} for round ${u.round}`);
    c.accept(u.from, { samples: u.samples, weights: addScaled(this.global, delta, 1), metrics: u.metrics });
    this.record!.clients[u.from]!.uploadBytes += size;
    if (c.complete) return this.finishTraining();
  }

  /** A reply that comes when the server is not collecting that kind. */
  private outOfPhase(what: string, round: number): MessageRejected {
    if (round <= this.completed) return new MessageRejected('stale-round', `${what} for round ${round}: round ${round} is over`);
    return new MessageRejected(
      round > this.completed + 1 ? 'future-round' : 'unexpected',
      `${what} for round ${round}: not collecting ${what}s now (${this.phase})`,
    );
  }

  private async finishTraining(): Promise<void> {
    this.clearTimer();
    const c = this.training!;
    this.training = undefined;
    const accepted = c.accepted();
    const updates: ClientUpdate[] = accepted.map(({ from, reply }) => ({
      clientId: from,
      samples: reply.samples,
      tensors: reply.weights,
      metrics: reply.metrics,
    }));
    const next = await this.o.aggregator.aggregate(this.global, updates, c.round);
    try {
      checkSameLayout(this.global, next, `${this.o.aggregator.name}: aggregated adapter`);
      checkFinite(next, `${this.o.aggregator.name}: aggregated adapter`);
    } catch (e) {
      throw e instanceof TensorLayoutError ? new AggregatorError(e.message) : e;
    }
    this.global = new Map([...this.global.keys()].map((k) => [k, next.get(k)!])); // keep the canonical tensor order
    this.globalBytes = undefined;
    const rec = this.record!;
    rec.accepted = accepted.map((a) => a.from);
    rec.attempts = c.attempt + 1;
    let samples = 0;
    let loss = 0;
    for (const { from, reply } of accepted) {
      rec.clients[from]!.trained = { samples: reply.samples, metrics: reply.metrics };
      if (reply.metrics.train_loss !== undefined) {
        samples += reply.samples;
        loss += reply.samples * reply.metrics.train_loss;
      }
    }
    rec.trainLoss = samples ? loss / samples : null;
    if (this.evalDue(c.round)) this.beginEval(c.round, rec);
    else this.completeRound(rec);
  }

  private evalDue(round: number): boolean {
    return round === 0 || round % this.s.eval.every === 0 || round === this.s.rounds;
  }

  // ---- evaluation

  private beginEval(round: number, rec: RoundRecord): void {
    this.record = rec;
    const expected = this.available();
    this.evaluation = new RoundCollector<EvalReply>({
      round,
      expected,
      quorum: quorumOf(this.s.round.quorum, expected.length),
      retries: this.s.round.retries,
      what: 'evaluation',
    });
    this.phase = 'evaluating';
    this.o.onEvent?.({ type: 'evaluating', round, attempt: 0 });
    this.publishEvaluate();
    this.setTimer(this.s.round.deadline_s);
  }

  /** To everyone (a broadcast) or, for a retry or a rejoin, to the named clients only. */
  private publishEvaluate(to?: readonly string[]): void {
    const c = this.evaluation!;
    const bytes = encodeMessage(
      {
        v: MESSAGE_VERSION,
        kind: 'evaluate',
        round: c.round,
        attempt: c.attempt,
        lora: { r: this.s.lora.r, alpha: this.s.lora.alpha, dropout: this.s.lora.dropout, targets: [...this.s.lora.targets] },
        batchSize: this.s.eval.batch_size,
        seqLen: this.s.train.seq_len,
      },
      this.globalPayload(),
    );
    if (to) for (const id of to) this.o.transport.publish(clientDirectSubject(this.s.scope, id, 'evaluate'), bytes);
    else this.o.transport.publish(serverSubject(this.s.scope, 'evaluate'), bytes);
    // A broadcast reaches every subscribed client of the trial: each downloads it.
    for (const id of to ?? this.available()) this.record!.clients[id]!.downloadBytes += bytes.byteLength;
  }

  private onEvalResult(r: EvalResultMsg, size: number): void {
    const c = this.evaluation;
    if (this.phase !== 'evaluating' || !c) {
      if (r.round <= this.completed) throw new MessageRejected('stale-round', `evaluation for round ${r.round}: round ${r.round} is over`);
      throw new MessageRejected('unexpected', `evaluation for round ${r.round}: not evaluating now (${this.phase})`);
    }
    c.check(r.from, r.round, r.attempt);
    c.accept(r.from, { lossSum: r.lossSum, tokens: r.tokens, samples: r.samples });
    this.record!.clients[r.from]!.uploadBytes += size;
    if (c.complete) this.finishEval();
  }

  private finishEval(): void {
    this.clearTimer();
    const c = this.evaluation!;
    this.evaluation = undefined;
    const rec = this.record!;
    let weight = 0;
    let sum = 0;
    for (const { from, reply } of c.accepted()) {
      if (!reply.tokens) continue;
      const loss = reply.lossSum / reply.tokens;
      rec.clients[from]!.validation = { loss, tokens: reply.tokens, samples: reply.samples };
      weight += reply.samples;
      sum += reply.samples * loss;
    }
    rec.valLoss = weight ? sum / weight : null;
    this.completeRound(rec);
  }

  // ---- round end, deadlines, failures

  private completeRound(rec: RoundRecord): void {
    rec.seconds = (performance.now() - this.roundStarted) / 1000;
    rec.rejected = this.rejectedNow;
    rec.rejectedLog = this.rejectedLogNow;
    this.rejectedNow = {};
    this.rejectedLogNow = [];
    this.history.push(rec);
    this.completed = rec.round;
    this.record = undefined;
    this.o.onEvent?.({ type: 'round-done', record: rec });
    if (rec.round >= this.stopAfter) this.finish();
    else this.beginRound(rec.round + 1);
  }

  private async onDeadline(): Promise<void> {
    this.timer = undefined;
    if (this.phase === 'joining') {
      if (this.joined.size === 0)
        return this.fail(`no client joined within ${this.s.round.join_timeout_s} s (expected: ${this.expected.join(', ')})`);
      this.log(
        `join deadline: going on with ${this.joined.size} of ${this.expected.length} clients (missing: ${this.expected.filter((c) => !this.joined.has(c)).join(', ')})`,
      );
      return this.beginTrial();
    }
    const c = this.phase === 'training' ? this.training : this.evaluation;
    if (!c) return;
    const d = c.atDeadline();
    if (d.kind === 'proceed') {
      const missing = c.missing();
      if (missing.length) this.log(`round ${c.round}: deadline: going on without ${missing.join(', ')}`);
      return this.phase === 'training' ? this.finishTraining() : this.finishEval();
    }
    if (d.kind === 'fail') return this.fail(this.phase === 'evaluating' ? `evaluation: ${d.reason}` : d.reason);
    this.log(`round ${c.round}: deadline: ${c.missing().length} missing, attempt ${d.attempt} of ${this.s.round.retries + 1}`);
    if (this.phase === 'training') {
      this.record!.attempts = d.attempt + 1;
      this.o.onEvent?.({ type: 'round-started', round: c.round, attempt: d.attempt, selected: [...c.expected] });
      this.publishRound(c.missing());
    } else {
      this.o.onEvent?.({ type: 'evaluating', round: c.round, attempt: d.attempt });
      this.publishEvaluate(c.missing());
    }
    this.setTimer(this.s.round.deadline_s);
  }

  private republish(): void {
    if (this.phase === 'joining') this.publishJoin();
    else if (this.phase === 'training' && this.training) this.publishRound(this.training.missing());
    else if (this.phase === 'evaluating' && this.evaluation) this.publishEvaluate(this.evaluation.missing());
  }

  private setTimer(seconds: number): void {
    this.clearTimer();
    const token = ++this.timerToken;
    this.timer = setTimeout(() => this.mailbox.post({ type: 'deadline', token }), Math.round(seconds * 1000));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerToken++;
  }

  private finish(): void {
    this.end('done');
    this.settle.resolve({
      state: this.state(),
      global: cloneTensors(this.global),
      history: this.history,
      rejected: { ...this.rejectedTotal },
    });
  }

  private fail(reason: string): void {
    if (this.phase === 'done') return;
    this.end(reason);
    this.log(`run failed: ${reason}`);
    this.settle.reject(new FederationError(reason));
  }

  private end(reason: string): void {
    this.phase = 'done';
    this.clearTimer();
    try {
      this.broadcast({ v: MESSAGE_VERSION, kind: 'stop', reason: reason.slice(0, 2000) });
    } catch {
      // a closed transport: the clients learn nothing more either way
    }
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private broadcast(msg: ServerMessage): void {
    const topic = msg.kind;
    this.o.transport.publish(serverSubject(this.s.scope, topic), encodeMessage(msg));
  }

  // ---- inbound

  private async onWire(subject: string, bytes: Uint8Array): Promise<void> {
    try {
      const p = parseSubject(subject);
      if (p?.kind !== 'client-update' || p.study !== this.s.scope.study || p.trial !== this.s.scope.trial)
        throw new MessageRejected('bad-subject', `not a client update subject of this trial`);
      const { msg, payload } = decodeClientMessage(bytes);
      if (msg.from !== p.clientId)
        throw new MessageRejected('impersonation', `message from '${msg.from}' on the subject of client '${p.clientId}'`);
      if (!this.expected.includes(msg.from))
        throw new MessageRejected('unknown-sender', `client '${msg.from}' is not a client of this trial`);
      if (msg.kind !== 'hello' && !this.joined.has(msg.from))
        throw new MessageRejected('unknown-sender', `client '${msg.from}' sent ${msg.kind} before its hello`);
      if (msg.kind === 'hello') this.onHello(msg);
      else if (msg.kind === 'update') await this.onUpdate(msg, payload, bytes.byteLength);
      else if (msg.kind === 'eval-result') this.onEvalResult(msg, bytes.byteLength);
      else throw new MessageRejected('unexpected', `${msg.kind}: a trial's server runs no client tasks`);
    } catch (e) {
      if (e instanceof MessageRejected) this.reject(e.reason, e.message, subject);
      else if (e instanceof AggregatorError) this.fail(e.message);
      else this.reject('internal', e instanceof Error ? (e.stack ?? e.message) : String(e), subject);
    }
  }

  private reject(reason: RejectReason, message: string, subject: string): void {
    this.rejectedNow[reason] = (this.rejectedNow[reason] ?? 0) + 1;
    this.rejectedTotal[reason] = (this.rejectedTotal[reason] ?? 0) + 1;
    const line = `rejected (${reason}) on ${subject.slice(0, 200)}: ${message.slice(0, 300)}`;
    if (this.rejectedLogNow.length < REJECT_LOG_LINES) this.rejectedLogNow.push(line);
    this.log(line);
    this.o.onEvent?.({ type: 'rejected', reason, message, subject });
  }

  private log(line: string): void {
    this.o.log?.(`[server ${this.s.scope.study}/${this.s.scope.trial}] ${line}`);
  }

  private state(): FederationState {
    return {
      v: 1,
      study: this.s.scope.study,
      trial: this.s.scope.trial,
      seed: this.s.seed,
      round: this.completed,
      global: encodeGlobal(this.global),
      aggregator: { name: this.o.aggregator.name, state: this.o.aggregator.state() },
      history: structuredClone(this.history),
    };
  }
}
