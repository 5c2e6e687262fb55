// The ClientActor: stateless between rounds. It listens to the server's broadcasts and its own
// direct subject; on `round` (when selected) it trains from the received global with a fresh
// optimizer and its own stream for that round and sends its delta on its own update subject; on
// `evaluate` it scores the received global on its validation split. It keeps its last reply of
// each kind and sends it again when asked for the same round again (a retry, a server reconnect)
// instead of recomputing. Everything it needs comes in the messages: a transport, the model and
// its data are all it holds, so it runs as well in its own process as beside the server.
import type { LlamaModel } from '../model/model.js';
import { type CodecSettings, decodeTensors, encodeTensors } from '../fl/codec/codec.js';
import type { ClientData } from '../fl/client-data.js';
import { evaluateClientRound, trainClientRound } from '../fl/client-round.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import type { NamedTensors } from '../fl/tensors.js';
import { LoraAdapter, type LoraConfig } from '../peft/lora.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { type ActorSystemRef, type Mailbox, spawnActor } from './actor-system.js';
import type { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { ClientTaskResponder } from './client-task-responder.js';
import { ComputeLock } from './compute-lock.js';
import { decodeServerMessage, encodeMessage, type EvaluateMsg, MESSAGE_VERSION, MessageRejected, type RoundMsg } from './messages.js';
import { clientUpdateSubject, subjectPatterns, type TrialScope } from './transport-subjects.js';

export interface ClientActorOptions {
  system: ActorSystemRef;
  transport: Transport;
  scope: TrialScope;
  data: ClientData;
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
  /** A message this client failed to handle (its reply will not come): e.g. to end an in-process run at once. */
  onError?: (error: unknown) => void;
}

type ClientInbox = { type: 'start' } | { type: 'wire'; subject: string; payload: Uint8Array } | { type: 'reconnected' };

/** A computed reply, kept to be sent again for the same round. */
interface CachedReply {
  round: number;
  send(attempt: number): void;
}

export class ClientActor {
  readonly id: string;
  private readonly mailbox: Mailbox<ClientInbox>;
  private readonly lock: ComputeLock;
  private readonly subscriptions: Subscription[] = [];
  private adapter: { key: string; adapter: LoraAdapter } | undefined;
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
      this.subscriptions.push(
        this.o.transport.subscribe(subjectPatterns.serverBroadcasts(this.o.scope), (msg) => post(msg.subject, msg.payload)),
        this.o.transport.subscribe(subjectPatterns.clientDirect(this.o.scope, this.id), (msg) => post(msg.subject, msg.payload)),
      );
      await this.o.transport.flush(); // subscribed before the server can answer the hello
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
        return this.log(`server stopped the trial: ${msg.reason}`);
      case 'task':
        this.responder ??= new ClientTaskResponder(this.id, this.o.tasks);
        return this.send(await this.responder.answer(msg));
    }
  }

  private hello(): void {
    this.send(
      encodeMessage({
        v: MESSAGE_VERSION,
        kind: 'hello',
        from: this.id,
        modelSha256: this.o.modelSha256,
        trainSamples: this.o.data.train.length,
        validSamples: this.o.data.validation.length,
      }),
    );
  }

  private async onRound(msg: RoundMsg, payload: Uint8Array): Promise<void> {
    if (this.lastUpdate?.round === msg.round) return this.lastUpdate.send(msg.attempt);
    const global = this.decodeGlobal(payload);
    const adapter = this.adapterFor(msg.lora);
    const result = await this.lock.run(
      this.whileRunning(() =>
        trainClientRound({
          model: this.o.model,
          adapter,
          data: this.o.data,
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
    this.lastUpdate = {
      round: msg.round,
      send: (attempt) =>
        this.send(
          encodeMessage(
            {
              v: MESSAGE_VERSION,
              kind: 'update',
              from: this.id,
              round: msg.round,
              attempt,
              samples: result.samples,
              metrics: result.metrics,
            },
            tensors,
          ),
        ),
    };
    this.lastUpdate.send(msg.attempt);
  }

  private async onEvaluate(msg: EvaluateMsg, payload: Uint8Array): Promise<void> {
    if (this.lastEval?.round === msg.round) return this.lastEval.send(msg.attempt);
    const global = this.decodeGlobal(payload);
    const adapter = this.adapterFor(msg.lora);
    const r = await this.lock.run(
      this.whileRunning(() =>
        evaluateClientRound({
          model: this.o.model,
          adapter,
          data: this.o.data,
          global,
          batchSize: msg.batchSize,
          seqLen: msg.seqLen,
          padId: this.o.padId,
        }),
      ),
    );
    this.computed.evaluations++;
    this.lastEval = {
      round: msg.round,
      send: (attempt) =>
        this.send(
          encodeMessage({
            v: MESSAGE_VERSION,
            kind: 'eval-result',
            from: this.id,
            round: msg.round,
            attempt,
            lossSum: r.lossSum,
            tokens: r.tokens,
            samples: r.samples,
            seconds: r.seconds,
          }),
        ),
    };
    this.lastEval.send(msg.attempt);
  }

  /** Compute that waited for the lock is skipped once the client has stopped (its run is over). */
  private whileRunning<T>(fn: () => Promise<T>): () => Promise<T> {
    return () => (this.stopped ? Promise.reject(new Error(`client ${this.id} stopped`)) : fn());
  }

  private decodeGlobal(payload: Uint8Array): NamedTensors {
    return decodeTensors(payload).tensors;
  }

  /** One adapter object per LoRA shape, reused round after round (its values always come from the global). */
  private adapterFor(lora: LoraConfig): LoraAdapter {
    const key = JSON.stringify(lora);
    if (this.adapter?.key !== key) this.adapter = { key, adapter: LoraAdapter.init(this.o.model.cfg, lora, 0) };
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
