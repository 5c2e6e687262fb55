// Client sampling for a round: a uniform random subset without replacement, of a size fixed by the
// rate (Flower's fraction_fit), so the number of clients per round never varies with the draw.
import type { Rng } from '../engine/rng.js';
import { UserError } from '../engine/errors.js';

export class SamplingError extends UserError {
  override name = 'SamplingError';
}

/**
 * How many of n clients a round samples: round(rate * n), halves rounding up (rate 0.5 of 5 -> 3),
 * at least 1. rate * n is first rounded to 9 decimals so that e.g. 0.29 * 50 = 14.499999999999998
 * counts as 14.5 (-> 15), as written.
 */
export function sampleSize(n: number, rate: number): number {
  if (!Number.isInteger(n) || n < 1) throw new SamplingError(`client sampling: need at least one client, got ${n}`);
  if (!(rate > 0 && rate <= 1)) throw new SamplingError(`client sampling: rate must be in (0, 1], got ${rate}`);
  return Math.min(n, Math.max(1, Math.floor(Number((rate * n).toFixed(9)) + 0.5)));
}

/**
 * sampleSize(ids.length, rate) distinct ids, each subset of that size equally likely (a partial
 * Fisher-Yates shuffle driven by `rng`), returned in the order of `ids`. Deterministic for an rng
 * state; pass a per-round stream (e.g. rng.fork(round)) so rounds are independent and reproducible.
 */
export function sampleClients(ids: readonly string[], rate: number, rng: Rng): string[] {
  if (new Set(ids).size !== ids.length) throw new SamplingError('client sampling: client ids must be distinct');
  const k = sampleSize(ids.length, rate);
  if (k === ids.length) return [...ids];
  const index = ids.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(index.length - i);
    [index[i], index[j]] = [index[j]!, index[i]!];
  }
  const chosen = index.slice(0, k).sort((a, b) => a - b);
  return chosen.map((i) => ids[i]!);
}
