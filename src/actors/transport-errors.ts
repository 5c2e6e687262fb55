// Errors a Transport throws or reports. Thrown errors concern the caller's own call (bad subject,
// oversized payload, closed transport, request timeout); reported events (onError) concern things that
// happen on the wire or in handlers and must never crash the process.

export class TransportError extends Error {
  override name = 'TransportError';
}

export class TransportClosedError extends TransportError {
  override name = 'TransportClosedError';
  constructor(what = 'transport') {
    super(`${what} is closed`);
  }
}

export class TransportTimeoutError extends TransportError {
  override name = 'TransportTimeoutError';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`request on ${subject}: no reply within ${timeoutMs} ms`);
  }
}

export class TransportNoRespondersError extends TransportError {
  override name = 'TransportNoRespondersError';
  constructor(readonly subject: string) {
    super(`request on ${subject}: no subscriber`);
  }
}

export class PayloadTooLargeError extends TransportError {
  override name = 'PayloadTooLargeError';
  constructor(
    readonly subject: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`publish on ${subject}: ${bytes} bytes is over the transport's limit of ${maxBytes}`);
  }
}

export class InvalidSubjectError extends TransportError {
  override name = 'InvalidSubjectError';
}

/**
 * What went wrong outside a caller's own call:
 * - handler: a subscriber's handler threw or rejected (the message counts as delivered);
 * - dropped: a message was discarded before delivery (corrupt, incomplete or oversized chunked message, bounds);
 * - permission: the server refused a publish or subscription (NATS permissions);
 * - connection: any other error the connection reports (protocol, auth).
 */
export type TransportErrorKind = 'handler' | 'dropped' | 'permission' | 'connection';

export interface TransportErrorEvent {
  readonly kind: TransportErrorKind;
  /** The message's or subscription's subject, when known. */
  readonly subject?: string;
  /** One line saying what happened. */
  readonly message: string;
  readonly cause?: unknown;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
