// The config minimising a modelled loss over a space's untried configs: what FTS (a sampled function)
// and FLoRA (a fitted loss surface) both do once they hold their model. Small finite spaces are scored
// exhaustively; others by BO's acquisition search (random candidates, then local search).
import type { Rng } from '../../engine/rng.js';
import { maximizeAcquisition } from '../gp/index.js';
import type { Config } from '../space.js';
import type { UnitEncoding } from './bo-encoding.js';

export interface SurfaceSearch {
  readonly enc: UnitEncoding;
  readonly rng: Rng;
  /** Loss of each point (UnitEncoding inputs); lower is better. */
  readonly loss: (xs: readonly Float64Array[]) => Float64Array;
  readonly isTaken: (x: Float64Array) => boolean;
  readonly candidates: number;
  readonly enumerateUpTo: number;
  /** Points whose neighbourhoods get extra candidates (e.g. the best observed). */
  readonly anchors?: readonly Float64Array[];
}

export function minimizeSurface(s: SurfaceSearch, pool: () => Float64Array[]): { config: Config; loss: number } | undefined {
  const finite = s.enc.size <= s.enumerateUpTo;
  const best = maximizeAcquisition({
    dims: s.enc.dims,
    rng: s.rng,
    isTaken: s.isTaken,
    pool: finite ? pool() : undefined,
    anchors: s.anchors ?? [],
    randomCandidates: s.candidates,
    score: (xs) => s.loss(xs).map((v) => -v),
  });
  return best ? { config: s.enc.decode(best.x), loss: -best.value } : undefined;
}

export const inputKey = (x: Float64Array): string => x.join(',');
