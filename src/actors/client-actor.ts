// The ClientActor: stateless between rounds. It listens to the server's broadcasts and its own
// direct subject; on `round` (when selected) it trains from the received global with a fresh
// optimizer and its own stream for that round and sends its delta on its own update subject; on
// `evaluate` it scores the received global on its validation split. It keeps its last reply of
// each kind and sends it again when asked for the same round again (a retry, a server reconnect)
// instead of recomputing. Everything it needs comes in the messages: a transport, the model and
// its data are all it holds, so it runs as well in its own process as beside the server. A round it
// cannot compute (its data unusable at the round's seq_len ...) is reported to the server as an
// `error`, never dropped silently; work that waited for the compute lock is skipped once the client
// has stopped. On `task` it runs a client task (FTS, FLoRA) by name through its ClientTaskHost.
import { createHash } from 'node:crypto';
import { UserError } from '../engine/errors.js';
import type { LlamaModel } from '../model/model.js';
import { CodecError, type CodecSettings, decodeTensors, encodeTensors } from '../fl/codec/codec.js';
import type { ClientDataSource } from '../fl/client-data.js';
import { evaluateClientRound, trainClientRound } from '../fl/client-round.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import type { NamedTensors } from '../fl/tensors.js';
import { peftSettingsOf, type PeftSection } from '../fl/fl-config.js';
import type { Adapter } from '../peft/adapter.js';
import type { LoraConfig } from '../peft/lora.js';
import { adapterLayout } from '../peft/methods.js';
import { subscribeAsClient } from './client-subscriptions.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { type ActorSystemRef, type Mailbox, spawnActor } from './actor-system.js';
import type { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { ClientTaskResponder } from './client-task-responder.js';
import { ComputeLock } from './compute-lock.js';
import {
  decodeServerMessage,
  encodeMessage,
  type ErrorMsg,
  type EvaluateMsg,
  MESSAGE_VERSION,
  MessageRejected,
  type RefuseMsg,
  type RoundMsg,
  type StopMsg,
} from './messages.js';
import { clientUpdateSubject, type TrialScope } from './transport-subjects.js';

export interface ClientActorOptions {
  system: ActorSystemRef;
  transport: Transport;
  scope: TrialScope;
  data: ClientDataSource;
  model: LlamaModel;
  padId: number;
  /** sha256 of the base model files, told to the server in the hello. */
  modelSha256: string;
  /** Shared by the clients of one process so they train in turn on the one engine worker. */
  computeLock?: ComputeLock;
  /** Runs client tasks (FTS, FLoRA) on this client's data; without it a `task` is answered with task-error. */
  tasks?: ClientTaskHost;
  /** More trainer hooks on this client's local training (metering; tests that watch every step). */
  hooks?: TrainerHooks[];
  log?: (line: string) => void;
  /** The server refused this client (another base model, not a client of the trial). */
  onRefused?: (msg: RefuseMsg) => void;
  /** The server ended the trial. */
  onStop?: (msg: StopMsg) => void;
  /** A round or evaluation failed here (after the `error` went to the server). */
  onFailed?: (reason: string) => void;
  /**
   * A message this client failed to handle outside a round or evaluation (a bug: its reply will not
   * come), after a fatal `error` went to the server. A failed round or evaluation goes to onFailed.
   */
  onError?: (error: unknown) => void;
}

type ClientInbox = { type: 'start' } | { type: 'wire'; subject: string; payload: Uint8Array } | { type: 'reconnected' };

/** A computed reply, kept to be sent again for the same request (same round, same global, same settings). */
interface CachedReply {
  key: string;
  send(attempt: number): void;
}

/** What makes a request the same request: a rerun of a trial under the same name must not get an old reply. */
function requestKey(msg: RoundMsg | EvaluateMsg, payload: Uint8Array): string {
  const { attempt: _attempt, ...rest } = msg;
  return createHash('sha256').update(JSON.stringify(rest)).update(payload).digest('hex');
}

/** Compute skipped because the client stopped while it waited for the lock. */
class ClientStopped extends Error {
  constructor(id: string) {
    super(`client ${id} stopped`);
  }
}

export class ClientActor {
  readonly id: string;
  private readonly mailbox: Mailbox<ClientInbox>;
  private readonly lock: ComputeLock;
  private readonly subscriptions: Subscription[] = [];
  private adapter: { key: string; adapter: Adapter } | undefined;
  private lastUpdate: CachedReply | undefined;
  private lastEval: CachedReply | undefined;
  private stopped = false;
  private responder: ClientTaskResponder | undefined;
  /** Server messages this client refused (undecodable, schema ...), by reason. */
  readonly rejected: Record<string, number> = {};
  /** Rounds trained and evaluations computed (not resent ones). */
  readonly computed = { rounds: 0, evaluations: 0 };

  constructor(private readonly o: ClientActorOptions) {
    this.id = o.data.id;
    this.lock = o.computeLock ?? new ComputeLock();
    this.mailbox = spawnActor<null, ClientInbox>(
      o.system,
      `client-${this.id}`,
      null,
      async (state, msg) => {
        await this.handle(msg);
        return state;
      },
      (e) => {
        if (this.stopped) return; // work queued before the stop, skipped (see whileRunning)
        this.log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        // Said to the server like a failed round, so that it does not wait for a reply that will not come.
        this.reportError(`failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, true);
        o.onError?.(e);
      },
    );
  }

  /** Subscribes and says hello. */
  start(): void {
    this.mailbox.post({ type: 'start' });
  }

  onTransportStatus(status: TransportStatus): void {
    if (status.type === 'reconnected') this.mailbox.post({ type: 'reconnected' });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    this.mailbox.stop();
  }

  private async handle(m: ClientInbox): Promise<void> {
    if (this.stopped) return;
    if (m.type === 'start') {
      const post = (subject: string, payload: Uint8Array): void => this.mailbox.post({ type: 'wire', subject, payload });
      await subscribeAsClient(this.o.transport, this.o.scope, this.id, post, this.subscriptions);
      return this.hello();
    }
    if (m.type === 'reconnected') return this.hello();
    let received: ReturnType<typeof decodeServerMessage>;
    try {
      received = decodeServerMessage(m.payload);
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      this.rejected[e.reason] = (this.rejected[e.reason] ?? 0) + 1;
      return this.log(`ignored a message on ${m.subject}: ${e.message}`);
    }
    const { msg, payload } = received;
    switch (msg.kind) {
      case 'join':
        return this.hello();
      case 'round':
        if (msg.selected.includes(this.id)) await this.onRound(msg, payload);
        return;
      case 'evaluate':
        return this.onEvaluate(msg, payload);
      case 'stop':
        this.log(`server stopped the trial: ${msg.reason}`);
        return this.o.onStop?.(msg);
      case 'refuse':
        this.log(`refused by the server (${msg.code}): ${msg.reason}`);
        return this.o.onRefused?.(msg);
      case 'task':
        this.responder ??= new ClientTaskResponder(this.id, this.o.tasks);
        return this.send(await this.responder.answer(msg));
    }
  }

  /** Runs a round's or an evaluation's work; a failure goes to the server as a fatal `error` (and to onFailed). */
  private async orReport(round: number, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      if (this.stopped || e instanceof ClientStopped) return; // the run is over: nobody waits for this reply
      // One line for the server and the exit; a bug's stack stays in this client's log.
      const reason = `${what} of round ${round} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      this.log(e instanceof Error && !(e instanceof UserError) ? `${reason}\n${e.stack}` : reason);
      this.reportError(reason, true, round);
      this.o.onFailed?.(reason);
    }
  }

  /** Tells the server this client cannot go on (or had a passing problem, fatal false). */
  reportError(reason: string, fatal: boolean, round?: number): void {
    const msg: ErrorMsg = {
      v: MESSAGE_VERSION,
      kind: 'error',
      from: this.id,
      fatal,
      reason: reason.slice(0, 2000),
      ...(round === undefined ? {} : { round }),
    };
    this.send(encodeMessage(msg));
  }

  private hello(): void {
    this.send(
      encodeMessage({
        v: MESSAGE_VERSION,
        kind: 'hello',
        from: this.id,
        modelSha256: this.o.modelSha256,
        trainSamples: this.o.data.trainSamples,
        validSamples: this.o.data.validSamples,
      }),
    );
  }

  private async onRound(msg: RoundMsg, payload: Uint8Array): Promise<void> {
    const key = requestKey(msg, payload);
    if (this.lastUpdate?.key === key) return this.lastUpdate.send(msg.attempt);
    const global = this.decodeGlobal(payload, 'round', msg.round);
    if (global) return this.orReport(msg.round, 'training', () => this.train(msg, global, key));
  }

  private async train(msg: RoundMsg, global: NamedTensors, key: string): Promise<void> {
    const adapter = this.adapterFor(msg.lora, msg.peft);
    const data = this.o.data.encoded(msg.train.seq_len);
    this.log(`training round ${msg.round} of ${this.o.scope.study}/${this.o.scope.trial} (${msg.train.local_steps} local steps)`);
    const result = await this.lock.run(
      this.whileRunning(() =>
        trainClientRound({
          model: this.o.model,
          adapter,
          data,
          global,
          round: msg.round,
          seed: msg.seed,
          train: msg.train,
          aggregatorConfig: msg.aggregatorConfig,
          padId: this.o.padId,
          ...(this.o.hooks ? { hooks: this.o.hooks } : {}),
        }),
      ),
    );
    this.computed.rounds++;
    const codec: CodecSettings = { ...msg.codec };
    const tensors = encodeTensors(result.delta, codec);
    this.lastUpdate = this.updateReply(key, msg.round, result.samples, result.metrics, tensors);
    this.lastUpdate.send(msg.attempt);
  }

  private async onEvaluate(msg: EvaluateMsg, payload: Uint8Array): Promise<void> {
    const key = requestKey(msg, payload);
    if (this.lastEval?.key === key) return this.lastEval.send(msg.attempt);
    const global = this.decodeGlobal(payload, 'evaluate', msg.round);
    if (global) return this.orReport(msg.round, 'evaluation', () => this.evaluate(msg, global, key));
  }

  private async evaluate(msg: EvaluateMsg, global: NamedTensors, key: string): Promise<void> {
    const adapter = this.adapterFor(msg.lora, msg.peft);
    const data = this.o.data.encoded(msg.seqLen);
    const r = await this.lock.run(
      this.whileRunning(() =>
        evaluateClientRound({
          model: this.o.model,
          adapter,
          data,
          global,
          batchSize: msg.batchSize,
          seqLen: msg.seqLen,
          padId: this.o.padId,
        }),
      ),
    );
    this.computed.evaluations++;
    this.lastEval = this.evalReply(key, msg.round, r.lossSum, r.tokens, r.samples, r.seconds);
    this.lastEval.send(msg.attempt);
  }

  // The cached replies are built here, not inline in train/evaluate: a closure there would keep the
  // whole handler scope alive (the decoded global, the fp32 delta), ~3 adapter copies per client
  // (bench:fl memory: 544 -> 288 MB growth for 99 more clients).
  private updateReply(key: string, round: number, samples: number, metrics: Record<string, number>, tensors: Uint8Array): CachedReply {
    return {
      key,
      send: (attempt) =>
        this.send(encodeMessage({ v: MESSAGE_VERSION, kind: 'update', from: this.id, round, attempt, samples, metrics }, tensors)),
    };
  }

  private evalReply(key: string, round: number, lossSum: number, tokens: number, samples: number, seconds: number): CachedReply {
    return {
      key,
      send: (attempt) =>
        this.send(
          encodeMessage({ v: MESSAGE_VERSION, kind: 'eval-result', from: this.id, round, attempt, lossSum, tokens, samples, seconds }),
        ),
    };
  }

  /** Compute that waited for the lock is skipped once the client has stopped (its run is over). */
  private whileRunning<T>(fn: () => Promise<T>): () => Promise<T> {
    return () => (this.stopped ? Promise.reject(new ClientStopped(this.id)) : fn());
  }

  /** The global adapter of a request; undefined (counted, logged: not this client's fault) when the payload is not one. */
  private decodeGlobal(payload: Uint8Array, kind: string, round: number): NamedTensors | undefined {
    try {
      return decodeTensors(payload).tensors;
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.rejected['bad-tensors'] = (this.rejected['bad-tensors'] ?? 0) + 1;
      this.log(`ignored a ${kind} for round ${round}: ${e.message}`);
      return undefined;
    }
  }

  /** One adapter object per adapter shape, reused round after round (its values always come from the global). */
  private adapterFor(lora: LoraConfig, peft: PeftSection | undefined): Adapter {
    const key = JSON.stringify([lora, peft ?? null]);
    if (this.adapter?.key !== key) this.adapter = { key, adapter: adapterLayout(this.o.model.cfg, peftSettingsOf(lora, peft)) };
    return this.adapter.adapter;
  }

  private send(bytes: Uint8Array): void {
    if (this.stopped || this.o.transport.isClosed) return;
    this.o.transport.publish(clientUpdateSubject(this.o.scope, this.id), bytes);
  }

  private log(line: string): void {
    this.o.log?.(`[client ${this.id}] ${line}`);
  }
}
