// A long-lived federated client (what `fedhpo fl client` runs): one transport connection, one loaded
// base model and this client's own data, serving every trial of one study until it is dismissed.
// It listens for the `join` of any trial of the study and starts a ClientActor for that trial (which
// says hello; the server checks its base model); the trial's `stop` ends that actor, and a `stop`
// with `exit` (or stop() on SIGINT/SIGTERM) ends the host, as does a study-wide dismissal
// (dismissStudyClients: the end of a study whose trials these clients served). A client whose data
// could not be loaded still answers the next join, with an `error` naming why, so the server knows
// instead of waiting.
import type { ClientDataSource } from '../fl/client-data.js';
import type { LoadedModel } from '../model/source.js';
import { type ActorSystemRef, startActorSystem, stopActorSystem } from './actor-system.js';
import { ClientActor } from './client-actor.js';
import { ComputeLock } from './compute-lock.js';
import { decodeServerMessage, encodeMessage, type ErrorMsg, MESSAGE_VERSION, MessageRejected } from './messages.js';
import { stopMessage } from './server-wire.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { clientUpdateSubject, parseSubject, serverSubject, subjectPatterns } from './transport-subjects.js';

/** The trial token of study-wide broadcasts (not a trial: trial names in configs never start with '_'). */
const STUDY_WIDE = '_study';

/** Tells every client host serving `study` to exit (a `stop` with `exit` on the study-wide `dismiss` subject). */
export async function dismissStudyClients(transport: Transport, study: string, reason: string): Promise<void> {
  transport.publish(serverSubject({ study, trial: STUDY_WIDE }, 'dismiss'), encodeMessage(stopMessage(reason, true)));
  await transport.flush();
}

/** Why a client host ended: the CLI exits 0 for `dismissed` and `stopped`, non-zero otherwise. */
export type ClientHostEnd =
  | { kind: 'dismissed'; reason: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'refused'; reason: string }
  | { kind: 'failed'; reason: string };

export interface ClientHostOptions {
  transport: Transport;
  study: string;
  id: string;
  model: LoadedModel;
  modelSha256: string;
  /** The client's data, or why it could not be loaded (reported to the server at the next join). */
  data: ClientDataSource | { error: string };
  log?: (line: string) => void;
  /** One line per trial joined and ended (what an operator wants without the full log). */
  notice?: (line: string) => void;
}

interface TrialClient {
  system: ActorSystemRef;
  actor: ClientActor;
}

export class ClientHost {
  /** Resolves once, when the host has ended (and let go of its actors; the transport is the caller's). */
  readonly ended: Promise<ClientHostEnd>;
  private resolveEnded!: (e: ClientHostEnd) => void;
  private readonly trials = new Map<string, TrialClient>();
  /** Trials whose server refused this client (not one of its clients): their repeated joins are ignored. */
  private readonly notMine = new Set<string>();
  private readonly lock = new ComputeLock();
  private readonly subscriptions: Subscription[] = [];
  private done = false;

  constructor(private readonly o: ClientHostOptions) {
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  /** Listens for the study's trials; resolves once the subscription has reached the server. */
  async start(): Promise<void> {
    const { study } = this.o;
    this.subscriptions.push(
      this.o.transport.subscribe(subjectPatterns.studyBroadcasts(study, 'join'), (m) => this.onJoin(m.subject)),
      this.o.transport.subscribe(serverSubject({ study, trial: STUDY_WIDE }, 'dismiss'), (m) => this.onDismiss(m.payload)),
    );
    await this.o.transport.flush();
    this.log(`waiting for trials of study ${this.o.study}`);
  }

  /** For the transport's onStatus: every trial's actor says hello again after a reconnect. */
  onTransportStatus(status: TransportStatus): void {
    for (const t of this.trials.values()) t.actor.onTransportStatus(status);
  }

  /** Ends the host (SIGINT/SIGTERM): each current trial's server is told this client is gone, so it need not wait. */
  stop(reason: string): void {
    for (const trial of this.trials.keys()) this.sendError(trial, `client stopped: ${reason}`);
    this.end({ kind: 'stopped', reason });
  }

  private onJoin(subject: string): void {
    if (this.done) return;
    const p = parseSubject(subject);
    if (p?.kind !== 'server' || p.study !== this.o.study || this.trials.has(p.trial) || this.notMine.has(p.trial)) return;
    if ('error' in this.o.data) {
      this.sendError(p.trial, this.o.data.error);
      this.end({ kind: 'failed', reason: this.o.data.error });
      return;
    }
    const system = startActorSystem();
    const trial = p.trial;
    const actor = new ClientActor({
      system,
      transport: this.o.transport,
      scope: { study: this.o.study, trial },
      data: this.o.data,
      model: this.o.model.model,
      padId: this.o.model.tokenizer.padId,
      modelSha256: this.o.modelSha256,
      computeLock: this.lock,
      ...(this.o.log ? { log: this.o.log } : {}),
      onStop: (msg) => {
        this.o.notice?.(`trial ${this.o.study}/${trial} over: ${msg.reason}`);
        this.dropTrial(trial);
        if (msg.exit) this.end({ kind: 'dismissed', reason: msg.reason });
      },
      onRefused: (msg) => {
        this.dropTrial(trial);
        // Another base model is this client's problem in every trial; not being in one trial is not.
        if (msg.code === 'model-mismatch') this.end({ kind: 'refused', reason: msg.reason });
        else this.notMine.add(trial);
      },
      onFailed: (reason) => this.end({ kind: 'failed', reason }),
    });
    this.trials.set(trial, { system, actor });
    this.o.notice?.(`joining trial ${this.o.study}/${trial}`);
    actor.start();
  }

  private onDismiss(bytes: Uint8Array): void {
    try {
      const { msg } = decodeServerMessage(bytes);
      if (msg.kind === 'stop' && msg.exit) this.end({ kind: 'dismissed', reason: msg.reason });
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      this.log(`ignored a study-wide message: ${e.message}`);
    }
  }

  private sendError(trial: string, reason: string): void {
    const msg: ErrorMsg = { v: MESSAGE_VERSION, kind: 'error', from: this.o.id, fatal: true, reason: reason.slice(0, 2000) };
    if (!this.o.transport.isClosed)
      this.o.transport.publish(clientUpdateSubject({ study: this.o.study, trial }, this.o.id), encodeMessage(msg));
  }

  private dropTrial(trial: string): void {
    const t = this.trials.get(trial);
    if (!t) return;
    this.trials.delete(trial);
    t.actor.stop();
    stopActorSystem(t.system);
  }

  private end(e: ClientHostEnd): void {
    if (this.done) return;
    this.done = true;
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    for (const trial of [...this.trials.keys()]) this.dropTrial(trial);
    this.resolveEnded(e);
  }

  private log(line: string): void {
    this.o.log?.(`[client ${this.o.id}] ${line}`);
  }
}
