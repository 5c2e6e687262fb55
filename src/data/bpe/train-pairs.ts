// The pair statistics of BPE training: how often each adjacent pair of symbols occurs in the words,
// which words hold it, and a lazy max-heap to find the most frequent pair. Merging a pair updates
// only the pairs around each occurrence (as tokenizers' Word::merge does).
import { Heap } from './heap.js';

/** A word as symbol ids, rewritten in place as pairs are merged, and how often it occurs. */
export interface Word {
  symbols: number[];
  freq: number;
}

/** A heap entry: a pair key (left * base + right) and its count when queued (stale if it has changed). */
interface Candidate {
  count: number;
  key: number;
}

export class PairStats {
  private readonly count = new Map<number, number>();
  // pair -> the words that (may) contain it. A word can be listed twice or no longer contain the pair:
  // merging it then finds nothing to do, so the lists are never cleaned, only deduplicated cheaply.
  private readonly wordsWith = new Map<number, number[]>();
  /** The pairs whose count changed during the current merge. */
  private readonly changed = new Set<number>();
  private readonly heap: Heap<Candidate>;

  /** `base` > every id; `tokens` are the token strings by id, read (as they grow) to break ties. */
  constructor(
    private readonly words: Word[],
    private readonly base: number,
    tokens: readonly string[],
  ) {
    const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
    // Most frequent first; ties: the pair whose left, then right, token string sorts first.
    this.heap = new Heap<Candidate>((x, y) => {
      if (x.count !== y.count) return x.count > y.count;
      const c = cmp(tokens[Math.floor(x.key / base)]!, tokens[Math.floor(y.key / base)]!);
      if (c !== 0) return c < 0;
      return cmp(tokens[x.key % base]!, tokens[y.key % base]!) < 0;
    });
    words.forEach((w, wi) => {
      for (let j = 0; j + 1 < w.symbols.length; j++) {
        const key = w.symbols[j]! * base + w.symbols[j + 1]!;
        this.count.set(key, (this.count.get(key) ?? 0) + w.freq);
        this.link(key, wi);
      }
    });
    for (const [key, count] of this.count) this.heap.push({ count, key });
  }

  /** The most frequent pair as [left, right, count], or undefined when no pair is left. */
  best(): [left: number, right: number, count: number] | undefined {
    for (let top = this.heap.pop(); top !== undefined; top = this.heap.pop()) {
      if (this.count.get(top.key) === top.count) return [Math.floor(top.key / this.base), top.key % this.base, top.count];
    }
    return undefined;
  }

  /** Replaces every (a, b) in every word holding it by `c`, keeping the counts of the pairs around it. */
  merge(a: number, b: number, c: number): void {
    const key = a * this.base + b;
    this.changed.clear();
    for (const wi of this.wordsWith.get(key) ?? []) this.mergeInWord(wi, a, b, c);
    this.count.delete(key);
    this.wordsWith.delete(key);
    this.changed.delete(key);
    for (const k of this.changed) {
      const count = this.count.get(k)!;
      if (count <= 0) {
        this.count.delete(k);
        this.wordsWith.delete(k);
      } else {
        this.heap.push({ count, key: k });
      }
    }
  }

  /**
   * One word, left to right in place: the old (left, a) and (b, right) pairs go, (left, c) and
   * (c, right) come, and back-to-back occurrences turn (b, a) into (c, c).
   */
  private mergeInWord(wi: number, a: number, b: number, c: number): void {
    const { symbols: w, freq: f } = this.words[wi]!;
    const V = this.base;
    const n = w.length;
    let out = 0; // write position
    let prevMerged = false;
    for (let j = 0; j < n; ) {
      if (j + 1 < n && w[j] === a && w[j + 1] === b) {
        if (out > 0) {
          if (prevMerged) {
            this.add(c * V + c, f, wi);
          } else {
            this.bump(w[j - 1]! * V + a, -f);
            this.add(w[j - 1]! * V + c, f, wi);
          }
        }
        if (j + 2 < n) {
          const r = w[j + 2]!;
          this.bump(b * V + r, -f);
          if (!(r === a && j + 3 < n && w[j + 3] === b)) this.add(c * V + r, f, wi);
        }
        w[out++] = c;
        j += 2;
        prevMerged = true;
      } else {
        w[out++] = w[j]!;
        j++;
        prevMerged = false;
      }
    }
    w.length = out;
  }

  private bump(key: number, delta: number): void {
    this.count.set(key, (this.count.get(key) ?? 0) + delta);
    this.changed.add(key);
  }

  /** A pair occurrence gained in word `wi`. */
  private add(key: number, delta: number, wi: number): void {
    this.bump(key, delta);
    this.link(key, wi);
  }

  private link(key: number, wi: number): void {
    const list = this.wordsWith.get(key);
    if (!list) this.wordsWith.set(key, [wi]);
    else if (list[list.length - 1] !== wi) list.push(wi);
  }
}
