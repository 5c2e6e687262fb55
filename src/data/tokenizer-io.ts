// Reading and writing Hugging Face `tokenizer.json` files for BpeTokenizer, and the tokenizer that
// goes with a model directory.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BpeTokenizer, readTokenizerFile, type SpecialOverrides } from './bpe/index.js';
import { DataError } from './records.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';

/**
 * Loads a byte-level BPE `tokenizer.json` (a file, or a directory holding one). Every error is a
 * TokenizerFormatError naming the file.
 * `specials` overrides the bos / eos / pad ids (by id or token text) otherwise found from token names.
 */
export async function loadTokenizer(path: string, specials?: SpecialOverrides): Promise<BpeTokenizer> {
  const { file, json } = await readTokenizerFile(path);
  return BpeTokenizer.fromJSON(json, file, specials);
}

/** Writes `tok` as a Hugging Face `tokenizer.json` file. */
export async function saveTokenizer(tok: BpeTokenizer, file: string): Promise<void> {
  await writeFile(file, `${JSON.stringify(tok.toJSON(), null, 2)}\n`, 'utf8');
}

/**
 * The tokenizer that goes with a model directory: its HF tokenizer.json, else the byte-level
 * fallback (259 ids: 3 specials + 256 bytes).
 */
export async function loadModelTokenizer(dir: string, vocabSize: number): Promise<Tokenizer> {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) return ByteTokenizer.forVocab(vocabSize);
  const tok = await loadTokenizer(file);
  if (tok.vocabSize > vocabSize) throw new DataError(`${file}: ${tok.vocabSize} tokens but the model's vocab_size is ${vocabSize}`);
  return tok;
}
