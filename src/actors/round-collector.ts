// The server's bookkeeping of one request (a training round or an evaluation) as a pure class: who
// is expected, which attempt is current, which replies were accepted, and what to do at the
// deadline (aggregate with a quorum, retry, or fail). No timers, no I/O: the ServerActor asks it.
import { MessageRejected } from './messages.js';

export type DeadlineDecision = { kind: 'proceed' } | { kind: 'retry'; attempt: number } | { kind: 'fail'; reason: string };

export interface CollectorOptions {
  round: number;
  /** The clients asked, in a fixed order (replies are returned in this order, so sums are deterministic). */
  expected: readonly string[];
  /** Replies needed to proceed at the deadline (1..expected.length). */
  quorum: number;
  /** Attempts after the first. */
  retries: number;
  /** What is collected, for messages ("update", "evaluation"). */
  what: string;
}

export class RoundCollector<T> {
  readonly round: number;
  readonly expected: readonly string[];
  readonly quorum: number;
  private readonly expectedSet: Set<string>;
  private readonly replies = new Map<string, T>();
  private currentAttempt = 0;

  constructor(private readonly o: CollectorOptions) {
    if (!o.expected.length) throw new Error(`${o.what} of round ${o.round}: nobody to ask`);
    if (!(Number.isInteger(o.quorum) && o.quorum >= 1 && o.quorum <= o.expected.length))
      throw new Error(`${o.what} of round ${o.round}: quorum ${o.quorum} is not in 1..${o.expected.length}`);
    this.round = o.round;
    this.expected = [...o.expected];
    this.expectedSet = new Set(o.expected);
    this.quorum = o.quorum;
  }

  get attempt(): number {
    return this.currentAttempt;
  }

  /**
   * Throws MessageRejected unless a reply from `from` for (round, attempt) is one this request asked
   * for. A second reply from the same client is refused by `accept` (after the caller has checked
   * its content, so a malformed message is refused for what it is, whenever it comes).
   */
  check(from: string, round: number, attempt: number): void {
    const at = `${this.o.what} for round ${round} attempt ${attempt}`;
    if (round < this.round) throw new MessageRejected('stale-round', `${at}: the server is at round ${this.round}`);
    if (round > this.round) throw new MessageRejected('future-round', `${at}: the server is at round ${this.round}`);
    if (attempt < this.currentAttempt) throw new MessageRejected('stale-attempt', `${at}: the server is at attempt ${this.currentAttempt}`);
    if (attempt > this.currentAttempt)
      throw new MessageRejected('future-attempt', `${at}: the server is at attempt ${this.currentAttempt}`);
    if (!this.expectedSet.has(from)) throw new MessageRejected('not-selected', `${at}: client ${from} was not asked`);
  }

  /** Records a checked reply; MessageRejected('duplicate') when `from` has answered already (a replay or a resend). */
  accept(from: string, reply: T): void {
    if (!this.expectedSet.has(from)) throw new Error(`${this.o.what}: accept without check for ${from}`);
    if (this.replies.has(from))
      throw new MessageRejected(
        'duplicate',
        `${this.o.what} for round ${this.round} attempt ${this.currentAttempt}: client ${from} already answered`,
      );
    this.replies.set(from, reply);
  }

  get complete(): boolean {
    return this.replies.size === this.expected.length;
  }

  /** Clients asked that have not answered yet (those a retry asks again). */
  missing(): string[] {
    return this.expected.filter((c) => !this.replies.has(c));
  }

  /** Accepted replies, in the order of `expected`. */
  accepted(): { from: string; reply: T }[] {
    return this.expected.filter((c) => this.replies.has(c)).map((c) => ({ from: c, reply: this.replies.get(c)! }));
  }

  /**
   * Once every client still missing is `gone` (failed: it will not answer), the decision need not
   * wait for the deadline: proceed with a quorum, else fail (a retry would ask the gone again).
   * Undefined while someone may still answer.
   */
  withoutGone(gone: (id: string) => boolean): DeadlineDecision | undefined {
    const missing = this.missing();
    if (!missing.length || !missing.every(gone)) return undefined;
    if (this.replies.size >= this.quorum) return { kind: 'proceed' };
    return {
      kind: 'fail',
      reason: `round ${this.round}: ${this.replies.size} of ${this.expected.length} ${this.o.what}s, below the quorum of ${this.quorum}, and the missing clients failed`,
    };
  }

  /** At the deadline: proceed with a quorum, else retry while attempts remain, else fail. */
  atDeadline(): DeadlineDecision {
    if (this.replies.size >= this.quorum) return { kind: 'proceed' };
    if (this.currentAttempt < this.o.retries) {
      this.currentAttempt++;
      return { kind: 'retry', attempt: this.currentAttempt };
    }
    return {
      kind: 'fail',
      reason:
        `round ${this.round}: ${this.replies.size} of ${this.expected.length} ${this.o.what}s arrived after ` +
        `${this.currentAttempt + 1} attempt(s), below the quorum of ${this.quorum} (missing: ${this.missing().join(', ')})`,
    };
  }
}

/** ceil(fraction * n), at least 1: the quorum of a round that asked n clients. */
export function quorumOf(fraction: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(Number((fraction * n).toFixed(9)))));
}
