import { describe, expect, it } from 'vitest';
import { encodeExample, IGNORE_INDEX, makeBatches, type Encoded } from '../../src/data/batching.js';
import { ByteTokenizer } from '../../src/data/tokenizer.js';

/** mulberry32: a tiny seeded PRNG. */
function seededRng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n: number) => Math.floor(next() * n) };
}

const tok = ByteTokenizer.forVocab(259);
const M = IGNORE_INDEX;

describe('ByteTokenizer', () => {
  it('maps bytes to ids 3..258 and round-trips ASCII and multi-byte UTF-8', () => {
    expect(tok.encode('A')).toEqual([65 + 3]);
    expect(tok.encode('é')).toEqual([0xc3 + 3, 0xa9 + 3]);
    for (const s of ['hello', 'héllo wörld', '日本語', 'emoji 🎉 ok', '']) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
    expect(Math.max(...tok.encode('\u00ff\u{10ffff}'))).toBeLessThanOrEqual(258);
  });

  it('skips special ids and decodes broken UTF-8 leniently', () => {
    expect(tok.decode([tok.bosId, ...tok.encode('hi'), tok.eosId, tok.padId, tok.padId])).toBe('hi');
    const euro = tok.encode('€'); // 3 bytes
    expect(tok.decode(euro.slice(0, 2))).toBe('\uFFFD');
    expect(tok.decode([...tok.encode('a'), 0xff + 3, ...tok.encode('b')])).toBe('a\uFFFDb');
  });

  it('checks the model vocabulary size', () => {
    expect(tok.vocabSize).toBe(259);
    expect([tok.padId, tok.bosId, tok.eosId]).toEqual([0, 1, 2]);
    expect(ByteTokenizer.forVocab(32000)).toBeInstanceOf(ByteTokenizer);
    expect(() => ByteTokenizer.forVocab(258)).toThrow(/at least 259.*got 258/);
    expect(() => ByteTokenizer.forVocab(300.5)).toThrow(/at least 259/);
  });
});

describe('encodeExample', () => {
  const [a, b, c, x, y] = tok.encode('abcxy');

  it('masks exactly the positions that predict prompt tokens', () => {
    const enc = encodeExample(tok, { prompt: 'abc', target: 'xy', meta: {} }, 100);
    expect(enc.ids).toEqual([1, a, b, c, x, y, 2]);
    // inputs: bos a b c x y -> predict: a b c x y eos
    expect(enc.labels).toEqual([M, M, M, x, y, 2]);
  });

  it('trains on every token of text records', () => {
    const enc = encodeExample(tok, { prompt: '', target: 'xy', meta: {} }, 100);
    expect(enc.ids).toEqual([1, x, y, 2]);
    expect(enc.labels).toEqual([x, y, 2]);
  });

  it('truncates to maxLen + 1 ids (maxLen inputs and labels)', () => {
    const enc = encodeExample(tok, { prompt: 'abc', target: 'xy', meta: {} }, 4);
    expect(enc.ids).toEqual([1, a, b, c, x]);
    expect(enc.labels).toEqual([M, M, M, x]);
    const promptOnly = encodeExample(tok, { prompt: 'abc', target: 'xy', meta: {} }, 2);
    expect(promptOnly.labels).toEqual([M, M]);
    expect(() => encodeExample(tok, { prompt: '', target: 'x', meta: {} }, 0)).toThrow(/maxLen/);
  });
});

describe('makeBatches', () => {
  const seqs: Encoded[] = ['a', 'bb', 'ccc', 'dddd', 'eeeee'].map((t, i) =>
    encodeExample(tok, { prompt: i % 2 ? 'p' : '', target: t, meta: {} }, 16),
  );

  it('builds row-major, right-padded batches as wide as their longest row and keeps a smaller last batch', () => {
    const batches = makeBatches(seqs, { batchSize: 2, seqLen: 6, shuffle: false, padId: 0 });
    // Inputs per row: a 2, pbb 4 | ccc 4, pdddd 6 (cut to seqLen) | eeeee 6.
    expect(batches.map((bt) => [bt.batch, bt.seq])).toEqual([
      [2, 4],
      [2, 6],
      [1, 6],
    ]);
    const [first, , last] = batches;
    expect(first.inputIds.length).toBe(8);
    expect(first.labels.length).toBe(8);
    const ea = tok.encode('a')[0];
    const [p, bb] = tok.encode('pb');
    // row 0: bos a eos -> inputs [bos, a], labels [a, eos]
    expect(Array.from(first.inputIds.slice(0, 4), Number)).toEqual([1, ea, 0, 0]);
    expect(Array.from(first.labels.slice(0, 4), Number)).toEqual([ea, 2, M, M]);
    // row 1: bos p b b eos -> prompt prediction masked
    expect(Array.from(first.inputIds.slice(4), Number)).toEqual([1, p, bb, bb]);
    expect(Array.from(first.labels.slice(4), Number)).toEqual([M, bb, bb, 2]);
    expect(first.targetTokens).toBe(2 + 3);
    // 'eeeee': 7 ids -> 6 inputs fit exactly
    expect(last.targetTokens).toBe(6);
    expect(Array.from(last.labels, Number)).not.toContain(M);
  });

  it('pads with padId and cuts sequences longer than seqLen', () => {
    const [bt] = makeBatches([seqs[4]], { batchSize: 4, seqLen: 3, shuffle: false, padId: 7 });
    expect([bt.batch, bt.seq]).toEqual([1, 3]);
    expect(Array.from(bt.inputIds, Number)).toEqual(seqs[4].ids.slice(0, 3));
    const [padded] = makeBatches([seqs[0], seqs[1]], { batchSize: 2, seqLen: 4, shuffle: false, padId: 7 });
    expect(Array.from(padded.inputIds.slice(0, 4), Number)).toEqual([1, tok.encode('a')[0], 7, 7]);
    expect(makeBatches([], { batchSize: 2, seqLen: 4, shuffle: false, padId: 0 })).toEqual([]);
  });

  it('costs what the data needs, not what seqLen allows (a seqLen of 10^9 with short records)', () => {
    // Before: every batch was allocated [batch, seqLen] -> 2 x 8 GB of BigInt64 for these 30 records.
    const short = Array.from({ length: 30 }, (_, i) => seqs[i % seqs.length]!);
    const batches = makeBatches(short, { batchSize: 16, seqLen: 1_000_000_000, shuffle: false, padId: 0 });
    expect(batches.map((bt) => [bt.batch, bt.seq])).toEqual([
      [16, 6],
      [14, 6],
    ]);
    expect(batches.reduce((n, bt) => n + bt.inputIds.length, 0)).toBe(30 * 6);
  });

  it('shuffles deterministically with a seeded rng and covers every example once', () => {
    const many: Encoded[] = Array.from({ length: 20 }, (_, i) => ({ ids: [1, 10 + i, 2], labels: [10 + i, 2] }));
    const firstTokens = (seed: number) =>
      makeBatches(many, { batchSize: 3, seqLen: 2, shuffle: true, rng: seededRng(seed), padId: 0 }).flatMap((bt) =>
        Array.from({ length: bt.batch }, (_, r) => Number(bt.inputIds[r * bt.seq + 1])),
      );
    const run1 = firstTokens(42);
    expect(firstTokens(42)).toEqual(run1);
    expect(firstTokens(7)).not.toEqual(run1);
    expect(run1).not.toEqual(many.map((e) => e.ids[1]));
    expect([...run1].sort((p, q) => p - q)).toEqual(many.map((e) => e.ids[1]));
  });

  it('validates options', () => {
    expect(() => makeBatches(seqs, { batchSize: 2, seqLen: 4, shuffle: true, padId: 0 })).toThrow(/rng/);
    expect(() => makeBatches(seqs, { batchSize: 0, seqLen: 4, shuffle: false, padId: 0 })).toThrow(/batchSize/);
    expect(() => makeBatches(seqs, { batchSize: 2, seqLen: 0, shuffle: false, padId: 0 })).toThrow(/seqLen/);
  });
});
