// Asserting that a bad input ends as one clear, bounded error: a UserError (printed by the CLI as
// one line, exit 2) whose message names what it must, within a generous time, without the
// process's peak memory rising by more than a bound.
import { expect } from 'vitest';
import { UserError } from '../src/engine/errors.js';

export interface Bounds {
  /** Wall-clock bound (generous: these are checks, not benchmarks). Default 10 s. */
  ms?: number;
  /** Bound on the rise of the process's peak RSS (getrusage maxrss). Default 500 MB. */
  peakRiseMb?: number;
}

/**
 * Runs `fn`, which must fail with a one-line UserError containing every needle, within the bounds.
 * A hang (e.g. opening a FIFO) fails the test at the time bound instead of blocking it.
 */
export async function expectCleanError(fn: () => unknown, needles: string[], bounds: Bounds = {}): Promise<UserError> {
  const ms = bounds.ms ?? 10_000;
  const peakBefore = process.resourceUsage().maxRSS; // KB, the high-water mark so far
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    Promise.resolve()
      .then(fn)
      .then(
        () => ({ kind: 'resolved' as const }),
        (error: unknown) => ({ kind: 'rejected' as const, error }),
      ),
    new Promise<{ kind: 'hung' }>((done) => {
      timer = setTimeout(() => done({ kind: 'hung' }), ms);
    }),
  ]);
  clearTimeout(timer);
  const elapsed = performance.now() - started;
  const peakRiseMb = (process.resourceUsage().maxRSS - peakBefore) / 1024;
  expect(outcome.kind, `no error within ${ms} ms`).toBe('rejected');
  const error = (outcome as { error: unknown }).error;
  expect(error, String((error as Error)?.stack ?? error)).toBeInstanceOf(UserError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  for (const n of needles) expect(message).toContain(n);
  expect(elapsed).toBeLessThan(ms);
  expect(peakRiseMb).toBeLessThan(bounds.peakRiseMb ?? 500);
  return error as UserError;
}

/** A value nested `depth` arrays deep around `inner`, built as JSON text (JSON.parse handles it; recursion would not). */
export const deepJson = (depth: number, inner = '1'): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
