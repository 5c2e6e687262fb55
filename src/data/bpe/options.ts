// The options of BpeTokenizer: its construction and its encode.
import type { EncodeLimit } from '../tokenizer.js';
import type { HfAddedToken } from './hf-json.js';

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

export interface EncodeOptions extends EncodeLimit {
  /** Match special added tokens in the text (default true). Non-special added tokens always match. */
  parseSpecial?: boolean;
}
