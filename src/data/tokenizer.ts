// Tokenizer interface and a byte-level tokenizer (ids 0=pad, 1=bos, 2=eos, 3..258 = UTF-8 bytes).
// A byte-level BPE tokenizer will implement the same interface.
import { DataError } from './records.js';

export interface Tokenizer {
  vocabSize: number;
  bosId: number;
  eosId: number;
  padId: number;
  encode(text: string): number[];
  decode(ids: number[]): string;
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

  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text), (b) => b + BYTE_OFFSET);
  }

  /** Special and out-of-range ids are skipped; invalid UTF-8 becomes U+FFFD. */
  decode(ids: number[]): string {
    const bytes = ids.filter((id) => id >= BYTE_OFFSET && id < this.vocabSize).map((id) => id - BYTE_OFFSET);
    return this.decoder.decode(Uint8Array.from(bytes));
  }
}
