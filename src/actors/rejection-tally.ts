// The server's count of rejected messages by reason: per round (with its first few log lines, kept
// in the round's record) and over the whole run.
import type { RejectReason } from './messages.js';

/** Log lines kept per round for rejected messages (the counts are complete). */
export const REJECT_LOG_LINES = 20;

export class RejectionTally {
  private now: Record<string, number> = {};
  private linesNow: string[] = [];
  private readonly all: Record<string, number> = {};

  add(reason: RejectReason, line: string): void {
    this.now[reason] = (this.now[reason] ?? 0) + 1;
    this.all[reason] = (this.all[reason] ?? 0) + 1;
    if (this.linesNow.length < REJECT_LOG_LINES) this.linesNow.push(line);
  }

  /** This round's counts and lines; the next round starts from none. */
  takeRound(): { rejected: Record<string, number>; rejectedLog: string[] } {
    const r = { rejected: this.now, rejectedLog: this.linesNow };
    this.now = {};
    this.linesNow = [];
    return r;
  }

  total(): Record<string, number> {
    return { ...this.all };
  }
}
