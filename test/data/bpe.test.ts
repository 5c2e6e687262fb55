import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BYTE_TO_CHAR,
  BpeTokenizer,
  CHAR_TO_BYTE,
  convertHfPattern,
  GPT2_PATTERN,
  LLAMA3_PATTERN,
  TokenizerFormatError,
  trainBpe,
} from '../../src/data/bpe/index.js';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { loadTokenizer, saveTokenizer } from '../../src/data/tokenizer-io.js';
import { Rng } from '../../src/engine/rng.js';

// ---------------------------------------------------------------------------------------------------
// Fixtures

const WORDS = (
  'the of and to in is was for that on with as by at from his her they this have had not but one ' +
  'all were when we there can an your which their said if do will each about how up out them then ' +
  'she many some so these would other into has more two like him see time could no make than first ' +
  'been its who now people my made over did down only way find use may water long little very after ' +
  'words called just where most know get through back much before go good new write our used me man ' +
  'too any day same right look think also around another came come work three word must because does ' +
  'part even place well such here take why things help put years different away again off went old ' +
  'number great tell men say small every found still between name should home big give air line set'
).split(' ');

/** Seeded English-like prose: sentences of common words, some capitalised, commas, numbers. */
function englishLike(bytes: number, seed: number): string {
  const rng = new Rng(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 4 + rng.int(12);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) {
      let w = WORDS[rng.int(WORDS.length)]!;
      if (i === 0) w = w[0]!.toUpperCase() + w.slice(1);
      if (rng.int(20) === 0) w = String(rng.int(2000));
      ws.push(w);
      if (i < n - 1 && rng.int(10) === 0) ws.push(',');
    }
    const s = ws.join(' ').replace(/ ,/g, ',') + (rng.int(5) === 0 ? '?' : '.') + (rng.int(6) === 0 ? '\n\n' : ' ');
    parts.push(s);
    size += s.length;
  }
  return parts.join('');
}

/** Byte symbols at the ids GPT-2 gives them (bytes_to_unicode order: printable first, then the rest). */
function gpt2ByteVocab(): Record<string, number> {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  const vocab: Record<string, number> = {};
  order.forEach((b, id) => {
    vocab[BYTE_TO_CHAR[b]!] = id;
  });
  return vocab;
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

/** A hand-written GPT-2-style tokenizer.json: byte symbols at GPT-2's ids, six merges, <|endoftext|>. */
function gpt2Json(): Record<string, unknown> {
  const vocab = gpt2ByteVocab();
  Object.assign(vocab, { he: 256, the: 257, Ġc: 258, at: 259, Ġcat: 260, Ġs: 261, '<|endoftext|>': 50256 });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab,
      merges: ['h e', 't he', 'Ġ c', 'a t', 'Ġc at', 'Ġ s'],
    },
  };
}

/** A LLaMA-3-style tokenizer.json: Sequence[Split(LLaMA-3 regex), ByteLevel], merges as pairs. */
function llama3Json(): Record<string, unknown> {
  const vocab = gpt2ByteVocab();
  Object.assign(vocab, { Ġw: 256, or: 257, Ġwor: 258, ld: 259, Ġworld: 260, Hi: 261, '12': 262, '123': 263, xyz: 264 });
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      special(128000, '<|begin_of_text|>'),
      special(128001, '<|end_of_text|>'),
      special(128006, '<|start_header_id|>'),
      special(128007, '<|end_header_id|>'),
      special(128009, '<|eot_id|>'),
      { ...special(128010, '<tool-call>'), special: false },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: {},
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: [
        ['Ġ', 'w'],
        ['o', 'r'],
        ['Ġw', 'or'],
        ['l', 'd'],
        ['Ġwor', 'ld'],
        ['H', 'i'],
        ['1', '2'],
        ['12', '3'],
      ],
    },
  };
}

const ROUND_TRIP = [
  '',
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  "It's what they'd've said: don't, won't, we'll, I'm, you're.",
  'Grüße aus Köln — naïve café, Ångström, ½ ≠ ∞.',
  '日本語のテキストと中文文本，한국어 텍스트.',
  'Emojis 😀👍🏽 and a family 👨‍👩‍👧‍👦 plus flags 🇫🇷🇯🇵.',
  '   leading spaces, trailing spaces   ',
  'tabs\tand\t\tnewlines\n\n\nand CRLF\r\nand   \n  mixed \u00a0 \u3000 whitespace',
  '3.14159 1,000,000 2024-01-31 0x1F 42nd 1e-9 ١٢٣',
  '\ufeffa leading byte-order mark',
  `${'x'.repeat(500)} ${'9'.repeat(300)} ${' '.repeat(200)}end`,
  'code: function f(a, b) { return a+b; } // ok?!',
];

// ---------------------------------------------------------------------------------------------------

describe('byte-level mapping and regexes', () => {
  it("bytes_to_unicode is GPT-2's bijection onto printable characters", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xad]).toBe('Ń');
    for (let b = 0; b < 256; b++) expect(CHAR_TO_BYTE.get(BYTE_TO_CHAR[b]!)).toBe(b);
    for (const c of BYTE_TO_CHAR) expect(/[\s\p{C}]/u.test(c)).toBe(false);
  });

  it('converts Rust / Oniguruma patterns to JS', () => {
    const re = new RegExp(convertHfPattern(LLAMA3_PATTERN), 'gu');
    expect("IT'S it's".match(re)).toEqual(['IT', "'S", ' it', "'s"]);
    expect('12345 abc'.match(re)).toEqual(['123', '45', ' abc']);
    // Possessive quantifiers (tiktoken cl100k style) become greedy; \x{..} and (?P<..>) are rewritten.
    const cl = new RegExp(convertHfPattern(String.raw`[^\r\n\p{L}\p{N}]?+\p{L}+| ?[^\s\p{L}\p{N}]++[\r\n]*|(?P<n>\x{41})`), 'gu');
    expect('!hi ...\nA'.match(cl)).toEqual(['!hi', ' ...\n', 'A']);
    expect(convertHfPattern('(?i:[a-c]x)')).toBe('(?:[a-cA-C][xX])');
    expect(() => convertHfPattern('(?<=a')).toThrow(/unbalanced/);
    expect(new RegExp(convertHfPattern(GPT2_PATTERN), 'gu').source).toContain('White_Space');
  });
});

describe('trained BpeTokenizer', () => {
  const corpus = englishLike(200_000, 1);
  let tok: BpeTokenizer;
  beforeAll(() => {
    tok = trainBpe(corpus.split('\n\n'), { vocabSize: 512 });
  });

  it("has <pad>, <s>, </s> at 0, 1, 2 and the byte symbols at ByteTokenizer's ids", () => {
    expect(tok.vocabSize).toBe(512);
    expect([tok.padId, tok.bosId, tok.eosId]).toEqual([0, 1, 2]);
    expect(tok.addedTokens().map((t) => [t.id, t.content, t.special])).toEqual([
      [0, '<pad>', true],
      [1, '<s>', true],
      [2, '</s>', true],
    ]);
    for (let b = 0; b < 256; b++) expect(tok.tokenToId(BYTE_TO_CHAR[b]!)).toBe(b + 3);
    const bytesOnly = trainBpe(['hello hello'], { vocabSize: 259 });
    expect(bytesOnly.mergeCount).toBe(0);
    const byteTok = new ByteTokenizer();
    for (const s of ROUND_TRIP) expect(bytesOnly.encode(s)).toEqual(byteTok.encode(s));
  });

  it('round-trips text exactly', () => {
    for (const s of ROUND_TRIP) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('does not add bos/eos, matches specials in the text, and skips them in decode', () => {
    const ids = tok.encode('hello');
    expect(ids).not.toContain(tok.bosId);
    expect(ids).not.toContain(tok.eosId);
    expect(tok.encode('<s>hello</s>')).toEqual([1, ...ids, 2]);
    expect(tok.encode('<s>', { parseSpecial: false })).not.toContain(1);
    expect(tok.decode(tok.encode('<s>', { parseSpecial: false }))).toBe('<s>');
    expect(tok.decode([tok.bosId, ...ids, tok.eosId, tok.padId, tok.padId])).toBe('hello');
    expect(tok.decode([99999, -1, ...ids])).toBe('hello');
  });

  it('decodes invalid UTF-8 leniently', () => {
    const e2 = 0xe2 + 3; // first byte of a 3-byte sequence
    expect(tok.decode([e2])).toBe('\ufffd');
    expect(tok.decode([0x80 + 3, ...tok.encode('ok')])).toBe('\ufffdok');
    // Splitting a multi-byte character's ids still decodes once the pieces are joined.
    const ids = tok.encode('€');
    expect(ids.length).toBeGreaterThan(0);
    expect(tok.decode(ids)).toBe('€');
  });

  it('compresses English-like text (< 0.6 tokens per byte at vocab 512)', () => {
    const heldOut = englishLike(50_000, 2);
    const ratio = tok.encode(heldOut).length / new TextEncoder().encode(heldOut).length;
    expect(ratio).toBeLessThan(0.6);
    expect(tok.decode(tok.encode(heldOut))).toBe(heldOut);
  });

  it('trains deterministically, independent of text order', () => {
    const texts = corpus.split('\n\n');
    const again = trainBpe(texts, { vocabSize: 512 });
    expect(again.merges()).toEqual(tok.merges());
    const reversed = trainBpe([...texts].reverse(), { vocabSize: 512 });
    expect(reversed.merges()).toEqual(tok.merges());
    expect(JSON.stringify(reversed.toJSON())).toBe(JSON.stringify(tok.toJSON()));
  });

  it("merges the most frequent pair first and breaks ties by the pair's strings", () => {
    // Words "aab" x1, "Ġaab" x2, "Ġxy" x2: (a,a)=3 ties (a,b)=3 and "a a" < "a b"; then (aa,b)=3;
    // then (Ġ,aab), (Ġ,x), (x,y) all 2: 'x' sorts before 'Ġ' (U+0120), so "x y", then "Ġ aab", "Ġ xy".
    const t = trainBpe(['aab aab aab xy xy'], { vocabSize: 300, minFrequency: 1 });
    const merges = t.merges().map(([a, b]) => `${a} ${b}`);
    expect(merges).toEqual(['a a', 'aa b', 'x y', 'Ġ aab', 'Ġ xy']);
    // Equal counts: "a b" < "c d" < "Ġ cd" ('Ġ' sorts after ASCII).
    const tie = trainBpe(['ab cd'], { vocabSize: 262, minFrequency: 1 });
    expect(tie.merges().map(([a, b]) => `${a} ${b}`)).toEqual(['a b', 'c d', 'Ġ cd']);
    expect(tie.encode('ab cd')).toEqual([259, 261]);
  });

  it('stops at minFrequency and validates vocabSize', () => {
    const t = trainBpe(['ab ab cd'], { vocabSize: 1000 });
    expect(t.merges().map(([a, b]) => `${a} ${b}`)).toEqual(['a b']);
    expect(t.vocabSize).toBe(260);
    expect(() => trainBpe(['x'], { vocabSize: 258 })).toThrow(/vocabSize/);
  });

  it('merges long words with the heap exactly as with the rescanning loop', () => {
    const rng = new Rng(7);
    const alphabet = ['the', 'a', 'an', 'e', 'th', 'he', 'r', ' ', 'é', '1'];
    for (let k = 0; k < 50; k++) {
      let s = '';
      for (let i = 0, n = 20 + rng.int(200); i < n; i++) s += alphabet[rng.int(alphabet.length)];
      expect(tok.mergeForTest(s, 'heap')).toEqual(tok.mergeForTest(s, 'scan'));
    }
  });

  it('saves and loads as tokenizer.json with identical encodings', async () => {
    const json = tok.toJSON();
    expect(json).toMatchObject({
      version: '1.0',
      truncation: null,
      padding: null,
      normalizer: null,
      pre_tokenizer: BYTE_LEVEL,
      decoder: { type: 'ByteLevel' },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
      },
    });
    expect(json.added_tokens[1]).toEqual({
      id: 1,
      content: '<s>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    expect(Object.keys(json.model.vocab)).toHaveLength(512);
    expect(json.model.vocab.Ġ).toBe(0x20 + 3);
    expect(json.model.merges[0]).toMatch(/^\S+ \S+$/);

    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json)), 'mem.json');
    expect(back.vocabSize).toBe(tok.vocabSize);
    expect([back.padId, back.bosId, back.eosId]).toEqual([0, 1, 2]);
    const text = englishLike(20_000, 3) + ROUND_TRIP.join(' <s> ');
    expect(back.encode(text)).toEqual(tok.encode(text));
    expect(JSON.stringify(back.toJSON())).toBe(JSON.stringify(json));

    const dir = await mkdtemp(join(tmpdir(), 'bpe-'));
    try {
      await saveTokenizer(tok, join(dir, 'tokenizer.json'));
      const fromFile = await loadTokenizer(join(dir, 'tokenizer.json'));
      expect(fromFile.encode(text)).toEqual(tok.encode(text));
      const fromDir = await loadTokenizer(dir);
      expect(fromDir.source).toBe(join(dir, 'tokenizer.json'));
      expect(fromDir.encode(text)).toEqual(tok.encode(text));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loading Hugging Face files', () => {
  it('loads a GPT-2-style file and reproduces hand-derived ids', () => {
    const tok = BpeTokenizer.fromJSON(gpt2Json(), 'gpt2/tokenizer.json');
    // GPT-2 byte ids: '!' = 0, 'Ġ' (space) = 220, '0' = 15, '2' = 17, '4' = 19.
    // "the": (h,e)->he, (t,he)->the = 257. " cat": (Ġ,c)->Ġc, (a,t)->at, (Ġc,at)->Ġcat = 260.
    // " sat": (a,t) has the lowest rank -> Ġ s at, then (Ġ,s) -> Ġs at = [261, 259]. "!" = 0.
    // " 2024": no merges -> Ġ 2 0 2 4.
    expect(tok.encode('the cat sat! 2024<|endoftext|>')).toEqual([257, 260, 261, 259, 0, 220, 17, 15, 17, 19, 50256]);
    expect(tok.encode('The')).toEqual([51, 256]); // 'T' = 51, then (h,e)
    expect(tok.vocabSize).toBe(50257);
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([50256, 50256, 50256]);
    expect(tok.decode([257, 260, 50256, 261, 259, 0])).toBe('the cat sat!');
    expect(tok.idToToken(260)).toBe('Ġcat');
    expect(tok.tokenToId('<|endoftext|>')).toBe(50256);
    const withHeader = gpt2Json();
    (withHeader.model as { merges: string[] }).merges.unshift('#version: 0.2');
    expect(BpeTokenizer.fromJSON(withHeader, 'x').encode('the cat')).toEqual([257, 260]);
  });

  it('loads a LLaMA-3-style file: Split regex, pair merges, specials with large ids', () => {
    const tok = BpeTokenizer.fromJSON(llama3Json(), 'llama3/tokenizer.json');
    expect(tok.vocabSize).toBe(128011);
    expect(tok.bosId).toBe(128000);
    expect(tok.eosId).toBe(128001);
    expect(tok.padId).toBe(128001); // no pad token: falls back to eos
    expect(tok.encode('<|begin_of_text|>Hi world<|eot_id|>')).toEqual([128000, 261, 260, 128009]);
    // 'Ċ' (newline) is GPT-2 id 198; "\n\n" is one piece with no merges.
    expect(tok.encode('<|start_header_id|>Hi<|end_header_id|>\n\nHi')).toEqual([128006, 261, 128007, 198, 198, 261]);
    expect(tok.decode([128000, 261, 260, 128009])).toBe('Hi world');
    // A non-special added token (with regex metacharacters) is matched and decoded as its text.
    expect(tok.encode('Hi<tool-call>Hi')).toEqual([261, 128010, 261]);
    expect(tok.encode('<tool-call>', { parseSpecial: false })).toEqual([128010]);
    expect(tok.decode([261, 128010])).toBe('Hi<tool-call>');
    // LLaMA-3's regex: digits in groups of three, case-insensitive contractions, no space before digits.
    expect(tok.preTokenize("12345 IT'S")).toEqual(['123', '45', ' IT', "'S"]);
    expect(tok.encode('12345')).toEqual([263, 19, 20]);
    // parseSpecial false: the special's text is encoded as ordinary text.
    expect(tok.encode('<|eot_id|>', { parseSpecial: false })).not.toContain(128009);
    expect(tok.decode(tok.encode('<|eot_id|>', { parseSpecial: false }))).toBe('<|eot_id|>');
  });

  it('honours ignore_merges and special overrides', () => {
    const json = llama3Json();
    // "xyz" is in the vocab without a merge path: only ignore_merges finds it.
    expect(BpeTokenizer.fromJSON(json, 'a').encode('xyz')).toEqual([264]);
    (json.model as { ignore_merges: boolean }).ignore_merges = false;
    const plain = BpeTokenizer.fromJSON(json, 'b', { pad: '<|eot_id|>', bos: 128006, eos: '<|eot_id|>' });
    expect(plain.encode('xyz')).toEqual([87, 88, 89]);
    expect([plain.bosId, plain.eosId, plain.padId]).toEqual([128006, 128009, 128009]);
    expect(() => BpeTokenizer.fromJSON(llama3Json(), 'c.json', { pad: '<nope>' })).toThrow(/c\.json: pad token "<nope>"/);
    expect(() => BpeTokenizer.fromJSON(llama3Json(), 'c.json', { eos: 128005 })).toThrow(/c\.json: eos id 128005/);
  });

  it('round-trips a loaded file through toJSON', () => {
    const tok = BpeTokenizer.fromJSON(llama3Json(), 'llama3.json');
    const json = tok.toJSON();
    expect(json.pre_tokenizer).toEqual(llama3Json().pre_tokenizer);
    expect(json.model.ignore_merges).toBe(true);
    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json)), 'again.json');
    const text = '<|begin_of_text|>Hi world 12345, xyz! 😀<|eot_id|>';
    expect(back.encode(text)).toEqual(tok.encode(text));
    expect(back.vocabSize).toBe(tok.vocabSize);
  });

  it("follows tokenizers' Split behaviors, Digits and add_prefix_space", () => {
    const withPre = (pre: unknown) => {
      const json = gpt2Json();
      json.pre_tokenizer = pre;
      return BpeTokenizer.fromJSON(json, 'pre.json');
    };
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
    const split = (behavior: string, invert = false) =>
      withPre({
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { String: '-' }, behavior, invert }, byteLevel],
      }).preTokenize('the-final--countdown-');
    // Expected values are what tokenizers 0.23 returns.
    expect(split('Removed')).toEqual(['the', 'final', 'countdown']);
    expect(split('Removed', true)).toEqual(['-', '-', '-', '-']);
    expect(split('Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown', '-']);
    expect(split('MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown-']);
    expect(split('MergedWithPrevious', true)).toEqual(['the', '-final', '-', '-countdown', '-']);
    expect(split('MergedWithNext')).toEqual(['the', '-final', '-', '-countdown', '-']);
    expect(split('Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown', '-']);
    const digits = withPre({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel] });
    expect(digits.preTokenize('ab123c4')).toEqual(['ab', '1', '2', '3', 'c', '4']);
    const prefix = withPre({ ...BYTE_LEVEL, add_prefix_space: true });
    expect(prefix.preTokenize('the cat')).toEqual([' the', ' cat']);
    expect(prefix.encode('the cat')).toEqual([220, 257, 260]);
    expect(prefix.preTokenize(' the')).toEqual([' the']);
    const nfkc = BpeTokenizer.fromJSON({ ...gpt2Json(), normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }] } }, 'n.json');
    expect(nfkc.decode(nfkc.encode('ﬁ'))).toBe('fi');
  });

  it('rejects unsupported models with an error naming the file', () => {
    const wordPiece = {
      version: '1.0',
      added_tokens: [],
      normalizer: { type: 'BertNormalizer' },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', vocab: { '[UNK]': 0, a: 1 } },
    };
    expect(() => BpeTokenizer.fromJSON(wordPiece, 'bert/tokenizer.json')).toThrow(TokenizerFormatError);
    expect(() => BpeTokenizer.fromJSON(wordPiece, 'bert/tokenizer.json')).toThrow(
      /^bert\/tokenizer\.json: unsupported tokenizer model "WordPiece"/,
    );
    const unigram = { model: { type: 'Unigram', vocab: [['a', -1]] } };
    expect(() => BpeTokenizer.fromJSON(unigram, 't5.json')).toThrow(/t5\.json: unsupported tokenizer model "Unigram"/);
    const fallback = gpt2Json();
    (fallback.model as Record<string, unknown>).byte_fallback = true;
    expect(() => BpeTokenizer.fromJSON(fallback, 'llama2.json')).toThrow(/llama2\.json: .*byte_fallback/);
    const metaspace = { ...gpt2Json(), pre_tokenizer: { type: 'Metaspace', replacement: '▁' } };
    expect(() => BpeTokenizer.fromJSON(metaspace, 'm.json')).toThrow(/m\.json: unsupported pre_tokenizer "Metaspace"/);
    const noBytes = gpt2Json();
    delete (noBytes.model as { vocab: Record<string, number> }).vocab.Ġ;
    expect(() => BpeTokenizer.fromJSON(noBytes, 'nb.json')).toThrow(/nb\.json: the vocab lacks the byte symbol "Ġ"/);
    const badMerge = gpt2Json();
    (badMerge.model as { merges: string[] }).merges.push('q z');
    expect(() => BpeTokenizer.fromJSON(badMerge, 'bm.json')).toThrow(/bm\.json: merge 6 .*"qz"/);
    const badRegex = llama3Json();
    (badRegex.pre_tokenizer as { pretokenizers: { pattern: unknown }[] }).pretokenizers[0]!.pattern = { Regex: '(?x)a' };
    expect(() => BpeTokenizer.fromJSON(badRegex, 'r.json')).toThrow(/r\.json: cannot convert the Split regex/);
  });

  it('loadTokenizer names the file on bad JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bpe-'));
    try {
      const file = join(dir, 'broken.json');
      await writeFile(file, '{"model": ');
      await expect(loadTokenizer(file)).rejects.toThrow(`${file}: not valid JSON`);
      await expect(loadTokenizer(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('performance', () => {
  let corpus2mb: string;
  let tok: BpeTokenizer;
  beforeAll(() => {
    corpus2mb = englishLike(2_000_000, 11) + ROUND_TRIP.join('\n').repeat(50);
  });
  afterAll(() => {
    corpus2mb = '';
  });

  it('trains a 1024-token vocabulary on ~2 MB of text quickly', () => {
    const t0 = performance.now();
    tok = trainBpe(corpus2mb.split('\n\n'), { vocabSize: 1024 });
    const ms = performance.now() - t0;
    expect(tok.vocabSize).toBe(1024);
    expect(ms).toBeLessThan(15_000);
  });

  it('encodes 1 MB of text in under 3 s', () => {
    const text = englishLike(1_000_000, 12);
    const fresh = BpeTokenizer.fromJSON(tok.toJSON(), 'perf.json'); // cold cache
    const t0 = performance.now();
    const ids = fresh.encode(text);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(3000);
    expect(fresh.decode(ids)).toBe(text);
  });
});
