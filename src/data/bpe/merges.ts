// The merge table of a BPE model and the two equivalent ways of applying it to one word: rescanning
// (GPT-2's loop) for short words and a heap of candidate merges for long ones.
import { tokenBytes } from './byte-level.js';
import type { Fail } from './errors.js';
import { Heap } from './heap.js';
import { quote } from './json-shape.js';

/** Words with at least this many bytes are merged with a heap instead of rescanning. */
const LONG_WORD = 48;

export class MergeTable {
  /** The merges in rank order. */
  readonly pairs: [string, string][];
  /** Pair key (left * pairBase + right) -> merge rank; pairBase = model vocab size (small ints stay Smis). */
  private readonly rank = new Map<number, number>();
  /** Merge rank -> the id of the merged token. */
  private readonly result: Int32Array;
  /**
   * joins[x * 256 + y] = 1 when some merge joins a token ending in byte x to one starting with byte y.
   * Where a word has bytes x, y with joins 0, no token can ever span that point: the merges on its
   * two sides never interact, so the word can be cut there without changing its tokens.
   */
  private readonly joins = new Uint8Array(256 * 256);

  constructor(
    merges: ReadonlyArray<readonly [string, string]>,
    vocab: ReadonlyMap<string, number>,
    private readonly pairBase: number,
    fail: Fail,
  ) {
    this.pairs = merges.map(([a, b]) => [a, b]);
    this.result = new Int32Array(this.pairs.length);
    this.pairs.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const ic = vocab.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        fail(`merge ${rank} (${quote(a)} ${quote(b)}) uses ${quote(missing)}, which is not in the vocab`);
      }
      const key = ia! * pairBase + ib!;
      if (!this.rank.has(key)) this.rank.set(key, rank);
      this.result[rank] = ic!;
      const left = tokenBytes(a);
      const right = tokenBytes(b);
      if (left.length > 0 && right.length > 0) this.joins[left[left.length - 1]! * 256 + right[0]!] = 1;
    });
  }

  /** Whether a word may be cut between bytes x and y without changing its tokens. */
  canCutBetween(x: number, y: number): boolean {
    return this.joins[x * 256 + y] === 0;
  }

  /** Applies the merges to a word given as symbol ids. */
  apply(syms: number[]): number[] {
    return syms.length >= LONG_WORD ? this.applyWithHeap(syms) : this.applyByScanning(syms);
  }

  /** Lowest-rank pair first, all its occurrences left to right (GPT-2's loop); fine for short words. */
  applyByScanning(syms: number[]): number[] {
    while (syms.length > 1) {
      const [best, at] = this.lowestRankPair(syms);
      if (at < 0) break;
      syms = this.replaceAll(syms, at, this.result[best]!);
    }
    return syms;
  }

  private lowestRankPair(syms: number[]): [rank: number, at: number] {
    let best = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = this.rank.get(syms[i]! * this.pairBase + syms[i + 1]!);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    return [best, at];
  }

  /** Replaces every occurrence of the pair at `at` (from `at` on, left to right) with `merged`. */
  private replaceAll(syms: number[], at: number, merged: number): number[] {
    const a = syms[at]!;
    const b = syms[at + 1]!;
    const next = syms.slice(0, at);
    for (let i = at; i < syms.length; ) {
      if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
        next.push(merged);
        i += 2;
      } else {
        next.push(syms[i]!);
        i++;
      }
    }
    return next;
  }

  /** The same result with a linked list and a heap of candidate merges ordered by (rank, position). */
  applyWithHeap(init: number[]): number[] {
    const n = init.length;
    const sym = Int32Array.from(init);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    type Candidate = { rank: number; pos: number; a: number; b: number };
    const heap = new Heap<Candidate>((x, y) => x.rank < y.rank || (x.rank === y.rank && x.pos < y.pos));
    const consider = (pos: number): void => {
      const q = next[pos]!;
      if (pos < 0 || q < 0) return;
      const rank = this.rank.get(sym[pos]! * this.pairBase + sym[q]!);
      if (rank !== undefined) heap.push({ rank, pos, a: sym[pos]!, b: sym[q]! });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
      const q = next[c.pos]!;
      // Stale if the left symbol was absorbed or either side has changed since it was queued.
      if (sym[c.pos] !== c.a || q < 0 || sym[q] !== c.b) continue;
      sym[c.pos] = this.result[c.rank]!;
      sym[q] = -1;
      const r = next[q]!;
      next[c.pos] = r;
      if (r >= 0) prev[r] = c.pos;
      if (prev[c.pos]! >= 0) consider(prev[c.pos]!);
      consider(c.pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
    return out;
  }
}
