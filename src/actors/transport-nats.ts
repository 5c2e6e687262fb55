// The NATS Transport, on the v3 client (@nats-io/transport-node). Same semantics as the in-process one;
// in addition it chunks payloads above the server's max payload (see transport-chunks.ts), reconnects
// forever with exponential backoff (the client resubscribes by itself), and reports connection changes
// through onStatus so that actors above can resend what a disconnect may have lost (NATS core delivery
// is at most once).

import { connect, headers, Match, nuid } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Status, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { UserError } from '../engine/errors.js';
import {
  copyBytes,
  DEFAULT_MAX_MESSAGE_BYTES,
  type MessageHandler,
  type Subscription,
  type Transport,
  type TransportHooks,
  type TransportMessage,
} from './transport.js';
import { ChunkAssembler, type ChunkAssemblerLimits, DEFAULT_CHUNK_LIMITS } from './transport-chunk-assembler.js';
import { CHUNK_HEADER_RESERVE, chunkHeaderValues, hasChunkHeaders, parseChunkHeaders, splitIntoChunks } from './transport-chunks.js';
import {
  errorMessage,
  InvalidSubjectError,
  PayloadTooLargeError,
  TransportClosedError,
  TransportNoRespondersError,
} from './transport-errors.js';
import { PendingRequests } from './transport-requests.js';
import { TransportReporter } from './transport-hooks.js';
import { TransportMeter } from './transport-meter.js';
import { type NatsConnectOptions, natsConnectionOptions } from './transport-nats-options.js';
import { assertPublishSubject, SubjectPattern } from './transport-subject-pattern.js';

export interface NatsTransportOptions extends TransportHooks {
  connection: NatsConnectOptions;
  /** The client name the server shows (monitoring, logs). */
  name?: string;
  maxMessageBytes?: number;
  /** Bounds on reassembling chunked messages, per subscription. */
  chunkLimits?: Partial<Omit<ChunkAssemblerLimits, 'maxMessageBytes'>>;
  inboxPrefix?: string;
  /** Reconnect delays grow from initialDelayMs, doubling per failed attempt, up to maxDelayMs (+ up to 20% jitter). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A server that answers no ping for two intervals is considered gone (the client then reconnects). */
  pingIntervalMs?: number;
  connectTimeoutMs?: number;
}

/** Exponential reconnect backoff. The client asks for the delay several times per attempt, so it only grows on 'reconnecting'. */
class ReconnectBackoff {
  private delay: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.delay = initialMs;
  }

  current = (): number => this.delay;

  attempted(): void {
    this.delay = Math.min(this.maxMs, this.delay * 2) * (1 + 0.2 * Math.random());
  }

  reset(): void {
    this.delay = this.initialMs;
  }
}

export class NatsTransport implements Transport {
  readonly meter: TransportMeter;
  readonly maxMessageBytes: number;
  private readonly reporter: TransportReporter;
  private readonly chunkLimits: ChunkAssemblerLimits;
  private readonly inboxPrefix: string;
  private readonly assemblers = new Set<ChunkAssembler>();
  private readonly pending = new PendingRequests();
  private inbox: string | undefined;
  private closed = false;
  private outage = false;

  private constructor(
    private readonly nc: NatsConnection,
    opts: NatsTransportOptions,
    private readonly backoff: ReconnectBackoff,
  ) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.chunkLimits = { ...DEFAULT_CHUNK_LIMITS, ...opts.chunkLimits, maxMessageBytes: this.maxMessageBytes };
    this.inboxPrefix = opts.inboxPrefix ?? '_INBOX';
    this.meter = new TransportMeter({ inboxPrefix: this.inboxPrefix });
    this.reporter = new TransportReporter(opts.name ?? 'nats transport', opts, this.meter);
    this.watchStatus().catch((e: unknown) =>
      this.reporter.error({ kind: 'connection', message: `status stream failed: ${errorMessage(e)}`, cause: e }),
    );
    void nc.closed().then(() => this.markClosed());
  }

  /** Connects (failing fast with a UserError when no server answers) and returns the transport. */
  static async connect(opts: NatsTransportOptions): Promise<NatsTransport> {
    const base = await natsConnectionOptions(opts.connection);
    const backoff = new ReconnectBackoff(opts.reconnect?.initialDelayMs ?? 250, opts.reconnect?.maxDelayMs ?? 5000);
    let nc: NatsConnection;
    try {
      nc = await connect({
        ...base,
        name: opts.name ?? 'fedhpo',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: backoff.current,
        pingInterval: opts.pingIntervalMs ?? 20_000,
        timeout: opts.connectTimeoutMs ?? 5000,
        inboxPrefix: opts.inboxPrefix ?? '_INBOX',
      });
    } catch (e) {
      throw new UserError(`NATS at ${opts.connection.servers.join(',')}: cannot connect: ${errorMessage(e)}`);
    }
    return new NatsTransport(nc, opts, backoff);
  }

  /** The underlying connection, for JetStream and KV clients sharing it. */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** The connected server's max payload (bytes per NATS message, headers included). */
  get serverMaxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  get isClosed(): boolean {
    return this.closed || this.nc.isClosed();
  }

  publish(subject: string, payload: Uint8Array): void {
    this.send(subject, payload, undefined);
  }

  subscribe(pattern: string, handler: MessageHandler): Subscription {
    this.assertOpen();
    new SubjectPattern(pattern); // same validation as in-process, before the client sees it
    const assembler = this.newAssembler();
    const sub = this.nc.subscribe(pattern, {
      // Errors (a refused subscription) arrive as status events and are reported from there.
      callback: (err, msg) => {
        if (!err) this.receive(msg, assembler, (m) => this.reporter.deliver(handler, m));
      },
    });
    void sub.closed.then(() => this.dropAssembler(assembler));
    return { pattern, unsubscribe: () => this.unsubscribe(sub, assembler) };
  }

  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.isClosed) return Promise.reject(new TransportClosedError('NATS transport'));
    const inbox = this.ensureInbox();
    const reply = this.pending.replySubject(inbox);
    return this.pending.open(subject, reply, timeoutMs, () => this.send(subject, payload, reply));
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.markClosed();
    if (this.nc.isClosed()) return;
    // Hand what is buffered to the server when it is reachable, without waiting on an outage.
    if (!this.outage) await Promise.race([this.nc.flush().catch(() => undefined), delay(2000)]);
    await this.nc.close();
  }

  private send(subject: string, payload: Uint8Array, reply: string | undefined): void {
    this.assertOpen();
    assertPublishSubject(subject);
    if (payload.byteLength > this.maxMessageBytes) throw new PayloadTooLargeError(subject, payload.byteLength, this.maxMessageBytes);
    // The client keeps a reference until the socket takes the bytes: copy, so the caller may reuse its buffer.
    const bytes = copyBytes(payload);
    const max = this.serverMaxPayload;
    if (bytes.byteLength <= max) {
      this.nc.publish(subject, bytes, reply ? { reply } : undefined);
    } else {
      for (const { info, data } of splitIntoChunks(nuid.next(), bytes, max - CHUNK_HEADER_RESERVE)) {
        const h = headers();
        for (const [k, v] of chunkHeaderValues(info)) h.set(k, v);
        this.nc.publish(subject, data, reply ? { reply, headers: h } : { headers: h });
      }
    }
    this.meter.recordSent(subject, payload.byteLength);
  }

  /** Turns one NATS message into a delivery, or drops it (malformed or incomplete chunk, status message). */
  private receive(msg: Msg, assembler: ChunkAssembler, deliver: (m: TransportMessage) => void): void {
    let payload: Uint8Array;
    try {
      const h = msg.headers; // parsed lazily by the client: a garbage header block throws here
      if (h && h.code !== 0) {
        this.reporter.error({ kind: 'dropped', subject: msg.subject, message: `status message ${h.code} ${h.description}` });
        return;
      }
      const get = (k: string): string | undefined => (h?.has(k, Match.IgnoreCase) ? h.get(k, Match.IgnoreCase) : undefined);
      if (h && hasChunkHeaders(get)) {
        const info = parseChunkHeaders(get);
        if (typeof info === 'string') {
          this.reporter.error({ kind: 'dropped', subject: msg.subject, message: info });
          return;
        }
        const whole = assembler.add(msg.subject, msg.reply || undefined, info, msg.data);
        if (!whole) return;
        payload = whole;
      } else {
        payload = copyBytes(msg.data);
      }
    } catch (e) {
      this.reporter.error({ kind: 'dropped', subject: msg.subject, message: `unreadable message: ${errorMessage(e)}`, cause: e });
      return;
    }
    const reply = msg.reply || undefined;
    deliver({
      subject: msg.subject,
      payload,
      reply,
      respond: (bytes) => {
        if (!reply) throw new InvalidSubjectError(`message on ${msg.subject} has no reply subject`);
        this.send(reply, bytes, undefined);
      },
    });
  }

  /** One wildcard subscription serves every request's reply (the client's "mux" pattern, chunk-aware). */
  private ensureInbox(): string {
    if (this.inbox) return this.inbox;
    const inbox = `${this.inboxPrefix}.${nuid.next()}`;
    const assembler = this.newAssembler();
    this.nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        if (statusCode(msg) === 503) {
          const subject = this.pending.subjectOf(msg.subject);
          if (subject !== undefined) this.pending.fail(msg.subject, new TransportNoRespondersError(subject));
          return;
        }
        this.receive(msg, assembler, (m) => {
          this.meter.recordReceived(m.subject, m.payload.byteLength);
          this.pending.settle(m.subject, m.payload);
        });
      },
    });
    this.inbox = inbox;
    return inbox;
  }

  private newAssembler(): ChunkAssembler {
    const a = new ChunkAssembler(this.chunkLimits, (subject, reason) => this.reporter.error({ kind: 'dropped', subject, message: reason }));
    this.assemblers.add(a);
    return a;
  }

  private dropAssembler(a: ChunkAssembler): void {
    a.clear();
    this.assemblers.delete(a);
  }

  private unsubscribe(sub: NatsSubscription, assembler: ChunkAssembler): void {
    if (!sub.isClosed() && !this.nc.isClosed()) sub.unsubscribe();
    this.dropAssembler(assembler);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) this.onStatus(s);
  }

  private onStatus(s: Status): void {
    // Events reach us through an async iterator, so some may trail our own close(): 'closed' stays last.
    if (this.closed) return;
    switch (s.type) {
      case 'disconnect':
        this.outage = true;
        this.reporter.status({ type: 'disconnected', server: s.server });
        break;
      case 'reconnecting':
        this.backoff.attempted();
        this.reporter.status({ type: 'reconnecting' });
        break;
      case 'reconnect':
        this.outage = false;
        this.backoff.reset();
        this.reporter.status({ type: 'reconnected', server: s.server });
        break;
      case 'staleConnection':
        this.reporter.status({ type: 'stale' });
        break;
      case 'error': {
        const e = s.error as Error & { operation?: string; subject?: string };
        const permission = e.name === 'PermissionViolationError';
        this.reporter.error({
          kind: permission ? 'permission' : 'connection',
          subject: permission ? e.subject : undefined,
          message: permission ? `server refused ${e.operation} on ${e.subject}` : errorMessage(e),
          cause: e,
        });
        break;
      }
      case 'close':
        this.markClosed();
        break;
      default:
        break; // pings, cluster updates, lame-duck notices: nothing for the actors above
    }
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll(new TransportClosedError('NATS transport'));
    for (const a of [...this.assemblers]) this.dropAssembler(a);
    this.reporter.status({ type: 'closed' });
  }

  private assertOpen(): void {
    if (this.isClosed) throw new TransportClosedError('NATS transport');
  }
}

/** The status code of a server status message (0 for an ordinary message, -1 when the headers are unreadable). */
function statusCode(msg: Msg): number {
  try {
    return msg.headers?.code ?? 0;
  } catch {
    return -1;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
