// Bounded encoding: encode(text, { maxTokens }) must equal the first maxTokens ids of the full
// encoding, for every tokenizer shape we load and for texts built to stress a cut in the text (long
// words, long whitespace runs, multi-byte characters, added tokens that strip whitespace).
import { describe, expect, it } from 'vitest';
import { encodeExample, IGNORE_INDEX } from '../../src/data/batching.js';
import { isSpace } from '../../src/data/bpe/added-tokens.js';
import { type BoundedEncodeTuning, BpeTokenizer, type HfAddedToken, LLAMA3_PATTERN, trainBpe } from '../../src/data/bpe/index.js';
import { pretrainCorpus } from '../../src/data/pretrain-corpus.js';
import { ByteTokenizer, type Tokenizer } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/engine/rng.js';

// A vocabulary with merges of whitespace runs, repeated letters and multi-byte characters, so that
// long runs have no point where their bytes could be cut without changing the tokens.
const CODE_AND_RUNS = ['    if x:\n        return 1\n', '\t\ty = 2;\n', 'aaaa bbbb', '日本語のテキスト', '😀😀 ok', '\n\n\n'];
const trained = trainBpe([...pretrainCorpus(1, 150_000), ...CODE_AND_RUNS.flatMap((t) => Array<string>(40).fill(t))], {
  vocabSize: 600,
});
const base = trained.toJSON();

const added = (id: number, content: string, flags: Partial<HfAddedToken>): HfAddedToken => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: false,
  ...flags,
});
const byteLevel = (useRegex: boolean, addPrefixSpace = false) => ({
  type: 'ByteLevel',
  add_prefix_space: addPrefixSpace,
  use_regex: useRegex,
});

/** The tokenizer shapes fromJSON supports, all on the trained vocabulary. */
const TOKENIZERS: Record<string, BpeTokenizer> = {
  'GPT-2 regex (trained)': trained,
  'LLaMA-3 Split, ignore_merges, lstrip / rstrip / single_word tokens': BpeTokenizer.fromJSON(
    {
      ...base,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { Regex: LLAMA3_PATTERN }, behavior: 'Isolated', invert: false }, byteLevel(false)],
      },
      model: { ...base.model, ignore_merges: true },
      added_tokens: [
        ...base.added_tokens,
        added(600, '<mask>', { lstrip: true, special: true }),
        added(601, '[R]', { rstrip: true }),
        added(602, 'cat', { single_word: true }),
      ],
    },
    'llama.json',
  ),
  'NFKC + Lowercase, add_prefix_space': BpeTokenizer.fromJSON(
    {
      ...base,
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
      pre_tokenizer: byteLevel(true, true),
    },
    'norm.json',
  ),
  'MergedWithNext, Digits, Removed': BpeTokenizer.fromJSON(
    {
      ...base,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithNext', invert: false },
          { type: 'Digits', individual_digits: true },
          { type: 'Split', pattern: { Regex: String.raw`\s+` }, behavior: 'Removed', invert: false },
          byteLevel(false),
        ],
      },
    },
    'split.json',
  ),
};

const FRAGMENTS = [
  'the',
  ' ',
  '   ',
  '\n',
  '\n\n',
  '\r\n',
  '\t',
  'é',
  'e\u0301', // e + combining acute: NFKC composes it
  '日本',
  '😀',
  'x',
  '12345',
  "'s",
  "'S",
  '<s>',
  '</s>',
  '<pad>',
  '<mask>',
  '[R]',
  'cat',
  'cats',
  '!!',
  'ΑΣ', // Lowercase turns a final sigma into ς: context after the cut
  'ﬁ',
  'İ',
  '\u00a0',
  'HELLO',
];

/** Random texts of fragments, some repeated into runs hundreds of characters long. */
function randomText(rng: Rng): string {
  let s = '';
  for (let i = 0, n = 1 + rng.int(300); i < n; i++) {
    const f = FRAGMENTS[rng.int(FRAGMENTS.length)]!;
    s += rng.int(25) === 0 ? f.repeat(30 + rng.int(400)) : f;
  }
  return s;
}

const ADVERSARIAL = [
  'x'.repeat(20_000), // one long word
  `${' '.repeat(20_000)}a`, // a long whitespace run (one piece), then a letter
  `a${'\n'.repeat(9_000)}b`,
  `${'aaaa '.repeat(3_000)}`,
  '😀'.repeat(5_000), // 4-byte characters: a cut may fall between surrogates
  'e\u0301'.repeat(5_000),
  `${'日本語'.repeat(3_000)}<s>`,
  `${' '.repeat(10_000)}<mask> after a run an lstrip token swallows`,
  `[R]${' '.repeat(10_000)}after a run an rstrip token swallows`,
  `${'cat'.repeat(3_000)} cat`, // single_word: only the last one matches
  `${'12345'.repeat(3_000)}`,
  '<s></s><pad>'.repeat(2_000),
];

/** Cuts that are small enough to land everywhere, with a margin that is still correct. */
const TIGHT: BoundedEncodeTuning = { firstWindow: 1, margin: 16, longPiece: 64, tailBytes: 16 };

function expectPrefixes(tok: BpeTokenizer, text: string, ks: number[], parseSpecial: boolean): void {
  const full = tok.encode(text, { parseSpecial });
  for (const k of ks) {
    const want = full.slice(0, k);
    expect(tok.encode(text, { maxTokens: k, parseSpecial })).toEqual(want);
    expect(tok.encodeBoundedForTest(text, k, TIGHT, parseSpecial)).toEqual(want);
  }
}

describe('bounded encode', () => {
  for (const [name, tok] of Object.entries(TOKENIZERS)) {
    it(`equals the first maxTokens ids of the full encoding: ${name}`, () => {
      const rng = new Rng(name.length);
      for (let i = 0; i < 40; i++) expectPrefixes(tok, randomText(rng), [1, 3, 20, 150, 2_000], i % 2 === 0);
      for (const text of ADVERSARIAL) expectPrefixes(tok, text, [1, 7, 64, 700], true);
    });
  }

  it('validates maxTokens: 0 gives nothing, Infinity everything, negatives and fractions throw', () => {
    const text = 'Hello, world! '.repeat(10);
    expect(trained.encode(text, { maxTokens: 0 })).toEqual([]);
    expect(trained.encode(text, { maxTokens: Number.POSITIVE_INFINITY })).toEqual(trained.encode(text));
    expect(trained.encode(text, { maxTokens: 10_000 })).toEqual(trained.encode(text));
    expect(() => trained.encode(text, { maxTokens: -1 })).toThrow(RangeError);
    expect(() => trained.encode(text, { maxTokens: 1.5 })).toThrow(/maxTokens/);
  });

  it('ByteTokenizer: the first maxTokens bytes, never half a surrogate pair', () => {
    const tok = new ByteTokenizer();
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      let text = '';
      for (let j = 0, n = rng.int(40); j < n; j++) text += FRAGMENTS[rng.int(FRAGMENTS.length)];
      const full = tok.encode(text);
      for (const k of [0, 1, 2, 3, 5, 8, 13, 40, 500]) expect(tok.encode(text, { maxTokens: k })).toEqual(full.slice(0, k));
    }
  });

  it("isSpace is exactly JS's \\s", () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      if (isSpace(ch) !== /\s/u.test(ch)) expect(`U+${c.toString(16)}`).toBe('the same under isSpace and \\s');
    }
  });
});

describe('encodeExample under a length cap', () => {
  /** encodeExample as it was before bounded encoding: encode everything, then cut. */
  function reference(tok: Tokenizer, prompt: string, target: string, maxLen: number) {
    const p = tok.encode(prompt);
    const ids = [tok.bosId, ...p, ...tok.encode(target), tok.eosId].slice(0, maxLen + 1);
    return { ids, labels: ids.slice(1).map((id, i) => (i < p.length ? IGNORE_INDEX : id)) };
  }

  it('gives the same ids and labels as encoding everything and cutting', () => {
    const rng = new Rng(4);
    for (const tok of [trained, new ByteTokenizer()] as Tokenizer[]) {
      for (let i = 0; i < 60; i++) {
        const prompt = randomText(rng).slice(0, rng.int(2_000));
        const target = randomText(rng).slice(0, rng.int(2_000));
        for (const maxLen of [1, 2, 16, 128, 5_000]) {
          expect(encodeExample(tok, { prompt, target, meta: {} }, maxLen)).toEqual(reference(tok, prompt, target, maxLen));
        }
      }
    }
  });
});
