import { readFile } from 'node:fs/promises';
import { UserError } from '../engine/errors.js';

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

export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}
