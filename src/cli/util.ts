import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';

/** An error in what the user asked for: printed without a stack trace. */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/**
 * What the CLI prints for an error that ends a command: a problem with the user's input (any
 * UserError) as one line without a stack trace; anything else is a bug and keeps its stack.
 */
export function failureMessage(err: Error): string {
  return `fedhpo: ${err instanceof UserError ? err.message : (err.stack ?? err.message)}`;
}

/** JSON files named on the command line (configs, token lists) are read whole, up to this size. */
const MAX_JSON_BYTES = 256 << 20;

export async function readJson(file: string): Promise<unknown> {
  const text = await readRegularText(file, { maxBytes: MAX_JSON_BYTES });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}
