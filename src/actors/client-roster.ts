// Who the server works with, as a pure class: the trial's clients in a fixed order, those that said
// hello, and those that failed (reported a fatal error, or were refused for another base model) with
// why; and what to do when joining ends: begin, go on without some (naming them), or fail.
import { quorumOf } from './round-collector.js';

export type JoinOutcome = { kind: 'begin' } | { kind: 'go-on'; line: string } | { kind: 'fail'; reason: string };

export class ClientRoster {
  readonly expected: readonly string[];
  private readonly joined = new Set<string>();
  private readonly failed = new Map<string, string>();

  constructor(clients: readonly string[]) {
    this.expected = [...clients];
  }

  get distinct(): boolean {
    return new Set(this.expected).size === this.expected.length;
  }

  includes(id: string): boolean {
    return this.expected.includes(id);
  }

  hasJoined(id: string): boolean {
    return this.joined.has(id);
  }

  isFailed(id: string): boolean {
    return this.failed.has(id);
  }

  /** Records a hello; true when the client was not joined before. A restarted client is welcome again. */
  join(id: string): boolean {
    const isNew = !this.joined.has(id);
    this.joined.add(id);
    this.failed.delete(id);
    return isNew;
  }

  /** Takes a client out (not asked again, not waited for) with the reason. */
  fail(id: string, reason: string): void {
    this.joined.delete(id);
    this.failed.set(id, reason);
  }

  /** The joined clients, in the fixed order. */
  available(): string[] {
    return this.expected.filter((c) => this.joined.has(c));
  }

  /** Every client has joined or failed: nothing more to wait for. */
  get settled(): boolean {
    return this.joined.size + this.failed.size === this.expected.length;
  }

  get complete(): boolean {
    return this.joined.size === this.expected.length;
  }

  /** "c1 (another base model), c2 (no reply)". */
  describe(ids: readonly string[]): string {
    return ids.map((id) => `${id} (${this.failed.get(id) ?? 'no reply'})`).join(', ');
  }

  /** When joining ends (`when`: " within 60 s ..." at the deadline, else every client answered). */
  joinOutcome(quorum: number, when = ''): JoinOutcome {
    if (this.complete) return { kind: 'begin' };
    const n = this.joined.size;
    const missing = this.describe(this.expected.filter((c) => !this.joined.has(c)));
    const needed = quorumOf(quorum, this.expected.length);
    const joined = `${n ? `only ${n} of ${this.expected.length}` : 'no'} clients joined${when}`;
    if (n === 0) return { kind: 'fail', reason: `${joined}; missing: ${missing}` };
    if (n < needed) return { kind: 'fail', reason: `${joined}, round.quorum needs ${needed}; missing: ${missing}` };
    return { kind: 'go-on', line: `${n} of ${this.expected.length} clients joined${when}: going on without ${missing}` };
  }
}
