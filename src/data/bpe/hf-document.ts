// Reading a parsed Hugging Face `tokenizer.json` document into BpeTokenizer options, checking the type
// of every field used on the way. The normalizer and pre_tokenizer sections are checked where they are
// parsed (normalizer.ts, pre-tokenizer.ts); ids, merges and specials where they are built.
import type { Fail } from './errors.js';
import type { HfAddedToken } from './hf-json.js';
import { childPath, describeJson, type JsonObject, JsonShape, quote } from './json-shape.js';
import type { BpeTokenizerOptions } from './options.js';

/** The options a tokenizer.json document describes (all but `specials` and `source`). */
export type DocumentOptions = Omit<BpeTokenizerOptions, 'specials' | 'source'>;

export function readTokenizerDocument(json: unknown, fail: Fail): DocumentOptions {
  const shape = new JsonShape(fail);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail(`not a tokenizer.json object: the document is ${describeJson(json)}`);
  }
  const doc = json as JsonObject;
  shape.optionalString(doc.version, 'version');
  // Sections kept verbatim (or ignored) are still checked for type and depth, so that writing them
  // back (toJSON) cannot fail.
  for (const key of ['truncation', 'padding', 'post_processor', 'decoder'] as const) {
    shape.depth(shape.objectOrNull(doc[key], key), key);
  }
  if (doc.model === undefined) fail('no "model" section');
  const model = shape.object(doc.model, 'model');
  checkModelKind(model, shape, fail);
  return {
    vocab: readVocab(model.vocab, shape),
    merges: readMerges(model.merges, shape, fail),
    addedTokens: readAddedTokens(doc.added_tokens, shape),
    normalizer: doc.normalizer ?? null,
    preTokenizer: doc.pre_tokenizer ?? null,
    postProcessor: doc.post_processor ?? null,
    decoder: doc.decoder ?? null,
    ignoreMerges: shape.optionalBoolean(model.ignore_merges, 'model.ignore_merges') === true,
  };
}

/** Only byte-level BPE without SentencePiece-style fallbacks or subword affixes is supported. */
function checkModelKind(model: JsonObject, shape: JsonShape, fail: Fail): void {
  const type = model.type ?? (model.merges !== undefined ? 'BPE' : undefined);
  if (type !== 'BPE') {
    fail(`unsupported tokenizer model ${describeJson(type)}; only byte-level BPE (GPT-2 / LLaMA-3 style) is supported`);
  }
  if (shape.optionalBoolean(model.byte_fallback, 'model.byte_fallback')) {
    fail('BPE with byte_fallback (SentencePiece style, e.g. LLaMA-2) is not supported; only byte-level BPE is');
  }
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const affix = shape.optionalString(model[key], `model.${key}`);
    if (affix) fail(`BPE with ${key} ${quote(affix)} is not supported`);
  }
  const dropout = shape.optionalNumber(model.dropout, 'model.dropout');
  if (dropout !== undefined && !(dropout >= 0 && dropout <= 1)) fail(`model.dropout: expected a number in [0, 1], got ${dropout}`);
  shape.optionalString(model.unk_token, 'model.unk_token');
  shape.optionalBoolean(model.fuse_unk, 'model.fuse_unk');
}

/** `model.vocab`: token -> id (whether ids are valid and distinct is checked when the vocab is built). */
function readVocab(json: unknown, shape: JsonShape): Map<string, number> {
  // One pass over the entries: a vocabulary object may hold millions of keys.
  const object = shape.object(json, 'model.vocab');
  const vocab = new Map<string, number>();
  for (const token of Object.keys(object)) {
    const id = object[token];
    vocab.set(token, typeof id === 'number' ? id : shape.number(id, childPath('model.vocab', token)));
  }
  return vocab;
}

/** `model.merges`: "a b" strings (after an optional "#version" line) or ["a", "b"] pairs. */
function readMerges(json: unknown, shape: JsonShape, fail: Fail): [string, string][] {
  const merges: [string, string][] = [];
  shape.array(json, 'model.merges').forEach((m, k) => {
    if (typeof m === 'string') {
      if (k === 0 && m.startsWith('#version')) return;
      const parts = m.split(' ');
      if (parts.length !== 2) fail(`merge ${k} ${quote(m)} is not two space-separated tokens`);
      merges.push([parts[0]!, parts[1]!]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      merges.push([m[0], m[1]]);
    } else {
      fail(`merge ${k} is neither "a b" nor ["a", "b"]: ${describeJson(m)}`);
    }
  });
  return merges;
}

const ADDED_TOKEN_FLAGS = ['single_word', 'lstrip', 'rstrip', 'normalized', 'special'] as const;

function readAddedTokens(json: unknown, shape: JsonShape): HfAddedToken[] {
  if (json === undefined || json === null) return [];
  return shape.array(json, 'added_tokens').map((entry, i) => {
    const at = childPath('added_tokens', i);
    const t = shape.object(entry, at);
    const token: HfAddedToken = { id: shape.number(t.id, `${at}.id`), content: shape.string(t.content, `${at}.content`) };
    for (const flag of ADDED_TOKEN_FLAGS) {
      const value = shape.optionalBoolean(t[flag], `${at}.${flag}`);
      if (value !== undefined) token[flag] = value;
    }
    return token;
  });
}
