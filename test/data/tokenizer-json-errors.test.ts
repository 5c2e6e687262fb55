// Malformed tokenizer.json files (issue 8, defect 7): each must fail with one TokenizerFormatError that
// names the file and the problem, in one line, never a TypeError or a stack overflow from deep inside.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, MAX_JSON_DEPTH, MAX_TOKENIZER_FILE_BYTES, TokenizerFormatError, trainBpe } from '../../src/data/bpe/index.js';
import { loadTokenizer } from '../../src/data/tokenizer-io.js';
import { UserError } from '../../src/engine/errors.js';

type Doc = Record<string, unknown> & { model: Record<string, unknown> & { vocab: Record<string, number> } };

/** A valid document to break: a small trained tokenizer. */
const VALID = JSON.stringify(trainBpe(['hello world, hello there'], { vocabSize: 270, minFrequency: 1 }).toJSON());

/** The JSON text of each deeply nested value (JSON.stringify itself would overflow the stack on them). */
const DEEP_TEXT = new WeakMap<object, string>();

/** `{ type: 'Sequence', [key]: [ ... depth times ... leaf ] }`, built without recursion. */
function nested(key: string, depth: number, leaf: object): object {
  let node = leaf;
  for (let i = 0; i < depth; i++) node = { type: 'Sequence', [key]: [node] };
  const open = `{"type":"Sequence","${key}":[`;
  DEEP_TEXT.set(node, `${open.repeat(depth)}${JSON.stringify(leaf)}${']}'.repeat(depth)}`);
  return node;
}

/** JSON.stringify, with the nested values above spliced in as text. */
function toText(doc: unknown): string {
  const deep: string[] = [];
  const text = JSON.stringify(doc, (_key, value: unknown) => {
    const t = value !== null && typeof value === 'object' ? DEEP_TEXT.get(value) : undefined;
    return t === undefined ? value : `@@deep${deep.push(t) - 1}@@`;
  });
  return text.replace(/"@@deep(\d+)@@"/g, (_, i: string) => deep[Number(i)]!);
}

function withoutSpecials(vocab: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(vocab).filter(([t]) => !['<pad>', '<s>', '</s>'].includes(t)));
}

/** Each case: a change to the valid document and what the one-line error must say after the file name. */
const CASES: [name: string, breakIt: (d: Doc) => unknown, message: RegExp][] = [
  ['a number as the document', () => 5, /^not a tokenizer\.json object: the document is 5$/],
  ['an array as the document', () => [1, 2], /^not a tokenizer\.json object: the document is an array of 2$/],
  ['null as the document', () => null, /^not a tokenizer\.json object: the document is null$/],
  ['version not a string', (d) => ({ ...d, version: 1 }), /^version: expected a string, got 1$/],
  ['truncation not an object', (d) => ({ ...d, truncation: 5 }), /^truncation: expected an object, got 5$/],
  ['decoder a string', (d) => ({ ...d, decoder: 'ByteLevel' }), /^decoder: expected an object, got "ByteLevel"$/],
  [
    'post_processor nested 20,000 deep',
    (d) => ({ ...d, post_processor: nested('processors', 20_000, {}) }),
    /^post_processor\.processors\[0\].*….*\]: nested more than 64 levels deep$/,
  ],
  // normalizer
  ['normalizer a number', (d) => ({ ...d, normalizer: 5 }), /^normalizer: expected an object, got 5$/],
  [
    'normalizers a number (the issue)',
    (d) => ({ ...d, normalizer: { type: 'Sequence', normalizers: 5 } }),
    /^normalizer\.normalizers: expected an array, got 5$/,
  ],
  [
    'a normalizer entry a number',
    (d) => ({ ...d, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'NFKC' }, { type: 'Lowercase' }, 5] } }),
    /^normalizer\.normalizers\[3\]: expected an object, got 5$/,
  ],
  [
    'an unknown normalizer',
    (d) => ({ ...d, normalizer: { type: 'Sequence', normalizers: [{ type: 'BertNormalizer' }] } }),
    /^unsupported normalizer "BertNormalizer" at normalizer\.normalizers\[0\]/,
  ],
  [
    'a normalizer type not a string',
    (d) => ({ ...d, normalizer: { type: ['NFC'] } }),
    /^unsupported normalizer an array of 1 at normalizer /,
  ],
  [
    'normalizer nested 20,000 deep (the issue)',
    (d) => ({ ...d, normalizer: nested('normalizers', 20_000, { type: 'NFC' }) }),
    /^normalizer\.normalizers\[0\].*….*\]: nested more than 64 levels deep$/,
  ],
  // pre_tokenizer
  ['pre_tokenizer a number', (d) => ({ ...d, pre_tokenizer: 5 }), /^pre_tokenizer: expected an object, got 5$/],
  [
    'pretokenizers a string',
    (d) => ({ ...d, pre_tokenizer: { type: 'Sequence', pretokenizers: 'ByteLevel' } }),
    /^pre_tokenizer\.pretokenizers: expected an array, got "ByteLevel"$/,
  ],
  [
    'a ByteLevel flag not a boolean',
    (d) => ({ ...d, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: 'yes' } }),
    /^pre_tokenizer\.add_prefix_space: expected true or false, got "yes"$/,
  ],
  [
    'a Split pattern a number',
    (d) => ({ ...d, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: 5 }, { type: 'ByteLevel' }] } }),
    /^Split pre-tokenizer without a Regex or String pattern at pre_tokenizer\.pretokenizers\[0\]\.pattern: 5$/,
  ],
  [
    'a Split Regex that is no regex',
    (d) => ({
      ...d,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '(' } }, { type: 'ByteLevel' }] },
    }),
    /^cannot convert the Split regex "\(" at pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex to a JS regex: unbalanced/,
  ],
  [
    'a Split Regex JS rejects',
    (d) => ({
      ...d,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { Regex: String.raw`\p{NoSuchClass}` } }, { type: 'ByteLevel' }],
      },
    }),
    /^cannot convert the Split regex .* to a JS regex: Invalid regular expression/,
  ],
  [
    'a Split Regex of a megabyte',
    (d) => ({
      ...d,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { Regex: 'a'.repeat(2 ** 20) } }, { type: 'ByteLevel' }],
      },
    }),
    /^pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex: a pattern of 1048576 characters is over the limit of 65536$/,
  ],
  [
    'an unknown Split behavior',
    (d) => ({
      ...d,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'Sideways' }, { type: 'ByteLevel' }],
      },
    }),
    /^unsupported Split behavior "Sideways" at pre_tokenizer\.pretokenizers\[0\]/,
  ],
  [
    'no ByteLevel step',
    (d) => ({ ...d, pre_tokenizer: { type: 'Digits' } }),
    /^the pre_tokenizer must end with exactly one ByteLevel step/,
  ],
  [
    'pre_tokenizer nested 20,000 deep',
    (d) => ({ ...d, pre_tokenizer: nested('pretokenizers', 20_000, { type: 'ByteLevel' }) }),
    /^pre_tokenizer\.pretokenizers\[0\].*….*\]: nested more than 64 levels deep$/,
  ],
  // added_tokens
  ['added_tokens an object', (d) => ({ ...d, added_tokens: {} }), /^added_tokens: expected an array, got an object$/],
  ['an added token a string', (d) => ({ ...d, added_tokens: ['<s>'] }), /^added_tokens\[0\]: expected an object, got "<s>"$/],
  [
    'an added token id a string',
    (d) => ({ ...d, added_tokens: [{ id: '1', content: '<s>' }] }),
    /^added_tokens\[0\]\.id: expected a number, got "1"$/,
  ],
  [
    'an added token content a number',
    (d) => ({ ...d, added_tokens: [{ id: 1, content: 1 }] }),
    /^added_tokens\[0\]\.content: expected a string, got 1$/,
  ],
  [
    'an added token flag a string',
    (d) => ({ ...d, added_tokens: [{ id: 1, content: '<s>', special: 'true' }] }),
    /^added_tokens\[0\]\.special: expected true or false, got "true"$/,
  ],
  ['an added token with empty content', (d) => ({ ...d, added_tokens: [{ id: 1, content: '' }] }), /^added token .* has no content$/],
  [
    'a negative added token id',
    (d) => ({ ...d, added_tokens: [{ id: -1, content: '<x>' }] }),
    /^added token "<x>" has an invalid id -1 \(ids are integers in \[0, 4194304\)\)$/,
  ],
  [
    'a huge added token id',
    (d) => ({ ...d, added_tokens: [{ id: 2 ** 40, content: '<x>' }] }),
    /^added token "<x>" has an invalid id 1099511627776/,
  ],
  [
    'an added token reusing a vocab id',
    (d) => ({ ...d, added_tokens: [{ id: 100, content: '<x>' }] }),
    /^added token "<x>" reuses id 100 of token "/,
  ],
  [
    'two added tokens with one id',
    (d) => ({ ...d, added_tokens: [...(d.added_tokens as unknown[]), { id: 999, content: '<a>' }, { id: 999, content: '<b>' }] }),
    /^added token "<b>" reuses id 999 of token "<a>"$/,
  ],
  // model
  ['no model', (d) => ({ ...d, model: undefined }), /^no "model" section$/],
  ['model an array', (d) => ({ ...d, model: [] }), /^model: expected an object, got an array of 0$/],
  ['model type a number', (d) => ({ ...d, model: { ...d.model, type: 7 } }), /^unsupported tokenizer model 7; only byte-level BPE/],
  ['a WordPiece model', (d) => ({ ...d, model: { ...d.model, type: 'WordPiece' } }), /^unsupported tokenizer model "WordPiece"/],
  [
    'byte_fallback a string',
    (d) => ({ ...d, model: { ...d.model, byte_fallback: 'no' } }),
    /^model\.byte_fallback: expected true or false, got "no"$/,
  ],
  [
    'continuing_subword_prefix a number',
    (d) => ({ ...d, model: { ...d.model, continuing_subword_prefix: 0 } }),
    /^model\.continuing_subword_prefix: expected a string, got 0$/,
  ],
  ['dropout out of range', (d) => ({ ...d, model: { ...d.model, dropout: 2 } }), /^model\.dropout: expected a number in \[0, 1\], got 2$/],
  ['unk_token a number', (d) => ({ ...d, model: { ...d.model, unk_token: 0 } }), /^model\.unk_token: expected a string, got 0$/],
  [
    'ignore_merges a number',
    (d) => ({ ...d, model: { ...d.model, ignore_merges: 1 } }),
    /^model\.ignore_merges: expected true or false, got 1$/,
  ],
  ['vocab an array', (d) => ({ ...d, model: { ...d.model, vocab: [] } }), /^model\.vocab: expected an object, got an array of 0$/],
  [
    'a vocab id a string',
    (d) => ({ ...d, model: { ...d.model, vocab: { ...d.model.vocab, Ġhello: '5' } } }),
    /^model\.vocab\["Ġhello"\]: expected a number, got "5"$/,
  ],
  [
    'a negative vocab id',
    (d) => ({ ...d, model: { ...d.model, vocab: { ...d.model.vocab, zz: -3 } } }),
    /^vocab token "zz" has an invalid id -3/,
  ],
  [
    'a huge vocab id',
    (d) => ({ ...d, model: { ...d.model, vocab: { ...d.model.vocab, zz: 1e300 } } }),
    /^vocab token "zz" has an invalid id 1e\+300/,
  ],
  [
    'a fractional vocab id',
    (d) => ({ ...d, model: { ...d.model, vocab: { ...d.model.vocab, zz: 3.5 } } }),
    /^vocab token "zz" has an invalid id 3\.5/,
  ],
  [
    'duplicate vocab ids',
    (d) => ({ ...d, model: { ...d.model, vocab: { ...d.model.vocab, zz: 100 } } }),
    /^vocab ids collide: ".*" and "zz" both have id 100$/,
  ],
  [
    'a vocab without the byte symbols',
    (d) => ({ ...d, model: { ...d.model, vocab: { a: 0 } } }),
    /^the vocab lacks the byte symbol "Ā" \(byte 0x00\)/,
  ],
  ['merges an object', (d) => ({ ...d, model: { ...d.model, merges: {} } }), /^model\.merges: expected an array, got an object$/],
  ['a merge a number', (d) => ({ ...d, model: { ...d.model, merges: [5] } }), /^merge 0 is neither "a b" nor \["a", "b"\]: 5$/],
  [
    'a merge of three parts',
    (d) => ({ ...d, model: { ...d.model, merges: ['h e l'] } }),
    /^merge 0 "h e l" is not two space-separated tokens$/,
  ],
  [
    'a merge naming an unknown symbol',
    (d) => ({ ...d, model: { ...d.model, merges: ['q ☃'] } }),
    /^merge 0 \("q" "☃"\) uses "☃", which is not in the vocab$/,
  ],
  [
    'no bos or eos token',
    (d) => ({ ...d, added_tokens: [], model: { ...d.model, vocab: withoutSpecials(d.model.vocab) } }),
    /^no bos token found/,
  ],
];

describe('malformed tokenizer.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokjson-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The error loading `path` gives: one TokenizerFormatError (a UserError), one line, naming `file`. */
  async function loadError(path: string, file = path): Promise<string> {
    const e = await loadTokenizer(path).then(
      () => expect.fail(`${path} loaded`),
      (err: unknown) => err,
    );
    return oneLineNaming(e, file);
  }

  function oneLineNaming(e: unknown, file: string): string {
    expect(e).toBeInstanceOf(TokenizerFormatError);
    expect(e).toBeInstanceOf(UserError);
    const message = (e as Error).message;
    expect(message.startsWith(`${file}: `), message).toBe(true);
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(400);
    return message.slice(file.length + 2);
  }

  it('the valid document loads', async () => {
    const file = join(dir, 'valid.json');
    await writeFile(file, VALID);
    const tok = await loadTokenizer(file);
    expect(tok.decode(tok.encode('hello there'))).toBe('hello there');
  });

  it.each(CASES)('%s', async (name, breakIt, message) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    const doc = breakIt(JSON.parse(VALID) as Doc);
    let error: unknown;
    try {
      BpeTokenizer.fromJSON(doc, file);
    } catch (e) {
      error = e;
    }
    const fromDocument = oneLineNaming(error, file);
    expect(fromDocument).toMatch(message);
    // From the file: the same error, except that nesting too deep is refused in the text, before parsing.
    await writeFile(file, toText(doc));
    const fromFile = await loadError(file);
    if (/nested more than/.test(message.source)) expect(fromFile).toMatch(/^nested more than 64 levels deep \(at character \d+\)$/);
    else expect(fromFile).toBe(fromDocument);
  });

  it('files that are not tokenizer.json documents', async () => {
    const write = async (name: string, content: string | Buffer): Promise<string> => {
      const file = join(dir, name);
      await writeFile(file, content);
      return file;
    };
    expect(await loadError(await write('empty.json', ''))).toBe('empty file, expected a tokenizer.json document');
    expect(await loadError(await write('blank.json', ' \n\t'))).toBe('empty file, expected a tokenizer.json document');
    expect(await loadError(await write('text.json', 'model: BPE'))).toMatch(/^not valid JSON: /);
    expect(await loadError(await write('cut.json', VALID.slice(0, VALID.length / 2)))).toMatch(/^not valid JSON: /);
    expect(await loadError(await write('binary.json', Buffer.from([0xff, 0xfe, 0, 1, 2, 0x7b])))).toMatch(/^not valid JSON: /);
    // 10 million levels of brackets: refused before JSON.parse spends seconds on them.
    const deep = await write('deep.json', `${'['.repeat(10_000_000)}${']'.repeat(10_000_000)}`);
    expect(await loadError(deep)).toBe(`nested more than ${MAX_JSON_DEPTH} levels deep (at character ${MAX_JSON_DEPTH})`);
    // Brackets inside strings do not count.
    const inStrings = await write('strings.json', JSON.stringify({ ...JSON.parse(VALID), version: '['.repeat(1_000) }));
    expect((await loadTokenizer(inStrings)).vocabSize).toBe(270);
  });

  it('paths that are not regular files, or too large', async () => {
    expect(await loadError(join(dir, 'missing.json'))).toBe('cannot read: no such file');
    // A model directory: its tokenizer.json is read, and named.
    const emptyDir = join(dir, 'model-without-tokenizer');
    await mkdir(emptyDir);
    expect(await loadError(emptyDir, join(emptyDir, 'tokenizer.json'))).toBe('cannot read: no such file');
    const dirInside = join(dir, 'model-with-dir');
    await mkdir(join(dirInside, 'tokenizer.json'), { recursive: true });
    expect(await loadError(dirInside, join(dirInside, 'tokenizer.json'))).toBe('not a regular file');
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    expect(await loadError(fifo)).toBe('not a regular file');
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, MAX_TOKENIZER_FILE_BYTES + 1); // sparse: no disk used
    expect(await loadError(huge)).toMatch(/^32\.0 MB is over the limit of 32\.0 MB$/);
  });
});
