// The requests a transport has sent and awaits a reply to, keyed by their reply subject. Both
// transports keep the same bookkeeping: a reply settles its request once, a timeout or close fails
// it, and a late reply to a request that already ended is ignored.
import { TransportTimeoutError } from './transport-errors.js';

interface PendingRequest {
  readonly subject: string;
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class PendingRequests {
  private readonly pending = new Map<string, PendingRequest>();
  private nextId = 0;

  /** A fresh reply subject under `inbox`. */
  replySubject(inbox: string): string {
    return `${inbox}.${++this.nextId}`;
  }

  /**
   * Awaits the reply to a request sent on `subject` with reply subject `reply`: `send` publishes it
   * (a throw, or `send` reporting a failure through `fail`, rejects the promise). Times out after `timeoutMs`.
   */
  open(subject: string, reply: string, timeoutMs: number, send: () => void): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(reply, new TransportTimeoutError(subject, timeoutMs)), timeoutMs);
      this.pending.set(reply, { subject, resolve, reject, timer });
      try {
        send();
      } catch (e) {
        this.fail(reply, e as Error);
      }
    });
  }

  /** The subject the request awaiting `reply` was sent on, if it is still pending. */
  subjectOf(reply: string): string | undefined {
    return this.pending.get(reply)?.subject;
  }

  settle(reply: string, payload: Uint8Array): void {
    const p = this.take(reply);
    p?.resolve(payload);
  }

  fail(reply: string, e: Error): void {
    const p = this.take(reply);
    p?.reject(e);
  }

  failAll(e: Error): void {
    for (const reply of [...this.pending.keys()]) this.fail(reply, e);
  }

  private take(reply: string): PendingRequest | undefined {
    const p = this.pending.get(reply);
    if (!p) return undefined;
    this.pending.delete(reply);
    clearTimeout(p.timer);
    return p;
  }
}
