// Byte-level BPE tokenizer (GPT-2 / LLaMA-3 style): training, encoding (also bounded: the first
// maxTokens ids of a text of any length), decoding and the Hugging Face `tokenizer.json` format
// (save, and load of real GPT-2 / LLaMA-3 style files, with every malformed file reported by name).
export { BYTE_TO_CHAR, CHAR_TO_BYTE, toByteLevel } from './byte-level.js';
export type { BoundedEncodeTuning } from './bounded-encode.js';
export { TokenizerFormatError } from './errors.js';
export { MAX_TOKENIZER_FILE_BYTES, readTokenizerFile, type TokenizerDocument } from './file.js';
export { compileHfPattern, convertHfPattern, GPT2_PATTERN, LLAMA3_PATTERN } from './hf-regex.js';
export type { HfAddedToken, HfTokenizerJson } from './hf-json.js';
export { MAX_JSON_DEPTH } from './json-shape.js';
export type { BpeTokenizerOptions, EncodeOptions, SpecialOverrides, SpecialRef } from './options.js';
export { BpeTokenizer } from './tokenizer.js';
export { TRAINED_SPECIALS, type TrainBpeOptions, trainBpe } from './train.js';
