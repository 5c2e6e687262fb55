// The in-process Transport: a bus (playing the nats-server) and connections to it (playing NATS
// connections), with the same semantics as NatsTransport: asynchronous delivery, publish order kept per
// publisher, wildcards, request/reply with timeout and no-responders, echo to the publisher's own
// subscriptions, and copied payloads (a receiver can never mutate the sender's or another receiver's bytes).

import {
  copyBytes,
  DEFAULT_MAX_MESSAGE_BYTES,
  type MessageHandler,
  type Subscription,
  type Transport,
  type TransportHooks,
  type TransportMessage,
} from './transport.js';
import { InvalidSubjectError, PayloadTooLargeError, TransportClosedError, TransportNoRespondersError } from './transport-errors.js';
import { PendingRequests } from './transport-requests.js';
import { TransportReporter } from './transport-hooks.js';
import { TransportMeter } from './transport-meter.js';
import { assertPublishSubject, SubjectPattern } from './transport-subject-pattern.js';

interface BusSubscription {
  readonly pattern: SubjectPattern;
  readonly owner: InProcessTransport;
  readonly handler: MessageHandler;
  active: boolean;
}

type QueueEntry = { sub: BusSubscription; subject: string; payload: Uint8Array; reply?: string } | { flushed: () => void };

/** Deliveries per event-loop turn: a handler that republishes forever cannot starve timers and I/O. */
const BATCH = 1000;

export class InProcessBus {
  private readonly subs = new Set<BusSubscription>();
  private readonly queue: QueueEntry[] = [];
  private head = 0;
  private scheduled = false;
  private nextConnection = 0;

  /** A new connection to this bus. */
  connect(opts: Omit<InProcessTransportOptions, 'bus'> = {}): InProcessTransport {
    return new InProcessTransport({ ...opts, bus: this });
  }

  /** @internal a unique id per connection, for its reply inbox. */
  connectionId(): number {
    return ++this.nextConnection;
  }

  /** @internal */
  add(sub: BusSubscription): void {
    this.subs.add(sub);
  }

  /** @internal */
  remove(sub: BusSubscription): void {
    sub.active = false;
    this.subs.delete(sub);
  }

  /** @internal enqueues one copy per matching subscription; returns how many matched. */
  publish(subject: string, payload: Uint8Array, reply?: string): number {
    let n = 0;
    for (const sub of this.subs) {
      if (!sub.pattern.matches(subject)) continue;
      this.queue.push({ sub, subject, payload: copyBytes(payload), reply });
      n++;
    }
    if (n > 0) this.schedule();
    return n;
  }

  /** @internal resolves once everything enqueued before it has been handed to its handler. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ flushed: resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const end = Math.min(this.queue.length, this.head + BATCH);
    while (this.head < end) {
      const e = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as QueueEntry; // let the payload be collected
      if ('flushed' in e) e.flushed();
      else if (e.sub.active) e.sub.owner.deliver(e.sub, e.subject, e.payload, e.reply);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else {
      this.schedule();
    }
  }
}

export interface InProcessTransportOptions extends TransportHooks {
  /** The bus to connect to; a private one (loopback only) when omitted. */
  bus?: InProcessBus;
  /** Names this connection in stderr lines when no onError hook is given. */
  name?: string;
  maxMessageBytes?: number;
  inboxPrefix?: string;
}

export class InProcessTransport implements Transport {
  readonly meter: TransportMeter;
  readonly maxMessageBytes: number;
  private readonly bus: InProcessBus;
  private readonly reporter: TransportReporter;
  private readonly own = new Set<BusSubscription>();
  private readonly inbox: string;
  private inboxSub: Subscription | undefined;
  private readonly pending = new PendingRequests();
  private closed = false;

  constructor(opts: InProcessTransportOptions = {}) {
    this.bus = opts.bus ?? new InProcessBus();
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const inboxPrefix = opts.inboxPrefix ?? '_INBOX';
    this.inbox = `${inboxPrefix}.inproc${this.bus.connectionId()}`;
    this.meter = new TransportMeter({ inboxPrefix });
    this.reporter = new TransportReporter(opts.name ?? 'in-process transport', opts, this.meter);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  publish(subject: string, payload: Uint8Array): void {
    this.send(subject, payload);
  }

  subscribe(pattern: string, handler: MessageHandler): Subscription {
    this.assertOpen();
    const sub: BusSubscription = { pattern: new SubjectPattern(pattern), owner: this, handler, active: true };
    this.own.add(sub);
    this.bus.add(sub);
    return {
      pattern,
      unsubscribe: () => {
        this.own.delete(sub);
        this.bus.remove(sub);
      },
    };
  }

  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportClosedError('in-process transport'));
    this.inboxSub ??= this.subscribe(`${this.inbox}.*`, (msg) => this.pending.settle(msg.subject, msg.payload));
    const reply = this.pending.replySubject(this.inbox);
    return this.pending.open(subject, reply, timeoutMs, () => {
      if (this.send(subject, payload, reply) === 0) this.pending.fail(reply, new TransportNoRespondersError(subject));
    });
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.bus.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.own) this.bus.remove(sub);
    this.own.clear();
    this.pending.failAll(new TransportClosedError());
    this.reporter.status({ type: 'closed' });
  }

  /** @internal called by the bus, in publish order. */
  deliver(sub: BusSubscription, subject: string, payload: Uint8Array, reply: string | undefined): void {
    if (payload.byteLength > this.maxMessageBytes) {
      this.reporter.error({
        kind: 'dropped',
        subject,
        message: `${payload.byteLength} bytes is over this transport's limit of ${this.maxMessageBytes}`,
      });
      return;
    }
    const msg: TransportMessage = {
      subject,
      payload,
      reply,
      respond: (bytes) => {
        if (!reply) throw new InvalidSubjectError(`message on ${subject} has no reply subject`);
        this.send(reply, bytes);
      },
    };
    this.reporter.deliver(sub.handler, msg);
  }

  private send(subject: string, payload: Uint8Array, reply?: string): number {
    this.assertOpen();
    assertPublishSubject(subject);
    if (payload.byteLength > this.maxMessageBytes) throw new PayloadTooLargeError(subject, payload.byteLength, this.maxMessageBytes);
    this.meter.recordSent(subject, payload.byteLength);
    return this.bus.publish(subject, payload, reply);
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportClosedError('in-process transport');
  }
}
