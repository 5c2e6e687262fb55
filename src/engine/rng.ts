// Seeded deterministic PRNG: xoshiro128** (Blackman & Vigna, 2018) on four 32-bit words.
//
// Every stream has a 128-bit identity `key` (a hash of the integer seed, or of the parent key and a
// label for forks) and starts from state = key. fork() derives a child from the key alone, never from
// the current state, so `rng.fork('client-3')` is the same stream however many numbers `rng` has
// drawn: a stream per client/round/trial stays reproducible when the order of work changes.
// state()/fromState() capture position, key and the cached Box-Muller value as plain JSON numbers.
// The generator itself lives in xoshiro.js, shared with the engine worker (dropout masks).
import { advance, nextU32 } from './xoshiro.js';

/** A type alias (not an interface) so it is assignable to JsonValue: strategies store it as JSON. */
export type RngState = {
  /** xoshiro128** state words (uint32). */
  s: number[];
  /** 128-bit stream identity (uint32 words) that fork() derives from. */
  key: number[];
  /** Second Box-Muller deviate waiting to be returned by normal(), if any. */
  spare: number | null;
};

const TWO_NEG_32 = 2 ** -32;
const TAG_SEED = 0x5eed0001;
const TAG_FORK = 0xf02c0002;
const TAG_STR = 0x57200003;
const TAG_NUM = 0x4e550004;

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** MurmurHash3 (x86, 32-bit) over a sequence of 32-bit words. */
function murmur32(words: readonly number[], seed: number): number {
  let h = seed | 0;
  for (const w of words) {
    const k = Math.imul(rotl(Math.imul(w | 0, 0xcc9e2d51), 15), 0x1b873593);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ (words.length * 4));
}

/** 128-bit hash: four MurmurHash3 lanes with different seeds. */
const LANE_SEEDS = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x85a308d3];
const hash128 = (words: readonly number[]): number[] => LANE_SEEDS.map((seed) => murmur32(words, seed));

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
function labelWords(label: string | number): number[] {
  if (typeof label === 'number') {
    f64[0] = label === 0 ? 0 : label; // -0 and 0 are the same label
    return [TAG_NUM, f64Words[0]!, f64Words[1]!];
  }
  const words = [TAG_STR, label.length];
  for (let i = 0; i < label.length; i++) words.push(label.charCodeAt(i));
  return words;
}

const isU32 = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;

export class Rng {
  /** xoshiro128** state words. */
  private readonly s = new Int32Array(4);
  private key: number[] = [];
  private spare: number | null = null;

  /** `seed` is any safe integer (negative and > 2^32 values are distinct seeds). */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
    this.init(hash128([TAG_SEED, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0]));
  }

  private init(key: number[]): void {
    this.key = key;
    this.s.set(key);
    if (this.s.every((w) => w === 0)) this.s[0] = 1; // all-zero is xoshiro's fixed point
    this.spare = null;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    return nextU32(this.s);
  }

  /** Advance as n calls of nextU32() would, in O(log n) (e.g. past draws made elsewhere from state()). */
  skip(n: number): this {
    advance(this.s, n);
    return this;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() * TWO_NEG_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n); // largest multiple of n not above 2^32
    let x: number;
    do {
      x = this.nextU32();
    } while (x >= limit);
    return x % n;
  }

  /**
   * Standard normal deviate (Box-Muller; the pair's second value is cached for the next call).
   * The 32-bit uniforms bound |z| below ~6.66.
   */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next())); // 1 - next() is in (0, 1]
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fill with mean + std * N(0,1); same values as successive normal() calls. */
  fillNormal(arr: Float32Array, std = 1, mean = 0): Float32Array {
    for (let i = 0; i < arr.length; i++) arr[i] = mean + std * this.normal();
    return arr;
  }

  /** Fill with lo + (hi - lo) * U[0,1). (Rounding to float32 can land exactly on hi.) */
  fillUniform(arr: Float32Array, lo = 0, hi = 1): Float32Array {
    const span = hi - lo;
    for (let i = 0; i < arr.length; i++) arr[i] = lo + span * this.next();
    return arr;
  }

  /** Fisher-Yates shuffle in place; returns `arr`. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }

  /**
   * An independent stream derived from this stream's identity and `label` (not from its position):
   * the parent is not advanced, and the same label always gives the same child. Labels 3 and '3'
   * differ. Forks nest: rng.fork('trial-2').fork('client-5').
   */
  fork(label: string | number): Rng {
    const child = new Rng(0);
    child.init(hash128([TAG_FORK, ...this.key, ...labelWords(label)]));
    return child;
  }

  /** JSON-serialisable snapshot; Rng.fromState(rng.state()) continues the identical stream. */
  state(): RngState {
    return { s: Array.from(this.s, (w) => w >>> 0), key: [...this.key], spare: this.spare };
  }

  static fromState(st: RngState): Rng {
    const ok =
      Array.isArray(st?.s) &&
      st.s.length === 4 &&
      st.s.every(isU32) &&
      st.s.some((w) => w !== 0) &&
      Array.isArray(st.key) &&
      st.key.length === 4 &&
      st.key.every(isU32) &&
      (st.spare === null || Number.isFinite(st.spare));
    if (!ok) throw new RangeError('Rng.fromState: malformed state');
    const r = new Rng(0);
    r.key = [...st.key];
    r.s.set(st.s);
    r.spare = st.spare;
    return r;
  }
}
