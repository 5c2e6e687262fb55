// The TaskClientActor: a client that only runs client tasks (no model of its own in this process's
// federation): it says hello, answers `task` messages through its ClientTaskHost on its own update
// subject, and ignores training requests. Used for studies on the synthetic objective (each client a
// synthetic objective of its own) and by `fedhpo clients serve` in a separate process over NATS.
import type { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { type ActorSystemRef, type Mailbox, spawnActor } from './actor-system.js';
import { ClientTaskResponder } from './client-task-responder.js';
import { decodeServerMessage, encodeMessage, MESSAGE_VERSION, MessageRejected } from './messages.js';
import { subscribeAsClient } from './client-subscriptions.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { clientUpdateSubject, type TrialScope } from './transport-subjects.js';

export interface TaskClientOptions {
  system: ActorSystemRef;
  transport: Transport;
  scope: TrialScope;
  clientId: string;
  host: ClientTaskHost;
  /** What the coordinator checks the hello against (the base model's sha256, or the study's stand-in). */
  modelSha256: string;
  /** Sees every message this client publishes (tests: privacy checks). */
  onSend?: (subject: string, bytes: Uint8Array) => void;
  log?: (line: string) => void;
}

type Inbox = { type: 'start' } | { type: 'wire'; subject: string; payload: Uint8Array } | { type: 'reconnected' };

export class TaskClientActor {
  readonly id: string;
  private readonly mailbox: Mailbox<Inbox>;
  private readonly responder: ClientTaskResponder;
  private readonly subscriptions: Subscription[] = [];
  private stopped = false;
  /** Server messages refused, by reason. */
  readonly rejected: Record<string, number> = {};
  /** Task messages answered (a retry of the same task is answered from the cache, and counted). */
  tasks = 0;

  constructor(private readonly o: TaskClientOptions) {
    this.id = o.clientId;
    this.responder = new ClientTaskResponder(o.clientId, o.host);
    this.mailbox = spawnActor<null, Inbox>(
      o.system,
      `task-client-${o.clientId}`,
      null,
      async (state, msg) => {
        await this.handle(msg);
        return state;
      },
      (e) => this.o.log?.(`[client ${this.id}] error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
    );
  }

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

  private async handle(m: Inbox): Promise<void> {
    if (this.stopped) return;
    if (m.type === 'start') {
      const post = (subject: string, payload: Uint8Array): void => this.mailbox.post({ type: 'wire', subject, payload });
      await subscribeAsClient(this.o.transport, this.o.scope, this.id, post, this.subscriptions);
      return this.hello();
    }
    if (m.type === 'reconnected') return this.hello();
    let msg: ReturnType<typeof decodeServerMessage>['msg'];
    try {
      msg = decodeServerMessage(m.payload).msg;
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      this.rejected[e.reason] = (this.rejected[e.reason] ?? 0) + 1;
      return;
    }
    if (msg.kind === 'join') return this.hello();
    if (msg.kind === 'task') {
      const bytes = await this.responder.answer(msg);
      this.tasks++;
      return this.send(bytes);
    }
    // round / evaluate / stop: this client trains nothing.
  }

  private hello(): void {
    this.send(
      encodeMessage({
        v: MESSAGE_VERSION,
        kind: 'hello',
        from: this.id,
        modelSha256: this.o.modelSha256,
        trainSamples: 0,
        validSamples: 0,
      }),
    );
  }

  private send(bytes: Uint8Array): void {
    if (this.stopped || this.o.transport.isClosed) return;
    const subject = clientUpdateSubject(this.o.scope, this.id);
    this.o.onSend?.(subject, bytes);
    this.o.transport.publish(subject, bytes);
  }
}
