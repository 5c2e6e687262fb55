// Text -> ids: split on added tokens, normalize, pre-tokenize, then merge each piece's bytes.
import type { AddedTokens } from './added-tokens.js';
import { toByteLevel, UTF8 } from './byte-level.js';
import type { MergeTable } from './merges.js';
import type { Normalize } from './normalizer.js';
import type { Pieces, PreTokenizer } from './pre-tokenizer.js';
import type { Vocab } from './vocab.js';

const CACHE_LIMIT = 100_000;
/** Longer pieces are merged every time rather than cached: they are rare and would pin memory. */
const MAX_CACHED_PIECE = 256;

export class Encoder {
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly added: AddedTokens,
    readonly vocab: Vocab,
    readonly merges: MergeTable,
    private readonly normalizer: Normalize | null,
    private readonly preTokenizer: PreTokenizer,
    /** HF `ignore_merges`: a piece that is itself a vocab token is emitted whole. */
    private readonly ignoreMerges: boolean,
  ) {}

  /** The ids of the whole text. */
  encode(text: string, parseSpecial: boolean): number[] {
    const out: number[] = [];
    for (const part of this.added.split(text, parseSpecial).parts) {
      if (typeof part === 'number') out.push(part);
      else this.encodeOrdinary(part, out);
    }
    return out;
  }

  normalize(text: string): string {
    return this.normalizer ? this.normalizer(text) : text;
  }

  /** The pre-tokenised pieces of already normalized text (`ends` only `withOffsets`). */
  pieces(normalized: string, withOffsets = false): Pieces {
    return this.preTokenizer.split(normalized, withOffsets);
  }

  /** Appends the ids of ordinary text (no added tokens in it). */
  encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const piece of this.pieces(this.normalize(text)).texts) this.encodePiece(piece, out);
  }

  /** Appends the ids of one pre-tokenised piece. */
  encodePiece(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.mergePiece(piece);
      if (piece.length <= MAX_CACHED_PIECE) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
    }
    for (const id of ids) out.push(id);
  }

  private mergePiece(piece: string): number[] {
    const bytes = UTF8.encode(piece);
    if (bytes.length === 1) return [this.vocab.byteIds[bytes[0]!]!];
    if (this.ignoreMerges) {
      const whole = this.vocab.byToken.get(toByteLevel(piece));
      if (whole !== undefined) return [whole];
    }
    return this.merges.apply(this.vocab.symbols(bytes));
  }

  /** The merged ids of raw bytes, without ignore_merges' whole-piece lookup (for part of a piece). */
  mergeBytes(bytes: Uint8Array): number[] {
    return this.merges.apply(this.vocab.symbols(bytes));
  }
}
