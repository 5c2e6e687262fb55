// Writing a tokenizer as a Hugging Face `tokenizer.json` document.
import type { HfAddedToken, HfTokenizerJson } from './hf-json.js';

export interface TokenizerParts {
  vocab: ReadonlyMap<string, number>;
  merges: readonly (readonly [string, string])[];
  addedTokens: readonly HfAddedToken[];
  ignoreMerges: boolean;
  normalizer: unknown;
  preTokenizer: unknown;
  postProcessor: unknown;
  decoder: unknown;
}

export function tokenizerJson(t: TokenizerParts): HfTokenizerJson {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.addedTokens.map((a) => ({
      id: a.id,
      content: a.content,
      single_word: a.single_word ?? false,
      lstrip: a.lstrip ?? false,
      rstrip: a.rstrip ?? false,
      normalized: a.normalized ?? false,
      special: a.special ?? false,
    })),
    normalizer: t.normalizer,
    pre_tokenizer: t.preTokenizer,
    post_processor: t.postProcessor,
    decoder: t.decoder,
    model: modelJson(t),
  };
}

function modelJson(t: TokenizerParts): HfTokenizerJson['model'] {
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [tok, id] of [...t.vocab].sort((x, y) => x[1] - y[1])) vocab[tok] = id;
  // "a b" strings are the classic form; a token containing a space needs the ["a", "b"] form.
  const pairsNeeded = t.merges.some(([a, b]) => a.includes(' ') || b.includes(' '));
  return {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ...(t.ignoreMerges ? { ignore_merges: true } : {}),
    vocab,
    merges: pairsNeeded ? t.merges.map(([a, b]) => [a, b] as [string, string]) : t.merges.map(([a, b]) => `${a} ${b}`),
  };
}
