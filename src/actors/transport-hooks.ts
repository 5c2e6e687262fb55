// Calling user hooks and handlers safely: nothing a handler or hook does may escape into the transport's
// delivery loop (or, for NATS, the socket parser), so one bad message or bad handler never stops the
// deliveries after it nor crashes the process.

import type { MessageHandler, TransportHooks, TransportMessage, TransportStatus } from './transport.js';
import { errorMessage, type TransportErrorEvent } from './transport-errors.js';
import type { TransportMeter } from './transport-meter.js';

export class TransportReporter {
  constructor(
    private readonly name: string,
    private readonly hooks: TransportHooks,
    private readonly meter: TransportMeter,
  ) {}

  error(event: TransportErrorEvent): void {
    if (event.kind === 'dropped') this.meter.dropped++;
    if (event.kind === 'handler') this.meter.handlerErrors++;
    const hook = this.hooks.onError;
    if (!hook) {
      // No hook: one line on stderr rather than silence (the counts are in the meter either way).
      console.error(`[${this.name}] ${event.kind}${event.subject ? ` on ${event.subject}` : ''}: ${event.message}`);
      return;
    }
    try {
      hook(event);
    } catch (e) {
      console.error(`[${this.name}] onError hook threw: ${errorMessage(e)}`);
    }
  }

  status(status: TransportStatus): void {
    try {
      this.hooks.onStatus?.(status);
    } catch (e) {
      console.error(`[${this.name}] onStatus hook threw: ${errorMessage(e)}`);
    }
  }

  /** Meters the delivery and runs the handler; a throw or rejection becomes a 'handler' event. */
  deliver(handler: MessageHandler, msg: TransportMessage): void {
    this.meter.recordReceived(msg.subject, msg.payload.byteLength);
    const fail = (e: unknown): void =>
      this.error({ kind: 'handler', subject: msg.subject, message: `handler failed: ${errorMessage(e)}`, cause: e });
    try {
      const r = handler(msg);
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  }
}
