// The Transport: how actors exchange BYTES, in one process or over NATS. A message codec above it turns
// typed messages into bytes, so both implementations meter, bound and validate exactly the same
// payloads. Subjects are NATS-style dot-separated tokens; subscription patterns may use `*` (one token)
// and `>` (one or more trailing tokens).

import type { TransportErrorEvent } from './transport-errors.js';
import type { TransportMeter } from './transport-meter.js';

/** A message as a subscriber sees it. `payload` is the subscriber's own copy. */
export interface TransportMessage {
  readonly subject: string;
  readonly payload: Uint8Array;
  /** Set when the sender used `request`: answer with `respond`. */
  readonly reply?: string;
  /** Sends reply bytes to the requester; throws when the message carries no reply subject. */
  respond(payload: Uint8Array): void;
}

/**
 * Called once per delivered message, in publish order per publisher. A returned promise is not awaited
 * before the next delivery (delivery never stalls on a slow handler); a throw or a rejection is counted
 * and reported through `onError`, never propagated.
 */
export type MessageHandler = (msg: TransportMessage) => void | Promise<void>;

export interface Subscription {
  readonly pattern: string;
  /** Stops deliveries to this handler; idempotent. */
  unsubscribe(): void;
}

/** Connection state changes; actors above resend what may have been lost after `reconnected`. */
export type TransportStatus =
  | { readonly type: 'disconnected'; readonly server?: string }
  | { readonly type: 'reconnecting' }
  | { readonly type: 'reconnected'; readonly server?: string }
  | { readonly type: 'stale' }
  | { readonly type: 'closed' };

export interface TransportHooks {
  /** A handler threw, a message was dropped (corrupt chunk, bounds), a permission was refused, ... */
  onError?: (event: TransportErrorEvent) => void;
  onStatus?: (status: TransportStatus) => void;
}

export interface Transport {
  /** Publishes a copy of `payload`; throws on an invalid subject, an oversized payload or a closed transport. */
  publish(subject: string, payload: Uint8Array): void;
  subscribe(pattern: string, handler: MessageHandler): Subscription;
  /**
   * Publishes `payload` with a reply subject and resolves with the first reply's bytes. Rejects with
   * TransportTimeoutError after `timeoutMs`, TransportNoRespondersError when nobody listens on `subject`,
   * TransportClosedError when the transport closes first.
   */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Resolves once everything published so far has left this transport (NATS: the server has it). */
  flush(): Promise<void>;
  /** Stops all subscriptions, rejects pending requests; publishing afterwards throws. Idempotent. */
  close(): Promise<void>;
  readonly meter: TransportMeter;
  readonly isClosed: boolean;
  /** The largest payload `publish` accepts (chunking makes this independent of the NATS max payload). */
  readonly maxMessageBytes: number;
}

/** 64 MiB: several times the largest adapter update we expect (a few MiB), small enough to bound memory. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A copy as a plain Uint8Array (`Buffer#slice` would return a view of the same memory). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
