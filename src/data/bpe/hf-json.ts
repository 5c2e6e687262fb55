// The Hugging Face `tokenizer.json` shapes this module writes (and reads a superset of).

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

/** GPT-2's ByteLevel step: the default pre-tokenizer, post-processor and decoder. */
export const DEFAULT_BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
