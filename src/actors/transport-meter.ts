// Counts what a transport sends and delivers, per subject, in application bytes (a chunked NATS message
// counts once, with its whole payload), so in-process and NATS runs report the same figures. Reply
// inboxes are unique per request: they are folded into one key so the table stays small.

import { SubjectPattern } from './transport-subject-pattern.js';

export interface TrafficCount {
  messages: number;
  bytes: number;
}

export interface SubjectTraffic {
  sent: TrafficCount;
  received: TrafficCount;
}

export interface TransportMeterOptions {
  /** Subjects under this prefix (reply inboxes) are counted under the prefix itself. */
  inboxPrefix?: string;
  /** Distinct subjects kept; traffic on further subjects is counted under OVERFLOW_KEY. */
  maxSubjects?: number;
}

export const OVERFLOW_KEY = '(other subjects)';

const zero = (): SubjectTraffic => ({ sent: { messages: 0, bytes: 0 }, received: { messages: 0, bytes: 0 } });

export class TransportMeter {
  private readonly table = new Map<string, SubjectTraffic>();
  private readonly inboxPrefix: string;
  private readonly maxSubjects: number;
  /** Handler throws and rejections. */
  handlerErrors = 0;
  /** Messages discarded before delivery (corrupt or incomplete chunked messages, bounds). */
  dropped = 0;

  constructor(opts: TransportMeterOptions = {}) {
    this.inboxPrefix = `${opts.inboxPrefix ?? '_INBOX'}.`;
    this.maxSubjects = opts.maxSubjects ?? 10_000;
  }

  recordSent(subject: string, bytes: number): void {
    const c = this.entry(subject).sent;
    c.messages++;
    c.bytes += bytes;
  }

  recordReceived(subject: string, bytes: number): void {
    const c = this.entry(subject).received;
    c.messages++;
    c.bytes += bytes;
  }

  /**
   * Sums over subjects matching `pattern` (NATS wildcards: `fedhpo.s1.>` is everything of study s1,
   * `fedhpo.s1.t1.client.*.update` every client's updates); all traffic when omitted.
   */
  totals(pattern?: string): SubjectTraffic {
    const p = pattern === undefined ? undefined : new SubjectPattern(pattern);
    const sum = zero();
    for (const [subject, t] of this.table) {
      if (p && !p.matches(subject)) continue;
      sum.sent.messages += t.sent.messages;
      sum.sent.bytes += t.sent.bytes;
      sum.received.messages += t.received.messages;
      sum.received.bytes += t.received.bytes;
    }
    return sum;
  }

  /** Traffic grouped by the first `depth` tokens of each subject (e.g. depth 3: per study and trial). */
  byPrefix(depth: number): Map<string, SubjectTraffic> {
    const out = new Map<string, SubjectTraffic>();
    for (const [subject, t] of this.table) {
      const key = subject.split('.').slice(0, depth).join('.');
      const acc = out.get(key) ?? zero();
      acc.sent.messages += t.sent.messages;
      acc.sent.bytes += t.sent.bytes;
      acc.received.messages += t.received.messages;
      acc.received.bytes += t.received.bytes;
      out.set(key, acc);
    }
    return out;
  }

  /** A copy of the per-subject table. */
  bySubject(): Map<string, SubjectTraffic> {
    return new Map([...this.table].map(([k, t]) => [k, { sent: { ...t.sent }, received: { ...t.received } }]));
  }

  private entry(subject: string): SubjectTraffic {
    let key = subject.startsWith(this.inboxPrefix) ? this.inboxPrefix.slice(0, -1) : subject;
    let e = this.table.get(key);
    if (e) return e;
    if (this.table.size >= this.maxSubjects) {
      key = OVERFLOW_KEY;
      e = this.table.get(key);
      if (e) return e;
    }
    e = zero();
    this.table.set(key, e);
    return e;
  }
}
