// Byte-level BPE tokenizer (GPT-2 / LLaMA-3 style): training, encoding, decoding and the Hugging Face
// `tokenizer.json` format (save, and load of real GPT-2 / LLaMA-3 style files).
//
// Text is split on added (special) tokens, normalised (if the file asks for it), pre-tokenised with a
// regex (GPT-2's, or the file's Split pattern), each piece's UTF-8 bytes are mapped to printable
// characters (GPT-2's bytes_to_unicode) and the merges are applied by rank. A trained tokenizer has
// <pad>, <s>, </s> at ids 0, 1, 2 and the 256 byte symbols at ids 3..258 (byte b at id b + 3, the same
// ids as ByteTokenizer), then one id per merge.
import type { Tokenizer } from './tokenizer.js';
import { UserError } from '../engine/errors.js';

// ---------------------------------------------------------------------------------------------------
// Byte <-> unicode mapping

/** GPT-2's bytes_to_unicode: byte b is written as the character BYTE_TO_CHAR[b] inside tokens. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = new Array<string>(256);
  bs.forEach((b, i) => {
    out[b] = String.fromCodePoint(cs[i]!);
  });
  return out;
})();

/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The byte-level spelling of a string: its UTF-8 bytes, each written with BYTE_TO_CHAR. */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of UTF8.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

const UTF8 = new TextEncoder();

// ---------------------------------------------------------------------------------------------------
// Regexes

/** GPT-2's pre-tokenisation pattern (also the ByteLevel pre-tokenizer's built-in regex). */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** LLaMA-3's pattern, as its tokenizer.json ships it (Rust / Oniguruma syntax). */
export const LLAMA3_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/'.split(''));
// Unicode-aware versions of the Perl classes (Rust regex semantics; JS's \s, \d, \w differ).
const WHITE = String.raw`\p{White_Space}`;
const WORD_PARTS = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;

function caseVariants(ch: string): string[] {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  const out = [ch];
  for (const v of [lo, up]) if ([...v].length === 1 && !out.includes(v)) out.push(v);
  return out;
}

/** Reads one escape starting at p[i] === '\\'; returns its JS spelling and its length in p. */
function convertEscape(p: string, i: number, inClass: boolean): [string, number] {
  const c = p[i + 1];
  if (c === undefined) throw new Error('pattern ends with a lone backslash');
  const braced = (from: number): [string, number] => {
    const end = p.indexOf('}', from);
    if (end < 0) throw new Error(`unterminated \\${c}{ escape`);
    return [p.slice(from + 1, end), end + 1 - i];
  };
  switch (c) {
    case 'p':
    case 'P': {
      if (p[i + 2] === '{') {
        const [name, len] = braced(i + 2);
        return [`\\${c}{${name}}`, len];
      }
      const letter = p[i + 2];
      if (letter === undefined) throw new Error(`incomplete \\${c} escape`);
      return [`\\${c}{${letter}}`, 3]; // \pL
    }
    case 'x': {
      if (p[i + 2] === '{') {
        const [hex, len] = braced(i + 2);
        return [`\\u{${hex}}`, len];
      }
      return [p.slice(i, i + 4), 4];
    }
    case 'u': {
      if (p[i + 2] === '{') {
        const [hex, len] = braced(i + 2);
        return [`\\u{${hex}}`, len];
      }
      return [p.slice(i, i + 6), 6];
    }
    case 's':
      return [WHITE, 2];
    case 'S':
      return [String.raw`\P{White_Space}`, 2];
    case 'd':
      return [String.raw`\p{Nd}`, 2];
    case 'D':
      return [String.raw`\P{Nd}`, 2];
    case 'w':
      return [inClass ? WORD_PARTS : `[${WORD_PARTS}]`, 2];
    case 'W':
      if (inClass) throw new Error('\\W inside a character class is not supported');
      return [`[^${WORD_PARTS}]`, 2];
    case 'A':
      if (inClass) throw new Error('\\A inside a character class');
      return ['^', 2];
    case 'z':
      if (inClass) throw new Error('\\z inside a character class');
      return ['$', 2];
    case 'n':
    case 'r':
    case 't':
    case 'f':
    case 'v':
    case 'b':
    case 'B':
    case '0':
      return [`\\${c}`, 2];
    default:
      break;
  }
  if (/[A-Za-z0-9]/.test(c)) throw new Error(`unsupported escape \\${c}`);
  const ch = String.fromCodePoint(p.codePointAt(i + 1)!);
  // Under the `u` flag only syntax characters (and '-' in a class) may be escaped.
  if (SYNTAX_CHARS.has(ch) || (inClass && ch === '-')) return [`\\${ch}`, 2];
  return [ch, 1 + ch.length];
}

/** Converts a character class starting at p[i] === '['; returns its JS spelling and length. */
function convertClass(p: string, i: number, ci: boolean): [string, number] {
  let j = i + 1;
  let neg = '';
  if (p[j] === '^') {
    neg = '^';
    j++;
  }
  let main = '';
  let alt = ''; // the case-swapped letters, for (?i:...)
  let first = true;
  while (true) {
    const c = p[j];
    if (c === undefined) throw new Error('unterminated character class');
    if (c === ']' && !first) break;
    first = false;
    if (c === '\\') {
      const [esc, len] = convertEscape(p, j, true);
      main += esc;
      alt += esc;
      j += len;
      continue;
    }
    if (c === '[') throw new Error('nested character classes are not supported');
    if (c === ']') {
      main += '\\]'; // a leading ']' is a literal in Rust / Oniguruma
      alt += '\\]';
      j++;
      continue;
    }
    const ch = String.fromCodePoint(p.codePointAt(j)!);
    main += ch;
    if (ci) {
      const vs = caseVariants(ch);
      alt += vs.length > 1 ? vs.find((v) => v !== ch)! : ch;
    }
    j += ch.length;
  }
  return [`[${neg}${main}${ci ? alt : ''}]`, j + 1 - i];
}

/**
 * Converts a Hugging Face (Rust `regex` / `fancy-regex` / Oniguruma) pattern to JS source for the `u`
 * flag: `(?i:...)` groups are expanded to explicit case alternatives, possessive quantifiers become
 * greedy, `\s \d \w` become their Unicode versions, `\x{..}` becomes `\u{..}`, `(?P<n>` becomes `(?<n>`.
 */
export function convertHfPattern(pattern: string): string {
  const p = pattern;
  let out = '';
  let i = 0;
  let ci = false;
  const stack: boolean[] = [];
  let afterQuantifier = false;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const [esc, len] = convertEscape(p, i, false);
      out += esc;
      i += len;
      afterQuantifier = false;
    } else if (c === '[') {
      const [cls, len] = convertClass(p, i, ci);
      out += cls;
      i += len;
      afterQuantifier = false;
    } else if (c === '(') {
      stack.push(ci);
      const rest = p.slice(i, i + 40);
      let m: RegExpExecArray | null;
      if (rest.startsWith('(?i:')) {
        ci = true;
        out += '(?:';
        i += 4;
      } else if (rest.startsWith('(?-i:')) {
        ci = false;
        out += '(?:';
        i += 5;
      } else if (rest.startsWith('(?P<')) {
        out += '(?<';
        i += 4;
      } else if ((m = /^\(\?(?::|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>)/.exec(rest))) {
        out += m[0];
        i += m[0].length;
      } else if (rest.startsWith('(?')) {
        throw new Error(`unsupported group syntax at offset ${i}: ${p.slice(i, i + 6)}`);
      } else {
        out += '(';
        i++;
      }
      afterQuantifier = false;
    } else if (c === ')') {
      if (stack.length === 0) throw new Error(`unbalanced ')' at offset ${i}`);
      ci = stack.pop()!;
      out += ')';
      i++;
      afterQuantifier = false;
    } else if (c === '*' || c === '+' || c === '?') {
      i++;
      if (afterQuantifier) {
        afterQuantifier = false;
        if (c === '?')
          out += '?'; // lazy
        else if (c === '+')
          continue; // possessive: greedy is the closest JS has
        else throw new Error(`invalid quantifier at offset ${i - 1}`);
      } else {
        out += c;
        afterQuantifier = true;
      }
    } else if (c === '{') {
      const m = /^\{\d+(?:,\d*)?\}/.exec(p.slice(i, i + 24));
      if (m) {
        out += m[0];
        i += m[0].length;
        afterQuantifier = true;
      } else {
        out += '\\{';
        i++;
        afterQuantifier = false;
      }
    } else if (c === '}') {
      out += '\\}';
      i++;
      afterQuantifier = false;
    } else if (c === '.') {
      out += '[^\\n]';
      i++;
      afterQuantifier = false;
    } else {
      const ch = String.fromCodePoint(p.codePointAt(i)!);
      const vs = ci ? caseVariants(ch) : [ch];
      out += vs.length > 1 ? `[${vs.join('')}]` : ch;
      i += ch.length;
      afterQuantifier = false;
    }
  }
  if (stack.length > 0) throw new Error("unbalanced '('");
  return out;
}

/** `convertHfPattern` compiled with the `gu` flags. */
export function compileHfPattern(pattern: string): RegExp {
  return new RegExp(convertHfPattern(pattern), 'gu');
}

/** Escapes a literal for use outside a character class under the `u` flag (which rejects `\-`). */
function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------
// Hugging Face JSON shapes

export interface HfAddedToken {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The `tokenizer.json` document written by `toJSON()` (a subset of what `fromJSON` accepts). */
export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: false;
    byte_fallback: false;
    ignore_merges?: boolean;
    vocab: Record<string, number>;
    merges: string[] | [string, string][];
  };
}

/** Thrown for a tokenizer file this module cannot load; the message starts with the file name. */
export class TokenizerFormatError extends UserError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'TokenizerFormatError';
  }
}

/** A special id given as an id or as the token's text. */
export type SpecialRef = number | string;

export interface SpecialOverrides {
  bos?: SpecialRef;
  eos?: SpecialRef;
  pad?: SpecialRef;
}

export interface BpeTokenizerOptions {
  /** Model vocabulary, token (byte-level spelling) -> id. Must hold all 256 byte symbols. */
  vocab: Record<string, number> | ReadonlyMap<string, number>;
  /** Merges in rank order, as pairs of tokens. Every part and every result must be in `vocab`. */
  merges: ReadonlyArray<readonly [string, string]>;
  /** Added tokens (matched in the raw text before pre-tokenisation); ids may lie outside `vocab`. */
  addedTokens?: readonly HfAddedToken[];
  /** HF `normalizer` JSON (null, NFC/NFD/NFKC/NFKD, Lowercase, or a Sequence of them). */
  normalizer?: unknown;
  /** HF `pre_tokenizer` JSON; defaults to GPT-2's ByteLevel (use_regex: true). */
  preTokenizer?: unknown;
  /** HF `post_processor` JSON, kept for `toJSON()` only (encode never adds bos/eos). */
  postProcessor?: unknown;
  /** HF `decoder` JSON, kept for `toJSON()` only (decoding is always byte-level). */
  decoder?: unknown;
  /** HF `ignore_merges` (LLaMA-3): a piece that is itself a vocab token is emitted without merging. */
  ignoreMerges?: boolean;
  /** Override the special ids otherwise discovered from token names. */
  specials?: SpecialOverrides;
  /** Where the tokenizer came from, for error messages. */
  source?: string;
}

export interface EncodeOptions {
  /** Match special added tokens in the text (default true). Non-special added tokens always match. */
  parseSpecial?: boolean;
}

const DEFAULT_BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '<|endoftext|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];
const PAD_NAMES = ['<pad>', '<|pad|>', '[PAD]'];

// ---------------------------------------------------------------------------------------------------
// Pre-tokenizer pipeline

type Behavior = 'Isolated' | 'Removed' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

type PreStep =
  | { kind: 'split'; re: RegExp; behavior: Behavior; invert: boolean }
  | { kind: 'byteLevel'; addPrefixSpace: boolean; re: RegExp | null };

const BEHAVIORS: readonly Behavior[] = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

function splitWith(text: string, re: RegExp, behavior: Behavior, invert: boolean, out: string[]): void {
  if (behavior === 'Isolated' && !invert) {
    // Fast path: matches and the gaps between them, in order.
    let last = 0;
    for (const m of text.matchAll(re)) {
      const s = m[0];
      if (s.length === 0) continue;
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(s);
      last = m.index + s.length;
    }
    if (last < text.length) out.push(text.slice(last));
    return;
  }
  const segs: [string, boolean][] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > last) segs.push([text.slice(last, m.index), invert]);
    segs.push([m[0], !invert]);
    last = m.index + m[0].length;
  }
  if (last < text.length) segs.push([text.slice(last), invert]);
  // The folds below follow tokenizers' SplitDelimiterBehavior.
  const acc: string[] = [];
  let prevMatch = false;
  switch (behavior) {
    case 'Isolated':
      for (const [s] of segs) acc.push(s);
      break;
    case 'Removed':
      for (const [s, isMatch] of segs) if (!isMatch) acc.push(s);
      break;
    case 'MergedWithPrevious':
      for (const [s, isMatch] of segs) {
        if (isMatch && !prevMatch && acc.length > 0) acc[acc.length - 1] += s;
        else acc.push(s);
        prevMatch = isMatch;
      }
      break;
    case 'MergedWithNext':
      for (let k = segs.length - 1; k >= 0; k--) {
        const [s, isMatch] = segs[k]!;
        if (isMatch && !prevMatch && acc.length > 0) acc[acc.length - 1] = s + acc[acc.length - 1];
        else acc.push(s);
        prevMatch = isMatch;
      }
      acc.reverse();
      break;
    case 'Contiguous':
      for (let k = 0; k < segs.length; k++) {
        const [s, isMatch] = segs[k]!;
        if (k > 0 && isMatch === prevMatch) acc[acc.length - 1] += s;
        else acc.push(s);
        prevMatch = isMatch;
      }
      break;
  }
  for (const s of acc) out.push(s);
}

function parsePreTokenizer(json: unknown, source: string): PreStep[] {
  const steps: PreStep[] = [];
  const fail = (msg: string): never => {
    throw new TokenizerFormatError(source, msg);
  };
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') fail(`pre_tokenizer entry is not an object: ${JSON.stringify(node)}`);
    const n = node as Record<string, unknown>;
    switch (n.type) {
      case 'Sequence': {
        if (!Array.isArray(n.pretokenizers)) fail('pre_tokenizer Sequence without a pretokenizers array');
        for (const child of n.pretokenizers as unknown[]) visit(child);
        return;
      }
      case 'ByteLevel': {
        const useRegex = n.use_regex !== false;
        steps.push({
          kind: 'byteLevel',
          addPrefixSpace: n.add_prefix_space === true,
          re: useRegex ? compileHfPattern(GPT2_PATTERN) : null,
        });
        return;
      }
      case 'Split': {
        const pat = n.pattern as Record<string, unknown> | undefined;
        let re: RegExp;
        if (pat && typeof pat.Regex === 'string') {
          try {
            re = compileHfPattern(pat.Regex);
          } catch (e) {
            throw fail(`cannot convert the Split regex ${JSON.stringify(pat.Regex)} to a JS regex: ${(e as Error).message}`);
          }
        } else if (pat && typeof pat.String === 'string') {
          if (pat.String.length === 0) fail('Split with an empty String pattern');
          re = new RegExp(escapeRegex(pat.String), 'gu');
        } else {
          throw fail(`Split pre-tokenizer without a Regex or String pattern: ${JSON.stringify(n.pattern)}`);
        }
        const behavior = (n.behavior ?? 'Isolated') as Behavior;
        if (!BEHAVIORS.includes(behavior)) fail(`unsupported Split behavior ${JSON.stringify(n.behavior)}`);
        steps.push({ kind: 'split', re, behavior, invert: n.invert === true });
        return;
      }
      case 'Digits': {
        const re = n.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
        steps.push({ kind: 'split', re, behavior: 'Isolated', invert: false });
        return;
      }
      default:
        fail(
          `unsupported pre_tokenizer ${JSON.stringify(n.type)}; only byte-level BPE ` +
            '(ByteLevel, optionally after Split / Digits in a Sequence) is supported',
        );
    }
  };
  if (json === null || json === undefined) fail('no pre_tokenizer: not a byte-level BPE tokenizer (expected ByteLevel)');
  visit(json);
  const bl = steps.filter((s) => s.kind === 'byteLevel').length;
  if (bl !== 1 || steps[steps.length - 1]!.kind !== 'byteLevel') {
    fail('the pre_tokenizer must end with exactly one ByteLevel step (byte-level BPE)');
  }
  return steps;
}

function parseNormalizer(json: unknown, source: string): ((s: string) => string) | null {
  if (json === null || json === undefined) return null;
  const fns: ((s: string) => string)[] = [];
  const visit = (node: unknown): void => {
    const n = (node ?? {}) as Record<string, unknown>;
    switch (n.type) {
      case 'Sequence':
        for (const c of (n.normalizers as unknown[]) ?? []) visit(c);
        return;
      case 'NFC':
      case 'NFD':
      case 'NFKC':
      case 'NFKD': {
        const form = n.type;
        fns.push((s) => s.normalize(form));
        return;
      }
      case 'Lowercase':
        fns.push((s) => s.toLowerCase());
        return;
      default:
        throw new TokenizerFormatError(source, `unsupported normalizer ${JSON.stringify(n.type)}`);
    }
  };
  visit(json);
  if (fns.length === 0) return null;
  return (s) => fns.reduce((acc, f) => f(acc), s);
}

// ---------------------------------------------------------------------------------------------------
// A binary min-heap

class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------------
// The tokenizer

/** Ids must stay below this (pair keys left * base + right must stay exact doubles). */
const MAX_ID = 2 ** 22;
const CACHE_LIMIT = 100_000;
/** Words with at least this many bytes are merged with a heap instead of rescanning. */
const LONG_WORD = 48;

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}
function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
}

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly source: string;

  private readonly vocab: Map<string, number>;
  private readonly idToTok: (string | undefined)[];
  private readonly mergeList: [string, string][];
  /** Pair key (left * pairBase + right) -> merge rank; pairBase = model vocab size (small ints stay Smis). */
  private readonly mergeRank = new Map<number, number>();
  private readonly pairBase: number;
  private readonly mergeResult: Int32Array;
  private readonly byteIds = new Int32Array(256);
  private readonly added: HfAddedToken[];
  private readonly addedByContent = new Map<string, HfAddedToken>();
  private readonly addedRe: RegExp | null;
  private readonly addedReNoSpecial: RegExp | null;
  private readonly skipOnDecode = new Set<number>();
  private readonly decodeBytes: (Uint8Array | undefined)[];
  private readonly normalize: ((s: string) => string) | null;
  private readonly steps: PreStep[];
  private readonly ignoreMerges: boolean;
  private readonly json: { normalizer: unknown; preTokenizer: unknown; postProcessor: unknown; decoder: unknown };
  private readonly cache = new Map<string, number[]>();
  // ignoreBOM: keep a leading U+FEFF (the default decoder strips it).
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(opts: BpeTokenizerOptions) {
    const source = opts.source ?? 'BpeTokenizer';
    this.source = source;
    const fail = (msg: string): never => {
      throw new TokenizerFormatError(source, msg);
    };
    this.vocab = new Map(opts.vocab instanceof Map ? opts.vocab : Object.entries(opts.vocab));
    let maxId = -1;
    const checkId = (id: unknown, what: string): number => {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= MAX_ID) {
        fail(`${what} has an invalid id ${JSON.stringify(id)}`);
      }
      maxId = Math.max(maxId, id as number);
      return id as number;
    };
    const idToTok: (string | undefined)[] = [];
    for (const [tok, id] of this.vocab) {
      checkId(id, `vocab token ${JSON.stringify(tok)}`);
      if (idToTok[id] !== undefined)
        fail(`vocab ids collide: ${JSON.stringify(idToTok[id])} and ${JSON.stringify(tok)} both have id ${id}`);
      idToTok[id] = tok;
    }
    this.pairBase = maxId + 1;
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) {
        fail(
          `the vocab lacks the byte symbol ${JSON.stringify(BYTE_TO_CHAR[b])} (byte 0x${b.toString(16).padStart(2, '0')}); not a byte-level BPE vocabulary`,
        );
      }
      this.byteIds[b] = id!;
    }

    // Merges
    this.mergeList = opts.merges.map(([a, b]) => [a, b]);
    this.mergeResult = new Int32Array(this.mergeList.length);
    this.mergeList.forEach(([a, b], rank) => {
      const ia = this.vocab.get(a);
      const ib = this.vocab.get(b);
      const ic = this.vocab.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        fail(`merge ${rank} (${JSON.stringify(a)} ${JSON.stringify(b)}) uses ${JSON.stringify(missing)}, which is not in the vocab`);
      }
      const key = ia! * this.pairBase + ib!;
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
      this.mergeResult[rank] = ic!;
    });

    // Added tokens
    this.added = (opts.addedTokens ?? []).map((t) => ({ ...t }));
    for (const t of this.added) {
      if (typeof t.content !== 'string' || t.content.length === 0) fail(`added token ${JSON.stringify(t)} has no content`);
      checkId(t.id, `added token ${JSON.stringify(t.content)}`);
      const prev = idToTok[t.id];
      if (prev !== undefined && prev !== t.content) {
        fail(`added token ${JSON.stringify(t.content)} reuses id ${t.id} of vocab token ${JSON.stringify(prev)}`);
      }
      this.addedByContent.set(t.content, t);
      if (t.special) this.skipOnDecode.add(t.id);
    }
    const addedRegex = (ts: HfAddedToken[]): RegExp | null =>
      ts.length === 0
        ? null
        : new RegExp(
            [...ts]
              .map((t) => t.content)
              .sort((x, y) => y.length - x.length || (x < y ? -1 : x > y ? 1 : 0))
              .map(escapeRegex)
              .join('|'),
            'gu',
          );
    this.addedRe = addedRegex(this.added);
    this.addedReNoSpecial = addedRegex(this.added.filter((t) => !t.special));
    this.vocabSize = maxId + 1;

    // Decoding table
    this.idToTok = idToTok;
    this.decodeBytes = new Array<Uint8Array | undefined>(this.vocabSize);
    for (let id = 0; id < idToTok.length; id++) {
      const tok = idToTok[id];
      if (tok === undefined) continue;
      const bytes: number[] = [];
      let ok = true;
      for (const ch of tok) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) {
          ok = false;
          break;
        }
        bytes.push(b);
      }
      this.decodeBytes[id] = ok ? Uint8Array.from(bytes) : UTF8.encode(tok);
    }
    for (const t of this.added) this.decodeBytes[t.id] = UTF8.encode(t.content);

    // Pipeline
    this.normalize = parseNormalizer(opts.normalizer, source);
    const preJson = opts.preTokenizer === undefined ? DEFAULT_BYTE_LEVEL : opts.preTokenizer;
    this.steps = parsePreTokenizer(preJson, source);
    this.ignoreMerges = opts.ignoreMerges === true;
    this.json = {
      normalizer: opts.normalizer ?? null,
      preTokenizer: preJson,
      postProcessor: opts.postProcessor === undefined ? DEFAULT_BYTE_LEVEL : opts.postProcessor,
      decoder: opts.decoder === undefined ? DEFAULT_BYTE_LEVEL : opts.decoder,
    };

    // Special ids
    const resolve = (ref: SpecialRef | undefined, names: string[], what: string): number | undefined => {
      if (ref !== undefined) {
        if (typeof ref === 'number') {
          if (!Number.isInteger(ref) || ref < 0 || ref >= this.vocabSize || this.decodeBytes[ref] === undefined) {
            fail(`${what} id ${ref} is not a token id (vocab size ${this.vocabSize})`);
          }
          return ref;
        }
        const id = this.tokenToId(ref);
        if (id === undefined) fail(`${what} token ${JSON.stringify(ref)} is not in the vocabulary`);
        return id;
      }
      for (const name of names) {
        const id = this.tokenToId(name);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const over = opts.specials ?? {};
    const bos = resolve(over.bos, BOS_NAMES, 'bos');
    const eos = resolve(over.eos, EOS_NAMES, 'eos');
    const missing = (what: string, names: string[]): never =>
      fail(`no ${what} token found (looked for ${names.join(', ')}); pass an override for ${what}`);
    this.bosId = bos ?? missing('bos', BOS_NAMES);
    this.eosId = eos ?? missing('eos', EOS_NAMES);
    this.padId = resolve(over.pad, PAD_NAMES, 'pad') ?? this.eosId;
    for (const id of [this.bosId, this.eosId, this.padId]) this.skipOnDecode.add(id);
  }

  /** Loads a Hugging Face `tokenizer.json` document (already parsed); `file` names it in errors. */
  static fromJSON(json: unknown, file = 'tokenizer.json', specials?: SpecialOverrides): BpeTokenizer {
    const fail = (msg: string): never => {
      throw new TokenizerFormatError(file, msg);
    };
    if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('not a tokenizer.json object');
    const doc = json as Record<string, unknown>;
    const model = doc.model as Record<string, unknown> | undefined;
    if (!model || typeof model !== 'object') fail('no "model" section');
    const type = model!.type ?? (model!.merges !== undefined ? 'BPE' : undefined);
    if (type !== 'BPE') {
      fail(`unsupported tokenizer model ${JSON.stringify(type)}; only byte-level BPE (GPT-2 / LLaMA-3 style) is supported`);
    }
    if (model!.byte_fallback === true) {
      fail('BPE with byte_fallback (SentencePiece style, e.g. LLaMA-2) is not supported; only byte-level BPE is');
    }
    for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
      if (model![k] !== null && model![k] !== undefined && model![k] !== '')
        fail(`BPE with ${k} ${JSON.stringify(model![k])} is not supported`);
    }
    const vocab = model!.vocab;
    if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) fail('model.vocab is not an object');
    const rawMerges = model!.merges;
    if (!Array.isArray(rawMerges)) fail('model.merges is not an array');
    const merges: [string, string][] = [];
    (rawMerges as unknown[]).forEach((m, k) => {
      if (typeof m === 'string') {
        if (k === 0 && m.startsWith('#version')) return;
        const parts = m.split(' ');
        if (parts.length !== 2) fail(`merge ${k} ${JSON.stringify(m)} is not two space-separated tokens`);
        merges.push([parts[0]!, parts[1]!]);
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        merges.push([m[0], m[1]]);
      } else {
        fail(`merge ${k} is neither "a b" nor ["a", "b"]: ${JSON.stringify(m)}`);
      }
    });
    const added = doc.added_tokens ?? [];
    if (!Array.isArray(added)) fail('added_tokens is not an array');
    return new BpeTokenizer({
      vocab: vocab as Record<string, number>,
      merges,
      addedTokens: added as HfAddedToken[],
      normalizer: doc.normalizer ?? null,
      preTokenizer: doc.pre_tokenizer ?? null,
      postProcessor: doc.post_processor ?? null,
      decoder: doc.decoder ?? null,
      ignoreMerges: model!.ignore_merges === true,
      specials,
      source: file,
    });
  }

  /** The Hugging Face `tokenizer.json` document (JSON.stringify it to save). */
  toJSON(): HfTokenizerJson {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of [...this.vocab].sort((x, y) => x[1] - y[1])) vocab[tok] = id;
    const pairsNeeded = this.mergeList.some(([a, b]) => a.includes(' ') || b.includes(' '));
    const model: HfTokenizerJson['model'] = {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ...(this.ignoreMerges ? { ignore_merges: true } : {}),
      vocab,
      merges: pairsNeeded ? this.mergeList.map(([a, b]) => [a, b] as [string, string]) : this.mergeList.map(([a, b]) => `${a} ${b}`),
    };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.added.map((t) => ({
        id: t.id,
        content: t.content,
        single_word: t.single_word ?? false,
        lstrip: t.lstrip ?? false,
        rstrip: t.rstrip ?? false,
        normalized: t.normalized ?? false,
        special: t.special ?? false,
      })),
      normalizer: this.json.normalizer,
      pre_tokenizer: this.json.preTokenizer,
      post_processor: this.json.postProcessor,
      decoder: this.json.decoder,
      model,
    };
  }

  /** Number of merges. */
  get mergeCount(): number {
    return this.mergeList.length;
  }

  /** The merges in rank order (copies). */
  merges(): [string, string][] {
    return this.mergeList.map(([a, b]) => [a, b]);
  }

  /** The id of a token: an added token's content or a vocab token's byte-level spelling. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.vocab.get(token);
  }

  /** The token text of an id (byte-level spelling for vocab tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return this.added.find((t) => t.id === id)?.content ?? this.idToTok[id];
  }

  /** Whether `id` is skipped by decode (special added tokens and the bos/eos/pad ids). */
  isSpecial(id: number): boolean {
    return this.skipOnDecode.has(id);
  }

  /** The added tokens (copies). */
  addedTokens(): HfAddedToken[] {
    return this.added.map((t) => ({ ...t }));
  }

  /** Text -> ids. Added tokens in the text are matched first; no bos/eos is added. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const re = opts.parseSpecial === false ? this.addedReNoSpecial : this.addedRe;
    if (re === null) {
      this.encodeOrdinary(text, out);
      return out;
    }
    for (const seg of this.splitAdded(text, re)) {
      if (typeof seg === 'number') out.push(seg);
      else this.encodeOrdinary(seg, out);
    }
    return out;
  }

  /** Ids -> text. Special ids are skipped, unknown ids ignored, invalid UTF-8 becomes U+FFFD. */
  decode(ids: number[]): string {
    let total = 0;
    for (const id of ids) if (!this.skipOnDecode.has(id)) total += this.decodeBytes[id]?.length ?? 0;
    const buf = new Uint8Array(total);
    let o = 0;
    for (const id of ids) {
      if (this.skipOnDecode.has(id)) continue;
      const b = this.decodeBytes[id];
      if (b === undefined) continue;
      buf.set(b, o);
      o += b.length;
    }
    return this.utf8.decode(buf);
  }

  /** The pre-tokenised pieces of ordinary text (no added-token matching), as plain strings. */
  preTokenize(text: string): string[] {
    if (this.normalize) text = this.normalize(text);
    let pieces = [text];
    for (const step of this.steps) {
      const next: string[] = [];
      for (const piece of pieces) {
        if (step.kind === 'split') {
          splitWith(piece, step.re, step.behavior, step.invert, next);
        } else {
          const p = step.addPrefixSpace && !piece.startsWith(' ') ? ` ${piece}` : piece;
          if (step.re) splitWith(p, step.re, 'Isolated', false, next);
          else if (p.length > 0) next.push(p);
        }
      }
      pieces = next;
    }
    return pieces;
  }

  /** Splits on added tokens (honouring lstrip / rstrip / single_word); numbers are added-token ids. */
  private splitAdded(text: string, re: RegExp): (string | number)[] {
    const out: (string | number)[] = [];
    let last = 0; // start of the not-yet-emitted text
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const tok = this.addedByContent.get(m[0])!;
      let start = m.index;
      let end = start + m[0].length;
      if (tok.single_word && (isWordChar(text[start - 1]) || isWordChar(text[end]))) {
        re.lastIndex = start + 1;
        continue;
      }
      if (tok.lstrip) while (start > last && isSpace(text[start - 1])) start--;
      if (tok.rstrip) while (end < text.length && isSpace(text[end])) end++;
      if (start > last) out.push(text.slice(last, start));
      out.push(tok.id);
      last = end;
      re.lastIndex = end;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const piece of this.preTokenize(text)) {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.bpe(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Applies the merges to one pre-tokenised piece. */
  private bpe(piece: string): number[] {
    const bytes = UTF8.encode(piece);
    if (bytes.length === 1) return [this.byteIds[bytes[0]!]!];
    if (this.ignoreMerges) {
      const whole = this.vocab.get(toByteLevel(piece));
      if (whole !== undefined) return [whole];
    }
    const syms = Array.from(bytes, (b) => this.byteIds[b]!);
    return syms.length >= LONG_WORD ? this.mergeHeap(syms) : this.mergeScan(syms);
  }

  /** Lowest-rank pair first, all its occurrences left to right (GPT-2's loop); fine for short words. */
  private mergeScan(syms: number[]): number[] {
    const base = this.pairBase;
    while (syms.length > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.mergeRank.get(syms[i]! * base + syms[i + 1]!);
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      const a = syms[at]!;
      const b = syms[at + 1]!;
      const c = this.mergeResult[best]!;
      const next = syms.slice(0, at);
      for (let i = at; i < syms.length; ) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          next.push(c);
          i += 2;
        } else {
          next.push(syms[i]!);
          i++;
        }
      }
      syms = next;
    }
    return syms;
  }

  /** The same result with a linked list and a heap of candidate merges ordered by (rank, position). */
  private mergeHeap(init: number[]): number[] {
    const n = init.length;
    const sym = Int32Array.from(init);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    type Cand = { rank: number; pos: number; a: number; b: number };
    const heap = new Heap<Cand>((x, y) => x.rank < y.rank || (x.rank === y.rank && x.pos < y.pos));
    const consider = (pos: number): void => {
      const q = next[pos]!;
      if (pos < 0 || q < 0) return;
      const rank = this.mergeRank.get(sym[pos]! * this.pairBase + sym[q]!);
      if (rank !== undefined) heap.push({ rank, pos, a: sym[pos]!, b: sym[q]! });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
      const q = next[c.pos]!;
      // Stale if the left symbol was absorbed or either side has changed since it was queued.
      if (sym[c.pos] !== c.a || q < 0 || sym[q] !== c.b) continue;
      sym[c.pos] = this.mergeResult[c.rank]!;
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

  /** @internal For tests: runs one of the two merge loops on a piece directly. */
  mergeForTest(piece: string, mode: 'scan' | 'heap'): number[] {
    const syms = Array.from(UTF8.encode(piece), (b) => this.byteIds[b]!);
    return mode === 'scan' ? this.mergeScan(syms) : this.mergeHeap(syms);
  }
}

// ---------------------------------------------------------------------------------------------------
// Training

export interface TrainBpeOptions {
  /** Target vocabulary size including the 3 specials and 256 bytes (>= 259). */
  vocabSize: number;
  /** Stop early once the best pair occurs fewer than this many times (default 2). */
  minFrequency?: number;
}

/** The special tokens of a trained tokenizer, at ids 0, 1, 2. */
export const TRAINED_SPECIALS = ['<pad>', '<s>', '</s>'] as const;

/**
 * Classic byte-level BPE training over pre-tokenised word counts. Starts from the 3 specials and all
 * 256 byte symbols, then repeatedly merges the most frequent adjacent pair (ties: the pair whose left,
 * then right, token string sorts first) until `vocabSize` tokens exist or no pair is frequent enough.
 * Pair counts are updated incrementally through a pair -> words index; a lazy max-heap picks the pair.
 */
export function trainBpe(texts: Iterable<string>, opts: TrainBpeOptions): BpeTokenizer {
  const { vocabSize } = opts;
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const base = TRAINED_SPECIALS.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base) {
    throw new Error(`trainBpe: vocabSize must be an integer >= ${base} (3 specials + 256 bytes), got ${vocabSize}`);
  }
  if (vocabSize > MAX_ID) throw new Error(`trainBpe: vocabSize must be <= ${MAX_ID}`);
  const V = vocabSize; // pair key = left * V + right

  const tokens: string[] = [...TRAINED_SPECIALS, ...BYTE_TO_CHAR];
  const tokenIds = new Map(tokens.map((t, i) => [t, i]));
  const addedTokens: HfAddedToken[] = TRAINED_SPECIALS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  // Pre-tokenise exactly as encode will: split off specials, then the GPT-2 regex.
  const proto = new BpeTokenizer({
    vocab: new Map(tokens.map((t, i) => [t, i])),
    merges: [],
    addedTokens,
    source: 'trainBpe',
  });
  const specialRe = new RegExp(TRAINED_SPECIALS.map(escapeRegex).join('|'), 'gu');
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const part of text.split(specialRe)) {
      if (part.length === 0) continue;
      for (const piece of proto.preTokenize(part)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }

  // Words as symbol arrays (byte b = id b + 3); single-symbol words cannot contribute pairs.
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [word, f] of counts) {
    const bytes = UTF8.encode(word);
    if (bytes.length < 2) continue;
    words.push(Array.from(bytes, (b) => b + TRAINED_SPECIALS.length));
    freqs.push(f);
  }

  const pairCount = new Map<number, number>();
  // pair -> the words that (may) contain it. A word can be listed twice or no longer contain the pair:
  // merging it then finds nothing to do, so the lists are never cleaned, only deduplicated cheaply.
  const pairWords = new Map<number, number[]>();
  const addWord = (key: number, wi: number): void => {
    const list = pairWords.get(key);
    if (!list) pairWords.set(key, [wi]);
    else if (list[list.length - 1] !== wi) list.push(wi);
  };
  words.forEach((w, wi) => {
    for (let j = 0; j + 1 < w.length; j++) {
      const key = w[j]! * V + w[j + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + freqs[wi]!);
      addWord(key, wi);
    }
  });

  type Entry = { count: number; key: number };
  const cmpStr = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  const better = (x: Entry, y: Entry): boolean => {
    if (x.count !== y.count) return x.count > y.count;
    const c = cmpStr(tokens[Math.floor(x.key / V)]!, tokens[Math.floor(y.key / V)]!);
    if (c !== 0) return c < 0;
    return cmpStr(tokens[x.key % V]!, tokens[y.key % V]!) < 0;
  };
  const heap = new Heap<Entry>(better);
  for (const [key, count] of pairCount) heap.push({ count, key });

  const merges: [string, string][] = [];
  const changed = new Set<number>();
  const bump = (key: number, delta: number): void => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + delta);
    changed.add(key);
  };
  while (tokens.length < vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = pairCount.get(top.key);
    if (current !== top.count) continue; // stale entry
    if (current < minFrequency) break;
    const a = Math.floor(top.key / V);
    const b = top.key % V;
    const merged = tokens[a]! + tokens[b]!;
    let c = tokenIds.get(merged);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, c);
    }
    merges.push([tokens[a]!, tokens[b]!]);

    // Replace every (a, b) left to right in place, updating only the pairs around each occurrence
    // (as tokenizers' Word::merge does): the old (left, a) and (b, right) pairs go, (left, c) and
    // (c, right) come, and back-to-back occurrences turn (b, a) into (c, c).
    changed.clear();
    for (const wi of pairWords.get(top.key) ?? []) {
      const w = words[wi]!;
      const f = freqs[wi]!;
      const n = w.length;
      let out = 0; // write position
      let prevMerged = false;
      for (let j = 0; j < n; ) {
        if (j + 1 < n && w[j] === a && w[j + 1] === b) {
          if (out > 0) {
            if (prevMerged) {
              bump(c * V + c, f);
              addWord(c * V + c, wi);
            } else {
              bump(w[j - 1]! * V + a, -f);
              bump(w[j - 1]! * V + c, f);
              addWord(w[j - 1]! * V + c, wi);
            }
          }
          if (j + 2 < n) {
            const r = w[j + 2]!;
            bump(b * V + r, -f);
            if (!(r === a && j + 3 < n && w[j + 3] === b)) {
              bump(c * V + r, f);
              addWord(c * V + r, wi);
            }
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
    pairCount.delete(top.key);
    pairWords.delete(top.key);
    changed.delete(top.key);
    for (const key of changed) {
      const count = pairCount.get(key)!;
      if (count <= 0) {
        pairCount.delete(key);
        pairWords.delete(key);
      } else {
        heap.push({ count, key });
      }
    }
  }

  return new BpeTokenizer({
    vocab: new Map(tokens.map((t, i) => [t, i])),
    merges,
    addedTokens,
    source: 'trainBpe',
  });
}
