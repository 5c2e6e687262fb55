// @ts-check
// xoshiro128** (Blackman & Vigna, 2018) on a four-word state, its jump-ahead, and the LoRA dropout
// masks drawn from it. Plain JS (typed by JSDoc) so that rng.ts on the main thread and the engine
// worker (session-worker.js runs without a TS loader) share one implementation: a mask the worker
// builds from a state is bit-identical to one drawn from that state on the main thread.

/** @typedef {Int32Array} XoshiroState four 32-bit words, updated in place */

/** @param {number} x @param {number} k */
const rotl = (x, k) => (x << k) | (x >>> (32 - k));

/**
 * One step: advances `s` in place and returns the output, a uint32.
 * @param {XoshiroState} s
 * @returns {number}
 */
export function nextU32(s) {
  const s0 = s[0];
  const s1 = s[1];
  const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
  const t = s1 << 9;
  const s2 = s[2] ^ s0;
  const s3 = s[3] ^ s1;
  s[1] = s1 ^ s2;
  s[0] = s0 ^ s3;
  s[2] = s2 ^ t;
  s[3] = rotl(s3, 11);
  return result;
}

// The state update is linear over GF(2): n steps are a 128x128 bit matrix, applied in O(log n) from
// the matrices of 2^k steps. A matrix is 128 rows of 4 words; row j is where bit j of the state goes.
/** @type {Int32Array[]} */
const powersOfTwo = [];

/** @param {Int32Array} matrix @param {Int32Array} v @returns {Int32Array} v times matrix */
function applyMatrix(matrix, v) {
  const out = new Int32Array(4);
  for (let w = 0; w < 4; w++)
    for (let bits = v[w]; bits !== 0; bits &= bits - 1) {
      const row = 4 * (32 * w + 31 - Math.clz32(bits & -bits));
      out[0] ^= matrix[row];
      out[1] ^= matrix[row + 1];
      out[2] ^= matrix[row + 2];
      out[3] ^= matrix[row + 3];
    }
  return out;
}

/** @param {number} k @returns {Int32Array} the matrix of 2^k steps */
function stepsMatrix(k) {
  while (powersOfTwo.length <= k) {
    const m = new Int32Array(128 * 4);
    const prev = powersOfTwo.at(-1);
    for (let j = 0; j < 128; j++) {
      let row;
      if (!prev) {
        row = new Int32Array(4);
        row[j >>> 5] = 1 << (j & 31);
        nextU32(row);
      } else row = applyMatrix(prev, prev.subarray(4 * j, 4 * j + 4));
      m.set(row, 4 * j);
    }
    powersOfTwo.push(m);
  }
  return /** @type {Int32Array} */ (powersOfTwo[k]);
}

/**
 * Advance `s` in place as n calls of nextU32 would, in O(log n).
 * @param {XoshiroState} s
 * @param {number} n a safe non-negative integer
 */
export function advance(s, n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`advance: n must be a safe non-negative integer, got ${n}`);
  for (let k = 0; n > 0; k++, n = Math.floor(n / 2)) if (n % 2 === 1) s.set(applyMatrix(stepsMatrix(k), s));
}

/**
 * Number of draws a dropout mask of `length` values takes: two 16-bit halves per 32-bit word.
 * @param {number} length
 */
export const dropoutDraws = (length) => Math.ceil(length / 2);

/**
 * Inverted-dropout mask (0 with probability p, else 1/(1-p)) of `length` values drawn from the
 * state `words` (uint32s, left unchanged). p is resolved to 1/65536: masks are the hot part of a
 * dropout step, tens of millions of values.
 * @param {readonly number[]} words
 * @param {number} length
 * @param {number} p
 * @returns {Float32Array}
 */
export function dropoutMask(words, length, p) {
  const s = Int32Array.from(words);
  const mask = new Float32Array(length);
  const keep = 1 / (1 - p);
  const threshold = Math.round(p * 65536);
  for (let i = 0; i < length; i += 2) {
    const u = nextU32(s);
    mask[i] = (u & 0xffff) < threshold ? 0 : keep;
    if (i + 1 < length) mask[i + 1] = u >>> 16 < threshold ? 0 : keep;
  }
  return mask;
}
