// Simulated clients of one process share one engine worker: they train in turn, so each client's
// compute seconds are its own and memory holds one client's activations at a time.
export class ComputeLock {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier `run` has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Settles once everything run so far has settled (e.g. before the engine under it closes). */
  async idle(): Promise<void> {
    await this.tail;
  }
}
