// Shared helpers of the built-in task generators: picking, de-duplication and split assembly.
// Every generator draws from forks of one seeded Rng, so a task is a pure function of its seed.
import type { Rng } from '../../engine/rng.js';
import type { TaskData, TaskRecord } from './types.js';

export const pick = <T>(rng: Rng, xs: readonly T[]): T => {
  if (xs.length === 0) throw new Error('pick from an empty list');
  return xs[rng.int(xs.length)]!;
};

/** Uniform integer in [lo, hi] (inclusive). */
export const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

/** `k` distinct elements in random order. */
export function sample<T>(rng: Rng, xs: readonly T[], k: number): T[] {
  return rng.shuffle([...xs]).slice(0, k);
}

export const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "a, b and c" */
export function andList(xs: readonly string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** Records with the same instruction and input are the same example (for de-duplication across splits). */
export const recordKey = (r: Pick<TaskRecord, 'instruction' | 'input'>): string => `${r.instruction}\u0000${r.input ?? ''}`;

/**
 * Draw records from `gen` until `count` distinct ones (by recordKey, also distinct from `seen`,
 * which is updated) are collected. Throws if the generator cannot produce enough distinct records.
 */
export function collectUnique(count: number, gen: () => TaskRecord, seen: Set<string>, what: string): TaskRecord[] {
  const out: TaskRecord[] = [];
  const maxTries = count * 50 + 1000;
  for (let tries = 0; out.length < count; tries++) {
    if (tries >= maxTries) throw new Error(`${what}: only ${out.length} distinct records of ${count} after ${tries} draws`);
    const rec = gen();
    const key = recordKey(rec);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(rec);
  }
  return out;
}

export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** Shuffle distinct records and cut them into train/validation/test of the given sizes. */
export function splitIid(rng: Rng, records: TaskRecord[], sizes: SplitSizes): TaskData {
  const need = sizes.train + sizes.validation + sizes.test;
  if (records.length < need) throw new Error(`splitIid: ${records.length} records, need ${need}`);
  const xs = rng.shuffle([...records]);
  return {
    train: xs.slice(0, sizes.train),
    validation: xs.slice(sizes.train, sizes.train + sizes.validation),
    test: xs.slice(sizes.train + sizes.validation, need),
  };
}

/** Per-category counts proportional to `weights` whose sum is `total` (largest remainder). */
export function apportion(total: number, weights: Record<string, number>): Record<string, number> {
  const names = Object.keys(weights);
  const sum = names.reduce((s, n) => s + weights[n]!, 0);
  const exact = names.map((n) => (total * weights[n]!) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = names.map((_, i) => i).sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
  for (const i of order) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  return Object.fromEntries(names.map((n, i) => [n, counts[i]!]));
}

/**
 * Meta (per-category) task: generate each category's distinct records from its own fork, then cut
 * each category into train/validation/test in the same proportions (so every client is present in
 * every split), and shuffle each split. `gens` order fixes the category order.
 */
export function buildMetaTask(
  rng: Rng,
  gens: Record<string, (rng: Rng) => TaskRecord>,
  weights: Record<string, number>,
  sizes: SplitSizes,
  what: string,
): TaskData {
  const seen = new Set<string>();
  const data: TaskData = { train: [], validation: [], test: [] };
  const totalAll = sizes.train + sizes.validation + sizes.test;
  const perCat = apportion(totalAll, weights);
  const valCounts = apportion(sizes.validation, weights);
  const testCounts = apportion(sizes.test, weights);
  for (const [cat, gen] of Object.entries(gens)) {
    const r = rng.fork(`category:${cat}`);
    const n = perCat[cat]!;
    const recs = r.shuffle(collectUnique(n, () => gen(r), seen, `${what}/${cat}`));
    const nVal = valCounts[cat]!;
    const nTest = testCounts[cat]!;
    data.test.push(...recs.slice(0, nTest));
    data.validation.push(...recs.slice(nTest, nTest + nVal));
    data.train.push(...recs.slice(nTest + nVal));
  }
  const mix = rng.fork('mix');
  mix.shuffle(data.train);
  mix.shuffle(data.validation);
  mix.shuffle(data.test);
  return data;
}
