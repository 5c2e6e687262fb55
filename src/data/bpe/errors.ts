// The error of a tokenizer file (or tokenizer options) that cannot be loaded.
import { UserError } from '../../engine/errors.js';

/** Thrown for a tokenizer file this module cannot load; the message starts with the file name. */
export class TokenizerFormatError extends UserError {
  override name = 'TokenizerFormatError';

  constructor(
    readonly file: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** A function that throws a TokenizerFormatError naming `file`. */
export type Fail = (detail: string) => never;

export function failFor(file: string): Fail {
  return (detail) => {
    throw new TokenizerFormatError(file, detail);
  };
}
