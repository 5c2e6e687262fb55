// Tokenizer interface and a byte-level tokenizer (ids 0=pad, 1=bos, 2=eos, 3..258 = UTF-8 bytes).
// The byte-level BPE tokenizer (./bpe/) implements the same interface.
import { DataError } from './records.js';

export interface EncodeLimit {
  /**
   * Return only the first `maxTokens` ids of the encoding, doing work in proportion to maxTokens
   * rather than to the length of the text (a record of 50 MB capped at --seq-len costs as little as
   * a short one). Unlimited when absent.
   */
  maxTokens?: number;
}

export interface Tokenizer {
  vocabSize: number;
  bosId: number;
  eosId: number;
  padId: number;
  encode(text: string, opts?: EncodeLimit): number[];
  decode(ids: number[]): string;
}

/** The token cap of encode options: Infinity when absent; a non-negative integer otherwise. */
export function tokenLimit(opts: EncodeLimit | undefined): number {
  const max = opts?.maxTokens;
  if (max === undefined || max === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxTokens must be a non-negative integer, got ${max}`);
  return max;
}

/** The end of the first `units` UTF-16 code units of `text`, moved past a low surrogate rather than splitting a pair. */
export function codePointEnd(text: string, units: number): number {
  if (units >= text.length) return text.length;
  const last = text.charCodeAt(units - 1);
  return last >= 0xd800 && last <= 0xdbff ? units + 1 : units;
}

const BYTE_OFFSET = 3;

export class ByteTokenizer implements Tokenizer {
  static readonly VOCAB_SIZE = 256 + BYTE_OFFSET;

  readonly vocabSize = ByteTokenizer.VOCAB_SIZE;
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  /** A tokenizer for a model with `vocabSize` embedding rows; throws unless it can hold all 259 ids. */
  static forVocab(vocabSize: number): ByteTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < ByteTokenizer.VOCAB_SIZE) {
      throw new DataError(
        `ByteTokenizer needs a model vocabulary of at least ${ByteTokenizer.VOCAB_SIZE} ` + `(3 special ids + 256 bytes), got ${vocabSize}`,
      );
    }
    return new ByteTokenizer();
  }

  encode(text: string, opts?: EncodeLimit): number[] {
    const max = tokenLimit(opts);
    // Every UTF-16 code unit is at least one UTF-8 byte, so `max` code units hold the first `max` bytes.
    const head = max < text.length ? text.slice(0, codePointEnd(text, max)) : text;
    const ids = Array.from(this.encoder.encode(head), (b) => b + BYTE_OFFSET);
    return ids.length > max ? ids.slice(0, max) : ids;
  }

  /** Special and out-of-range ids are skipped; invalid UTF-8 becomes U+FFFD. */
  decode(ids: number[]): string {
    const bytes = ids.filter((id) => id >= BYTE_OFFSET && id < this.vocabSize).map((id) => id - BYTE_OFFSET);
    return this.decoder.decode(Uint8Array.from(bytes));
  }
}
