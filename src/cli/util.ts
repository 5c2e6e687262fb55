import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';

/** An error in what the user asked for: printed without a stack trace. */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/**
 * A problem with what the user asked for or handed us, as opposed to a bug: a UserError; a flag
 * yargs refused (its YError, which also carries what a flag's coerce check threw); or a failed
 * system call on a path (the path the user gave is unwritable, a file where a directory must be,
 * the disk is full), whose message names the call and the path.
 */
export function isUserFacing(err: Error): boolean {
  if (err instanceof UserError || err.name === 'YError') return true;
  const e = err as NodeJS.ErrnoException;
  return typeof e.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
}

/**
 * What the CLI prints for an error that ends a command: a user-facing problem as one line without
 * a stack trace; anything else is a bug and keeps its stack.
 */
export function failureMessage(err: Error): string {
  return `fedhpo: ${isUserFacing(err) ? err.message.replace(/\s*\n\s*/g, ' ') : (err.stack ?? err.message)}`;
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
