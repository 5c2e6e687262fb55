// A client's link that loses some of what the client sends (a dead or partitioned client): the
// wrapped transport drops published envelopes whose header kind is in `drop`.
import type { Transport } from '../../src/actors/transport.js';
import { decodeEnvelope } from '../../src/actors/envelope.js';

export function droppingTransport(inner: Transport, drop: readonly string[]): Transport {
  const kindOf = (bytes: Uint8Array): string => {
    try {
      return String((decodeEnvelope(bytes).header as { kind?: unknown }).kind);
    } catch {
      return '';
    }
  };
  return {
    publish: (subject, payload) => {
      if (!drop.includes(kindOf(payload))) inner.publish(subject, payload);
    },
    subscribe: (pattern, handler) => inner.subscribe(pattern, handler),
    request: (subject, payload, timeoutMs) => inner.request(subject, payload, timeoutMs),
    flush: () => inner.flush(),
    close: () => inner.close(),
    get meter() {
      return inner.meter;
    },
    get isClosed() {
      return inner.isClosed;
    },
    get maxMessageBytes() {
      return inner.maxMessageBytes;
    },
  };
}
