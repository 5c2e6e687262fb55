// An actor's timers, which post to its mailbox rather than act: one pending deadline whose expiry
// carries a token (so an expiry already queued when the deadline was reset or cleared is recognised
// as stale), and a repeating tick.

export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  private token = 0;

  constructor(private readonly post: (token: number) => void) {}

  /** Replaces any pending deadline by one `seconds` from now. */
  set(seconds: number): void {
    this.clear();
    const token = ++this.token;
    this.timer = setTimeout(() => this.post(token), Math.round(seconds * 1000));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.token++;
  }

  /** Whether an expiry with `token` is the pending deadline's (and marks it expired). */
  expired(token: number): boolean {
    if (token !== this.token) return false;
    this.timer = undefined;
    return true;
  }
}

/** Posts a tick every `ms` while started. */
export class RepeatTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly tick: () => void,
  ) {}

  start(): void {
    this.stop();
    this.timer = setInterval(this.tick, this.ms);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
