// Reading and writing Hugging Face `tokenizer.json` files for BpeTokenizer.
import { writeFile } from 'node:fs/promises';
import { BpeTokenizer, readTokenizerFile, type SpecialOverrides } from './bpe/index.js';

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
