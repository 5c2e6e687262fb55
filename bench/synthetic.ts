// Synthetic token data for benchmarks: random sequences of a fixed length (loss on every token).
import type { Encoded } from '../src/data/batching.js';
import { Rng } from '../src/engine/rng.js';

export function encodeSynthetic(vocab: number, count: number, seqLen: number, seed: number): Encoded[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const ids = Array.from({ length: seqLen + 1 }, () => 3 + rng.int(vocab - 3));
    return { ids, labels: ids.slice(1) };
  });
}
