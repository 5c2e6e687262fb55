// The byte-level BPE tokenizer (GPT-2 / LLaMA-3 style).
//
// Text is split on added (special) tokens, normalised (if the file asks for it), pre-tokenised with a
// regex (GPT-2's, or the file's Split pattern), each piece's UTF-8 bytes are mapped to printable
// characters (GPT-2's bytes_to_unicode) and the merges are applied by rank. A trained tokenizer has
// <pad>, <s>, </s> at ids 0, 1, 2 and the 256 byte symbols at ids 3..258 (byte b at id b + 3, the same
// ids as ByteTokenizer), then one id per merge.
import { type Tokenizer, tokenLimit } from '../tokenizer.js';
import { AddedTokens } from './added-tokens.js';
import { UTF8 } from './byte-level.js';
import { type BoundedEncodeTuning, encodeBounded } from './bounded-encode.js';
import { Encoder } from './encoder.js';
import { failFor, TokenizerFormatError } from './errors.js';
import { readTokenizerDocument } from './hf-document.js';
import { DEFAULT_BYTE_LEVEL, type HfAddedToken, type HfTokenizerJson } from './hf-json.js';
import { MergeTable } from './merges.js';
import { parseNormalizer } from './normalizer.js';
import type { BpeTokenizerOptions, EncodeOptions, SpecialOverrides } from './options.js';
import { PreTokenizer } from './pre-tokenizer.js';
import { resolveSpecials } from './specials.js';
import { tokenizerJson } from './to-json.js';
import { Vocab } from './vocab.js';

/** The HF sections kept only to be written back by toJSON. */
interface KeptSections {
  normalizer: unknown;
  preTokenizer: unknown;
  postProcessor: unknown;
  decoder: unknown;
}

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly source: string;

  private readonly vocab: Vocab;
  private readonly mergeTable: MergeTable;
  private readonly added: AddedTokens;
  private readonly encoder: Encoder;
  /** id -> the bytes it decodes to. */
  private readonly decodeBytes: (Uint8Array | undefined)[];
  private readonly skipOnDecode = new Set<number>();
  private readonly ignoreMerges: boolean;
  private readonly kept: KeptSections;
  // ignoreBOM: keep a leading U+FEFF (the default decoder strips it).
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(opts: BpeTokenizerOptions) {
    this.source = opts.source ?? 'BpeTokenizer';
    const fail = failFor(this.source);
    this.vocab = new Vocab(opts.vocab, fail);
    this.mergeTable = new MergeTable(opts.merges, this.vocab.byToken, this.vocab.maxId + 1, fail);
    this.added = new AddedTokens(opts.addedTokens ?? [], (id) => this.vocab.byId[id], fail);
    this.vocabSize = this.added.list.reduce((max, t) => Math.max(max, t.id), this.vocab.maxId) + 1;
    this.decodeBytes = this.buildDecodeTable();
    this.ignoreMerges = opts.ignoreMerges === true;
    const preTokenizer = opts.preTokenizer === undefined ? DEFAULT_BYTE_LEVEL : opts.preTokenizer;
    this.encoder = new Encoder(
      this.added,
      this.vocab,
      this.mergeTable,
      parseNormalizer(opts.normalizer, fail),
      PreTokenizer.parse(preTokenizer, fail),
      this.ignoreMerges,
    );
    this.kept = {
      normalizer: opts.normalizer ?? null,
      preTokenizer,
      postProcessor: opts.postProcessor === undefined ? DEFAULT_BYTE_LEVEL : opts.postProcessor,
      decoder: opts.decoder === undefined ? DEFAULT_BYTE_LEVEL : opts.decoder,
    };
    const specials = resolveSpecials(
      opts.specials ?? {},
      { tokenToId: (t) => this.tokenToId(t), hasId: (id) => this.decodeBytes[id] !== undefined, vocabSize: this.vocabSize },
      fail,
    );
    this.bosId = specials.bos;
    this.eosId = specials.eos;
    this.padId = specials.pad;
    for (const t of this.added.list) if (t.special) this.skipOnDecode.add(t.id);
    for (const id of [this.bosId, this.eosId, this.padId]) this.skipOnDecode.add(id);
  }

  /** Vocab tokens decode to their bytes, added tokens to their text. */
  private buildDecodeTable(): (Uint8Array | undefined)[] {
    const table = this.vocab.bytes.slice();
    table.length = this.vocabSize;
    for (const t of this.added.list) table[t.id] = UTF8.encode(t.content);
    return table;
  }

  /**
   * Loads a Hugging Face `tokenizer.json` document (already parsed); `file` names it in errors. Every
   * problem, expected or not, is a TokenizerFormatError naming the file.
   */
  static fromJSON(json: unknown, file = 'tokenizer.json', specials?: SpecialOverrides): BpeTokenizer {
    try {
      return new BpeTokenizer({ ...readTokenizerDocument(json, failFor(file)), specials, source: file });
    } catch (e) {
      if (e instanceof TokenizerFormatError) throw e;
      throw new TokenizerFormatError(file, `cannot load: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** The Hugging Face `tokenizer.json` document (JSON.stringify it to save). */
  toJSON(): HfTokenizerJson {
    return tokenizerJson({
      vocab: this.vocab.byToken,
      merges: this.mergeTable.pairs,
      addedTokens: this.added.list,
      ignoreMerges: this.ignoreMerges,
      ...this.kept,
    });
  }

  /** Number of merges. */
  get mergeCount(): number {
    return this.mergeTable.pairs.length;
  }

  /** The merges in rank order (copies). */
  merges(): [string, string][] {
    return this.mergeTable.pairs.map(([a, b]) => [a, b]);
  }

  /** The id of a token: an added token's content or a vocab token's byte-level spelling. */
  tokenToId(token: string): number | undefined {
    return this.added.get(token)?.id ?? this.vocab.byToken.get(token);
  }

  /** The token text of an id (byte-level spelling for vocab tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return this.added.getById(id)?.content ?? this.vocab.byId[id];
  }

  /** Whether `id` is skipped by decode (special added tokens and the bos/eos/pad ids). */
  isSpecial(id: number): boolean {
    return this.skipOnDecode.has(id);
  }

  /** The added tokens (copies). */
  addedTokens(): HfAddedToken[] {
    return this.added.list.map((t) => ({ ...t }));
  }

  /**
   * Text -> ids. Added tokens in the text are matched first; no bos/eos is added. With `maxTokens`,
   * the first maxTokens ids of the same encoding, at a cost that grows with maxTokens, not the text.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const parseSpecial = opts.parseSpecial !== false;
    const max = tokenLimit(opts);
    if (max === Number.POSITIVE_INFINITY) return this.encoder.encode(text, parseSpecial);
    return encodeBounded(this.encoder, text, max, parseSpecial);
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
    return this.encoder.pieces(this.encoder.normalize(text)).texts;
  }

  /** @internal For tests: runs one of the two merge loops on a piece directly. */
  mergeForTest(piece: string, mode: 'scan' | 'heap'): number[] {
    const syms = this.vocab.symbols(UTF8.encode(piece));
    return mode === 'scan' ? this.mergeTable.applyByScanning(syms) : this.mergeTable.applyWithHeap(syms);
  }

  /** @internal For tests: bounded encoding with its window sizes chosen by the test. */
  encodeBoundedForTest(text: string, maxTokens: number, tuning: BoundedEncodeTuning, parseSpecial = true): number[] {
    return encodeBounded(this.encoder, text, maxTokens, parseSpecial, tuning);
  }
}
