// The ClientTaskCoordinator: the server side of client tasks, an actor on its own scope of the
// transport (study, trial `tasks`). It collects the clients' hellos (join), and for each request of
// the study broadcasts a typed `task`, collects the `task-result` / `task-error` replies on each
// client's own subject (checking sender, subject, task id, and the result against the task's own
// schema), resends to the missing at the deadline (retries), and answers with the replies it has. The
// study sees only ClientTaskRunner.run: strategies never touch the transport.
import type { ClientTaskReply, ClientTaskRequest, ClientTaskRunner } from '../hpo/client-task.js';
import { ClientTaskError, checkClientTaskResult } from '../hpo/client-tasks/registry.js';
import { type ActorSystemRef, type Mailbox, spawnActor } from './actor-system.js';
import { decodeClientMessage, encodeMessage, MESSAGE_VERSION, MessageRejected, type RejectReason, type TaskMsg } from './messages.js';
import type { Subscription, Transport, TransportStatus } from './transport.js';
import { clientDirectSubject, parseSubject, serverSubject, subjectPatterns, type TrialScope } from './transport-subjects.js';

export interface ClientTaskCoordinatorOptions {
  system: ActorSystemRef;
  transport: Transport;
  scope: TrialScope;
  /** The clients of the federation, in a fixed order. */
  clients: readonly string[];
  /** A client with another base model (or study stand-in) is refused. */
  modelSha256: string;
  /** Seconds to wait for replies before resending to the missing, and for hellos before the first task. */
  deadlineSeconds: number;
  joinTimeoutSeconds: number;
  retries: number;
  log?: (line: string) => void;
}

interface Running {
  readonly msg: TaskMsg;
  readonly expected: readonly string[];
  readonly replies: Map<string, ClientTaskReply>;
  readonly errors: Map<string, string>;
  readonly resolve: (replies: ClientTaskReply[]) => void;
}

type Inbox =
  | { type: 'start' }
  | { type: 'wire'; subject: string; payload: Uint8Array }
  | { type: 'run'; request: ClientTaskRequest; resolve: (r: ClientTaskReply[]) => void }
  | { type: 'deadline'; token: number }
  | { type: 'join-deadline' }
  | { type: 'reconnected' };

export class ClientTaskCoordinator implements ClientTaskRunner {
  private readonly mailbox: Mailbox<Inbox>;
  private readonly joined = new Set<string>();
  private joinOver = false;
  private subscription: Subscription | undefined;
  private waiting: Extract<Inbox, { type: 'run' }>[] = [];
  private running: Running | undefined;
  private taskId = 0;
  private timer: NodeJS.Timeout | undefined;
  private joinTimer: NodeJS.Timeout | undefined;
  private timerToken = 0;
  private closed = false;
  /** Refused client messages, by reason. */
  readonly rejected: Record<string, number> = {};
  private markReady!: () => void;
  /** Resolves once the coordinator listens (start clients after it, or they re-hello on `join`). */
  readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(private readonly o: ClientTaskCoordinatorOptions) {
    this.mailbox = spawnActor<null, Inbox>(
      o.system,
      'client-task-coordinator',
      null,
      async (state, msg) => {
        await this.handle(msg);
        return state;
      },
      (e) => this.log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
    );
    this.mailbox.post({ type: 'start' });
  }

  /** Runs `request` on every joined client; resolves with the replies that came (sorted by client). */
  run(request: ClientTaskRequest): Promise<ClientTaskReply[]> {
    if (this.closed) return Promise.reject(new Error('client tasks: the coordinator is closed'));
    return new Promise((resolve) => this.mailbox.post({ type: 'run', request, resolve }));
  }

  onTransportStatus(status: TransportStatus): void {
    if (status.type === 'reconnected') this.mailbox.post({ type: 'reconnected' });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.subscription?.unsubscribe();
    this.running?.resolve([...this.running.replies.values()]);
    for (const w of this.waiting.splice(0)) w.resolve([]);
    this.mailbox.stop();
  }

  private async handle(m: Inbox): Promise<void> {
    if (this.closed) return;
    switch (m.type) {
      case 'start':
        this.subscription = this.o.transport.subscribe(subjectPatterns.clientUpdates(this.o.scope), (msg) =>
          this.mailbox.post({ type: 'wire', subject: msg.subject, payload: msg.payload }),
        );
        await this.o.transport.flush();
        this.markReady();
        this.publishJoin();
        this.joinTimer = setTimeout(() => this.mailbox.post({ type: 'join-deadline' }), this.o.joinTimeoutSeconds * 1000);
        return;
      case 'join-deadline':
        if (!this.joinOver) {
          this.joinOver = true;
          const missing = this.o.clients.filter((c) => !this.joined.has(c));
          if (missing.length) this.log(`join deadline: going on without ${missing.join(', ')}`);
        }
        return this.next();
      case 'run':
        this.waiting.push(m);
        return this.next();
      case 'wire':
        return this.onWire(m.subject, m.payload);
      case 'deadline':
        if (m.token === this.timerToken) this.onDeadline();
        return;
      case 'reconnected':
        this.publishJoin();
        if (this.running) this.publishTask(this.missing());
        return;
    }
  }

  /** Starts the next waiting request once every client joined (or the join deadline passed). */
  private next(): void {
    if (this.running || !this.waiting.length) return;
    if (!this.joinOver && this.joined.size < this.o.clients.length) return;
    const { request, resolve } = this.waiting.shift()!;
    const expected = this.o.clients.filter((c) => this.joined.has(c));
    if (!expected.length) {
      this.log(`task ${request.task}: no client joined; no replies`);
      resolve([]);
      this.next();
      return;
    }
    const msg: TaskMsg = { v: MESSAGE_VERSION, kind: 'task', taskId: ++this.taskId, attempt: 0, task: request.task, args: request.args };
    this.running = { msg, expected, replies: new Map(), errors: new Map(), resolve };
    this.publishTask();
    this.setTimer();
  }

  private publishJoin(): void {
    const bytes = encodeMessage({
      v: MESSAGE_VERSION,
      kind: 'join',
      study: this.o.scope.study,
      trial: this.o.scope.trial,
      modelSha256: this.o.modelSha256,
      round: 0,
    });
    this.o.transport.publish(serverSubject(this.o.scope, 'join'), bytes);
  }

  /** To everyone, or (a retry, a rejoin) to the named clients only. */
  private publishTask(to?: readonly string[]): void {
    const r = this.running!;
    const bytes = encodeMessage(r.msg);
    if (!to) this.o.transport.publish(serverSubject(this.o.scope, 'task'), bytes);
    else for (const c of to) this.o.transport.publish(clientDirectSubject(this.o.scope, c, 'task'), bytes);
  }

  private missing(): string[] {
    const r = this.running;
    return r ? r.expected.filter((c) => !r.replies.has(c) && !r.errors.has(c)) : [];
  }

  private onWire(subject: string, bytes: Uint8Array): void {
    try {
      const p = parseSubject(subject);
      if (p?.kind !== 'client-update' || p.study !== this.o.scope.study || p.trial !== this.o.scope.trial)
        throw new MessageRejected('bad-subject', 'not a client subject of these tasks');
      const { msg } = decodeClientMessage(bytes);
      if (msg.from !== p.clientId)
        throw new MessageRejected('impersonation', `message from '${msg.from}' on the subject of '${p.clientId}'`);
      if (!this.o.clients.includes(msg.from))
        throw new MessageRejected('unknown-sender', `client '${msg.from}' is not a client of this study`);
      if (msg.kind === 'hello') {
        if (msg.modelSha256 !== this.o.modelSha256)
          throw new MessageRejected('model-mismatch', `client ${msg.from} has another base model`);
        const isNew = !this.joined.has(msg.from);
        this.joined.add(msg.from);
        if (!isNew && this.running && this.missing().includes(msg.from)) this.publishTask([msg.from]); // it may have missed it
        this.next();
        return;
      }
      if (msg.kind !== 'task-result' && msg.kind !== 'task-error')
        throw new MessageRejected('unexpected', `${msg.kind}: the task coordinator trains nothing`);
      const r = this.running;
      if (!r || msg.taskId !== r.msg.taskId)
        throw new MessageRejected(
          msg.taskId < this.taskId ? 'stale-round' : 'unexpected',
          `reply to task ${msg.taskId}, not the current one`,
        );
      if (msg.task !== r.msg.task) throw new MessageRejected('schema', `reply names task ${msg.task}, not ${r.msg.task}`);
      if (!r.expected.includes(msg.from)) throw new MessageRejected('not-selected', `client ${msg.from} was not asked`);
      if (r.replies.has(msg.from) || r.errors.has(msg.from)) throw new MessageRejected('duplicate', `second reply of ${msg.from}`);
      if (msg.kind === 'task-error') {
        r.errors.set(msg.from, msg.error);
        this.log(`task ${r.msg.task} failed on client ${msg.from}: ${msg.error}`);
      } else {
        let result: ReturnType<typeof checkClientTaskResult>;
        try {
          result = checkClientTaskResult(msg.task, msg.result);
        } catch (e) {
          if (e instanceof ClientTaskError) throw new MessageRejected('schema', e.message);
          throw e;
        }
        r.replies.set(msg.from, { client: msg.from, result, localSteps: msg.localSteps, clientRounds: msg.clientRounds });
      }
      if (!this.missing().length) this.finish();
    } catch (e) {
      if (!(e instanceof MessageRejected)) throw e;
      this.reject(e.reason, e.message, subject);
    }
  }

  private onDeadline(): void {
    const r = this.running;
    if (!r) return;
    const missing = this.missing();
    if (r.msg.attempt < this.o.retries) {
      r.msg.attempt++;
      this.log(`task ${r.msg.task}: deadline: resending to ${missing.join(', ')} (attempt ${r.msg.attempt + 1})`);
      this.publishTask(missing);
      this.setTimer();
      return;
    }
    this.log(`task ${r.msg.task}: deadline: going on without ${missing.join(', ')}`);
    this.finish();
  }

  private finish(): void {
    this.clearTimer();
    const r = this.running!;
    this.running = undefined;
    r.resolve(r.expected.filter((c) => r.replies.has(c)).map((c) => r.replies.get(c)!));
    this.next();
  }

  private reject(reason: RejectReason, message: string, subject: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.log(`rejected (${reason}) on ${subject.slice(0, 200)}: ${message.slice(0, 300)}`);
  }

  private setTimer(): void {
    this.clearTimer();
    const token = ++this.timerToken;
    this.timer = setTimeout(() => this.mailbox.post({ type: 'deadline', token }), this.o.deadlineSeconds * 1000);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerToken++;
  }

  private log(line: string): void {
    this.o.log?.(`[client tasks ${this.o.scope.study}] ${line}`);
  }
}
