// The first maxTokens ids of a text's encoding, with work in proportion to maxTokens rather than to
// the text (a 50 MB record capped at --seq-len must cost what a short one does).
//
// The text is encoded through a window (a prefix) that doubles until it yields maxTokens ids that the
// rest of the text cannot change. A cut can only change what lies near it: an added token the cut
// splits, the lookahead of the pre-tokenizer's regex, a normalizer's view of the next character. So
// ids are kept only from pieces that end `margin` characters before the cut, and never from the last
// piece (which the cut may have shortened). One piece longer than `longPiece` (a 50 MB word, a long
// whitespace run) is not waited for: it is cut where no merge can join its bytes (exact), else the
// ids of its last `tailBytes` bytes are dropped.
import { codePointEnd } from '../tokenizer.js';
import { isSpace } from './added-tokens.js';
import { UTF8 } from './byte-level.js';
import type { Encoder } from './encoder.js';

export interface BoundedEncodeTuning {
  /** Characters in the first window. */
  firstWindow: number;
  /** Characters before a cut in which the cut may change pieces. */
  margin: number;
  /** Pieces at least this long (in characters) are cut inside instead of waited for. */
  longPiece: number;
  /** Bytes at the end of a cut long piece whose ids are dropped when no exact cut point exists. */
  tailBytes: number;
}

export function defaultTuning(enc: Encoder, maxTokens: number): BoundedEncodeTuning {
  const margin = 64 + enc.added.maxLength;
  const tailBytes = 4 * enc.vocab.maxTokenBytes + 64;
  return { firstWindow: 2 * margin + 8 * maxTokens, margin, longPiece: Math.max(4096, 4 * tailBytes), tailBytes };
}

/** The first `maxTokens` ids of `enc.encode(text, parseSpecial)`. */
export function encodeBounded(
  enc: Encoder,
  text: string,
  maxTokens: number,
  parseSpecial: boolean,
  tuning: BoundedEncodeTuning = defaultTuning(enc, maxTokens),
): number[] {
  if (maxTokens === 0) return [];
  const run: WhitespaceRun = { from: 0, to: 0 };
  for (let window = Math.max(1, tuning.firstWindow); ; window *= 2) {
    const cut = codePointEnd(text, window);
    if (cut >= text.length) return enc.encode(text, parseSpecial).slice(0, maxTokens);
    const ids = new WindowEncoder(enc, text, cut, parseSpecial, tuning, run).certainIds(maxTokens);
    if (ids.length >= maxTokens) return ids.slice(0, maxTokens);
  }
}

/** text[from, to) is whitespace and text[to] is not: found once, reused by each larger window inside it. */
interface WhitespaceRun {
  from: number;
  to: number;
}

/** Encodes text[0, cut) keeping only the ids that text after the cut cannot change. */
class WindowEncoder {
  private readonly head: string;
  /** Offsets up to this one are unaffected by the cut. */
  private readonly limit: number;
  private readonly out: number[] = [];

  constructor(
    private readonly enc: Encoder,
    private readonly text: string,
    cut: number,
    private readonly parseSpecial: boolean,
    private readonly tuning: BoundedEncodeTuning,
    private readonly run: WhitespaceRun,
  ) {
    this.head = text.slice(0, cut);
    this.limit = this.whitespaceSafeLimit(cut - tuning.margin);
  }

  /** The certain ids, stopping once there are `maxTokens`. */
  certainIds(maxTokens: number): number[] {
    const { parts, ends } = this.enc.added.split(this.head, this.parseSpecial);
    let start = 0;
    for (let k = 0; k < parts.length && this.out.length < maxTokens; k++) {
      const part = parts[k]!;
      if (typeof part === 'number') {
        if (ends[k]! > this.limit) break; // the cut may have shortened the token or the whitespace it strips
        this.out.push(part);
      } else if (k + 1 < parts.length && ends[k + 1]! <= this.limit) {
        this.encodeWhole(part, maxTokens); // ends at a certain added token: the same text as without the cut
      } else {
        this.encodeCertainPrefix(part, this.limit - start, maxTokens);
        break;
      }
      start = ends[k]!;
    }
    return this.out;
  }

  /**
   * `limit`, or the start of the whitespace run that ends at it when an added token that strips the
   * whitespace before it (lstrip) follows that run: the token would take the whole run.
   */
  private whitespaceSafeLimit(limit: number): number {
    if (limit <= 0) return 0;
    if (!isSpace(this.head[limit - 1]) || !this.enc.added.anyLstrip(this.parseSpecial)) return limit;
    if (limit < this.run.from || limit > this.run.to) {
      let end = limit;
      while (end < this.text.length && isSpace(this.text[end])) end++;
      Object.assign(this.run, { from: limit, to: end });
    }
    if (!this.enc.added.lstripTokenAt(this.text, this.run.to, this.parseSpecial)) return limit;
    let runStart = limit - 1;
    while (runStart > 0 && isSpace(this.head[runStart - 1])) runStart--;
    return runStart;
  }

  private encodeWhole(segment: string, maxTokens: number): void {
    for (const piece of this.enc.pieces(this.enc.normalize(segment)).texts) {
      if (this.out.length >= maxTokens) return;
      this.enc.encodePiece(piece, this.out);
    }
  }

  /** Encodes the pieces of a segment the cut runs through that end in its first `certainChars` characters. */
  private encodeCertainPrefix(segment: string, certainChars: number, maxTokens: number): void {
    if (certainChars <= 0) return;
    const normalized = this.enc.normalize(segment);
    const { texts, ends } = this.enc.pieces(normalized, true);
    const certainEnd = this.normalizedOffset(segment, normalized, certainChars);
    let k = 0;
    for (; k + 1 < texts.length && ends[k]! <= certainEnd; k++) {
      if (this.out.length >= maxTokens) return;
      this.enc.encodePiece(texts[k]!, this.out);
    }
    const piece = texts[k];
    if (piece === undefined || piece.length < this.tuning.longPiece || this.out.length >= maxTokens) return;
    const certainText = withoutLoneHighSurrogate(piece.slice(0, piece.length - Math.max(0, ends[k]! - certainEnd)));
    for (const id of this.longPieceIds(UTF8.encode(certainText))) this.out.push(id);
  }

  /** Where `chars` characters of the raw segment end in its normalized text, rounded down. */
  private normalizedOffset(segment: string, normalized: string, chars: number): number {
    const fromEnd = normalized.length - (segment.length - chars);
    if (normalized === segment) return fromEnd;
    return Math.min(fromEnd, this.enc.normalize(segment.slice(0, chars)).length);
  }

  /** The first ids of a piece longer than any token, from its first bytes. */
  private longPieceIds(bytes: Uint8Array): number[] {
    const { merges, vocab } = this.enc;
    // Exact: cut where no merge joins the bytes on either side, so the two sides never interact.
    for (let p = bytes.length - 1; p > 0; p--) {
      if (merges.canCutBetween(bytes[p - 1]!, bytes[p]!)) return this.enc.mergeBytes(bytes.subarray(0, p));
    }
    // Every pair of bytes can be joined (a run of one character, say): merges start from the lowest
    // rank and, within a rank, from the left, so only ids near the end can depend on what follows.
    const ids = this.enc.mergeBytes(bytes);
    const keep: number[] = [];
    let length = 0;
    for (const id of ids) {
      length += vocab.bytes[id]!.length;
      if (length > bytes.length - this.tuning.tailBytes) break;
      keep.push(id);
    }
    return keep;
  }
}

function withoutLoneHighSurrogate(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? s.slice(0, -1) : s;
}
