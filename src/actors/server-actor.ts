// The ServerActor: the one holder of a trial's state (round, global adapter, aggregator state). Per
// round: configureRound (sampling) -> `round` to each selected client -> collect updates until all
// arrived or the deadline -> aggregate with a quorum, else retry (attempt + 1), else fail the run ->
// `evaluate` to every client -> validation loss = sample-weighted mean of the clients' losses of the
// new global on their own validation splits -> next round. Every inbound message is dispatched into
// the actor's mailbox and handled there, one at a time; timers are messages to itself. Nothing a
// client sends can crash it: a bad message is rejected with a reason, counted and logged.
import { UserError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { AggregatorError } from '../fl/aggregator.js';
import { encodeTensors } from '../fl/codec/codec.js';
import { addScaled, cloneTensors, type NamedTensors } from '../fl/tensors.js';
import type { Subscription, TransportStatus } from './transport.js';
import { type Mailbox, spawnActor } from './actor-system.js';
import { type AcceptedUpdate, aggregateRound } from './aggregate-round.js';
import { ClientRoster } from './client-roster.js';
import { encodeGlobal, type FederationState, type RoundRecord } from './federation-state.js';
import {
  encodeMessage,
  type ErrorMsg,
  type EvalResultMsg,
  type HelloMsg,
  MessageRejected,
  type RefuseMsg,
  type RejectReason,
  type ServerMessage,
  type UpdateMsg,
} from './messages.js';
import { quorumOf, RoundCollector } from './round-collector.js';
import { emptyRoundRecord, type EvalReply, evalDue, recordTraining, recordValidation } from './round-record.js';
import { FederationError, type ServerActorOptions, type ServerResult, type ServerSettings, startingPoint } from './server-settings.js';
import { DeadlineTimer, RepeatTimer } from './actor-timers.js';
import { RejectionTally } from './rejection-tally.js';
import {
  type AggregatorTrainConfig,
  evaluateMessage,
  joinMessage,
  outOfPhase,
  receiveClientMessage,
  refuseMessage,
  roundMessage,
  stopMessage,
} from './server-wire.js';
import { clientDirectSubject, serverSubject, subjectPatterns } from './transport-subjects.js';
import { admitDelta, updateDecodeLimits } from './update-admission.js';

// Re-exported: callers import the actor and its types from here.
export { FederationError, type ServerActorOptions, type ServerEvent, type ServerResult, type ServerSettings } from './server-settings.js';

type ServerInbox =
  | { type: 'start' }
  | { type: 'wire'; subject: string; payload: Uint8Array }
  | { type: 'deadline'; token: number }
  | { type: 'reconnected' }
  | { type: 'join-repeat' }
  | { type: 'abort'; reason: string }
  | { type: 'snapshot'; reply: (s: FederationState) => void };

type Phase = 'idle' | 'joining' | 'training' | 'evaluating' | 'done';

export class ServerActor {
  private readonly s: ServerSettings;
  private readonly mailbox: Mailbox<ServerInbox>;
  private readonly roster: ClientRoster;
  /** While joining, `join` is broadcast again every second, so a client process started after the server still hears it. */
  private readonly joinRepeat = new RepeatTimer(1000, () => this.mailbox.post({ type: 'join-repeat' }));
  private readonly stopAfter: number;
  private phase: Phase = 'idle';
  private global: NamedTensors;
  private globalBytes: Uint8Array | undefined;
  private completed: number;
  private readonly history: RoundRecord[];
  private record: RoundRecord | undefined;
  private roundStarted = 0;
  private training: RoundCollector<AcceptedUpdate> | undefined;
  private evaluation: RoundCollector<EvalReply> | undefined;
  private readonly rejections = new RejectionTally();
  private subscription: Subscription | undefined;
  private readonly deadline = new DeadlineTimer((token) => this.mailbox.post({ type: 'deadline', token }));
  private readonly limits;
  private readonly finished: Promise<ServerResult>;
  private settle!: { resolve: (r: ServerResult) => void; reject: (e: Error) => void };
  private markReady!: () => void;
  /** Resolves once the server listens for its clients (start clients after it, or they re-hello on `join`). */
  readonly ready: Promise<void>;

  constructor(private readonly o: ServerActorOptions) {
    this.s = o.settings;
    this.roster = new ClientRoster(o.clients);
    if (!this.roster.distinct) throw new FederationError('server: client ids must be distinct');
    this.stopAfter = Math.min(o.stopAfterRound ?? this.s.rounds, this.s.rounds);
    ({ global: this.global, completed: this.completed, history: this.history } = startingPoint(o));
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
    this.deadline.clear();
    this.joinRepeat.stop();
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
        if (this.deadline.expired(m.token)) await this.onDeadline();
        return;
      case 'reconnected':
        return this.republish();
      case 'join-repeat':
        if (this.phase === 'joining') this.publishJoin();
        return;
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
    this.joinRepeat.start();
    this.deadline.set(this.s.round.join_timeout_s);
  }

  private publishJoin(): void {
    this.broadcast(joinMessage(this.s, this.completed));
  }

  private onHello(h: HelloMsg): void {
    if (h.modelSha256 !== this.s.modelSha256) {
      const reason = `client ${h.from} has base model sha256 ${h.modelSha256.slice(0, 12)}…, the server ${this.s.modelSha256.slice(0, 12)}… (another base model or revision)`;
      this.refuse(h.from, 'model-mismatch', reason);
      // Not waited for (as if it had failed) until a client of that id says hello with the right model.
      if (!this.roster.hasJoined(h.from)) this.roster.fail(h.from, 'another base model');
      if (this.phase === 'joining') this.checkJoined();
      throw new MessageRejected('model-mismatch', reason);
    }
    const isNew = this.roster.join(h.from);
    if (this.phase === 'joining') {
      this.checkJoined();
      return;
    }
    // A client that (re)joins mid-request may have missed it: send it again.
    if (this.phase === 'training' && this.training?.missing().includes(h.from)) this.publishRound([h.from]);
    if (this.phase === 'evaluating' && this.evaluation?.missing().includes(h.from)) this.publishEvaluate([h.from]);
    if (isNew) this.log(`client ${h.from} joined during round ${this.completed + 1}`);
  }

  /** Tells one client (on its direct subject) why the server will not work with it. */
  private refuse(client: string, code: RefuseMsg['code'], reason: string): void {
    this.o.transport.publish(clientDirectSubject(this.s.scope, client, 'refuse'), encodeMessage(refuseMessage(code, reason)));
  }

  /** A client's `error`: logged with its reason; a fatal one takes the client out of the trial (no wait for it). */
  private async onClientError(e: ErrorMsg): Promise<void> {
    const at = e.round === undefined ? '' : ` in round ${e.round}`;
    this.log(`client ${e.from} reported ${e.fatal ? 'a fatal error' : 'an error'}${at}: ${e.reason}`);
    this.o.onEvent?.({ type: 'client-error', client: e.from, reason: e.reason, fatal: e.fatal });
    if (!e.fatal) return;
    this.roster.fail(e.from, e.reason);
    if (this.phase === 'joining') return this.checkJoined();
    return this.decideIfOnlyFailedMissing();
  }

  /** When the clients still missing have all failed, nobody is left to wait for: decide now, not at the deadline. */
  private async decideIfOnlyFailedMissing(): Promise<void> {
    const c = this.phase === 'training' ? this.training : this.phase === 'evaluating' ? this.evaluation : undefined;
    const d = c?.withoutGone((m) => this.roster.isFailed(m));
    if (d?.kind === 'proceed') return this.phase === 'training' ? this.finishTraining() : this.finishEval();
    if (d?.kind === 'fail')
      return this.fail(`${this.phase === 'evaluating' ? 'evaluation: ' : ''}${d.reason}: ${this.roster.describe(c!.missing())}`);
  }

  /** While joining: begin once every client has joined, or decide once every client has joined or failed. */
  private checkJoined(): void {
    if (this.roster.complete) this.beginTrial();
    else if (this.roster.settled) this.joinDeadline();
  }

  /** Joining ends (`when`: the deadline, else every client answered): go on with those who joined if they make the quorum. */
  private joinDeadline(when = '', timedOut = false): void {
    const outcome = this.roster.joinOutcome(this.s.round.quorum, when);
    // Silent clients at the deadline: most often client processes of another study (or none started).
    const hint = timedOut ? ` (clients join the trials of study '${this.s.scope.study}': fl client --study)` : '';
    if (outcome.kind === 'fail') this.fail(`${outcome.reason}${hint}`);
    else {
      if (outcome.kind === 'go-on') this.log(outcome.line);
      this.beginTrial();
    }
  }

  private beginTrial(): void {
    this.deadline.clear();
    this.joinRepeat.stop();
    this.o.onEvent?.({ type: 'joined', clients: this.roster.available() });
    if (this.completed >= this.stopAfter) this.finish();
    else if (this.completed === 0 && !this.history.some((r) => r.round === 0)) this.beginEval(0, this.newRecord(0, []));
    else this.beginRound(this.completed + 1);
  }

  // ---- training

  private newRecord(round: number, selected: string[]): RoundRecord {
    this.roundStarted = performance.now();
    return emptyRoundRecord(round, selected, this.roster.expected);
  }

  private beginRound(round: number): void {
    const available = this.roster.available();
    const plan = this.o.aggregator.configureRound(round, available, new Rng(this.s.seed).fork('sampling').fork(round));
    const selected = plan.clients;
    if (!selected.length || new Set(selected).size !== selected.length || selected.some((c) => !available.includes(c)))
      throw new AggregatorError(
        `${this.o.aggregator.name}: configureRound chose [${selected.join(', ')}], not distinct clients among [${available.join(', ')}]`,
      );
    this.record = this.newRecord(round, [...selected]);
    this.record.attempts = 1;
    this.aggregatorConfig = plan.trainConfig ?? {};
    this.training = new RoundCollector<AcceptedUpdate>({
      round,
      expected: selected,
      quorum: quorumOf(this.s.round.quorum, selected.length),
      retries: this.s.round.retries,
      what: 'update',
    });
    this.phase = 'training';
    this.o.onEvent?.({ type: 'round-started', round, attempt: 0, selected: [...selected] });
    this.publishRound(selected);
    this.deadline.set(this.s.round.deadline_s);
  }

  private aggregatorConfig: AggregatorTrainConfig = {};

  private globalPayload(): Uint8Array {
    this.globalBytes ??= encodeTensors(this.global, { precision: 'fp32' });
    return this.globalBytes;
  }

  private publishRound(to: readonly string[]): void {
    const c = this.training!;
    const bytes = encodeMessage(
      roundMessage(this.s, { round: c.round, attempt: c.attempt, selected: c.expected }, this.aggregatorConfig),
      this.globalPayload(),
    );
    for (const id of to) {
      this.o.transport.publish(clientDirectSubject(this.s.scope, id, 'round'), bytes);
      this.record!.clients[id]!.downloadBytes += bytes.byteLength;
    }
  }

  private async onUpdate(u: UpdateMsg, payload: Uint8Array, size: number): Promise<void> {
    const c = this.training;
    if (this.phase !== 'training' || !c) throw outOfPhase('update', u.round, this.completed, this.phase);
    c.check(u.from, u.round, u.attempt);
    const delta = admitDelta(this.global, payload, this.limits, `update from client ${u.from} for round ${u.round}`);
    c.accept(u.from, { samples: u.samples, weights: addScaled(this.global, delta, 1), metrics: u.metrics });
    this.record!.clients[u.from]!.uploadBytes += size;
    return c.complete ? this.finishTraining() : this.decideIfOnlyFailedMissing();
  }

  private async finishTraining(): Promise<void> {
    this.deadline.clear();
    const c = this.training!;
    this.training = undefined;
    const accepted = c.accepted();
    this.global = await aggregateRound(this.o.aggregator, this.global, accepted, c.round);
    this.globalBytes = undefined;
    const rec = this.record!;
    recordTraining(rec, accepted, c.attempt + 1);
    if (evalDue(c.round, this.s.eval.every, this.s.rounds)) this.beginEval(c.round, rec);
    else this.completeRound(rec);
  }

  // ---- evaluation

  private beginEval(round: number, rec: RoundRecord): void {
    this.record = rec;
    const expected = this.roster.available();
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
    this.deadline.set(this.s.round.deadline_s);
  }

  /** To everyone (a broadcast) or, for a retry or a rejoin, to the named clients only. */
  private publishEvaluate(to?: readonly string[]): void {
    const c = this.evaluation!;
    const bytes = encodeMessage(evaluateMessage(this.s, c), this.globalPayload());
    if (to) for (const id of to) this.o.transport.publish(clientDirectSubject(this.s.scope, id, 'evaluate'), bytes);
    else this.o.transport.publish(serverSubject(this.s.scope, 'evaluate'), bytes);
    // A broadcast reaches every subscribed client of the trial: each downloads it.
    for (const id of to ?? this.roster.available()) this.record!.clients[id]!.downloadBytes += bytes.byteLength;
  }

  private async onEvalResult(r: EvalResultMsg, size: number): Promise<void> {
    const c = this.evaluation;
    if (this.phase !== 'evaluating' || !c) {
      if (r.round <= this.completed) throw new MessageRejected('stale-round', `evaluation for round ${r.round}: round ${r.round} is over`);
      throw new MessageRejected('unexpected', `evaluation for round ${r.round}: not evaluating now (${this.phase})`);
    }
    c.check(r.from, r.round, r.attempt);
    c.accept(r.from, { lossSum: r.lossSum, tokens: r.tokens, samples: r.samples });
    this.record!.clients[r.from]!.uploadBytes += size;
    return c.complete ? this.finishEval() : this.decideIfOnlyFailedMissing();
  }

  private finishEval(): void {
    this.deadline.clear();
    const c = this.evaluation!;
    this.evaluation = undefined;
    const rec = this.record!;
    recordValidation(rec, c.accepted());
    this.completeRound(rec);
  }

  // ---- round end, deadlines, failures

  private completeRound(rec: RoundRecord): void {
    rec.seconds = (performance.now() - this.roundStarted) / 1000;
    Object.assign(rec, this.rejections.takeRound());
    this.history.push(rec);
    this.completed = rec.round;
    this.record = undefined;
    this.o.onEvent?.({ type: 'round-done', record: rec });
    if (rec.round >= this.stopAfter) this.finish();
    else this.beginRound(rec.round + 1);
  }

  private async onDeadline(): Promise<void> {
    if (this.phase === 'joining') return this.joinDeadline(` within ${this.s.round.join_timeout_s} s (round.join_timeout_s)`, true);
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
    this.deadline.set(this.s.round.deadline_s);
  }

  private republish(): void {
    if (this.phase === 'joining') this.publishJoin();
    else if (this.phase === 'training' && this.training) this.publishRound(this.training.missing());
    else if (this.phase === 'evaluating' && this.evaluation) this.publishEvaluate(this.evaluation.missing());
  }

  private finish(): void {
    this.end('done');
    this.settle.resolve({
      state: this.state(),
      global: cloneTensors(this.global),
      history: this.history,
      rejected: this.rejections.total(),
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
    this.deadline.clear();
    this.joinRepeat.stop();
    try {
      this.broadcast(stopMessage(reason, this.s.dismissClients ?? false));
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
      const { msg, payload } = receiveClientMessage(this.s, subject, bytes);
      if (!this.roster.includes(msg.from)) {
        const reason = `client '${msg.from}' is not a client of this trial (its clients: ${this.roster.expected.join(', ')})`;
        if (msg.kind === 'hello') this.refuse(msg.from, 'not-in-trial', reason);
        throw new MessageRejected('unknown-sender', reason);
      }
      // An error may come before the hello (a client whose data file is bad never says hello).
      if (msg.kind === 'error') return await this.onClientError(msg);
      if (msg.kind !== 'hello' && !this.roster.hasJoined(msg.from))
        throw new MessageRejected('unknown-sender', `client '${msg.from}' sent ${msg.kind} before its hello`);
      if (msg.kind === 'hello') this.onHello(msg);
      else if (msg.kind === 'update') await this.onUpdate(msg, payload, bytes.byteLength);
      else if (msg.kind === 'eval-result') await this.onEvalResult(msg, bytes.byteLength);
      else throw new MessageRejected('unexpected', `${msg.kind}: a trial's server runs no client tasks`);
    } catch (e) {
      if (e instanceof MessageRejected) this.reject(e.reason, e.message, subject);
      else if (e instanceof AggregatorError) this.fail(e.message);
      else this.reject('internal', e instanceof Error ? (e.stack ?? e.message) : String(e), subject);
    }
  }

  private reject(reason: RejectReason, message: string, subject: string): void {
    const line = `rejected (${reason}) on ${subject.slice(0, 200)}: ${message.slice(0, 300)}`;
    this.rejections.add(reason, line);
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
