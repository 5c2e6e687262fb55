// Reading a tokenizer.json file: a regular file of bounded size holding one JSON document of bounded
// depth. Every problem is a TokenizerFormatError naming the file.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../engine/errors.js';
import { readRegularText } from '../../engine/files.js';
import { TokenizerFormatError } from './errors.js';
import { jsonTextTooDeepAt, MAX_JSON_DEPTH } from './json-shape.js';

/**
 * tokenizer.json files larger than this are refused. Real byte-level BPE files are 1-10 MB (GPT-2
 * 1.4 MB, Qwen2.5 7 MB, LLaMA-3 9 MB), the largest ~28 MB (gpt-oss, o200k). The worst file under the
 * bound (millions of tiny vocab entries) peaks around 700 MB while parsed and checked.
 */
export const MAX_TOKENIZER_FILE_BYTES = 32 * 2 ** 20;

export interface TokenizerDocument {
  /** The file read: `path`, or `path/tokenizer.json` when path is a directory. */
  file: string;
  json: unknown;
}

/** Reads and parses a tokenizer.json file, or the tokenizer.json inside a directory. */
export async function readTokenizerFile(path: string): Promise<TokenizerDocument> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'tokenizer.json');
  } catch {
    // reading reports the missing path
  }
  const text = await readText(file);
  if (text.trim().length === 0) throw new TokenizerFormatError(file, 'empty file, expected a tokenizer.json document');
  const deepAt = jsonTextTooDeepAt(text);
  if (deepAt >= 0) throw new TokenizerFormatError(file, `nested more than ${MAX_JSON_DEPTH} levels deep (at character ${deepAt})`);
  try {
    return { file, json: JSON.parse(text) };
  } catch (e) {
    throw new TokenizerFormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readRegularText(file, { maxBytes: MAX_TOKENIZER_FILE_BYTES });
  } catch (e) {
    if (!(e instanceof UserError)) throw new TokenizerFormatError(file, `cannot read: ${(e as Error).message}`, { cause: e });
    // readRegularText's messages already start with the file name.
    const detail = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
    throw new TokenizerFormatError(file, detail);
  }
}
