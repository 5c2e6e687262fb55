// Reading and writing Hugging Face `tokenizer.json` files for BpeTokenizer, and the tokenizer that
// goes with a model directory.
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BpeTokenizer, TokenizerFormatError, type SpecialOverrides } from './bpe.js';
import { DataError } from './records.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';

/**
 * Loads a byte-level BPE `tokenizer.json` (a file, or a directory holding one). Errors name the file.
 * `specials` overrides the bos / eos / pad ids (by id or token text) otherwise found from token names.
 */
export async function loadTokenizer(path: string, specials?: SpecialOverrides): Promise<BpeTokenizer> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'tokenizer.json');
  } catch {
    // fall through: readFile reports the missing path
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new TokenizerFormatError(file, `cannot read tokenizer file: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerFormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
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
