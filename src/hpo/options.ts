// Options of built-in strategies and pruners, validated with zod. The study config hands them over as
// plain JSON; a mistake is a UserError naming the plug-in and the option (`strategy sha: option eta:
// ...`), the way every config error names its key.
import { z } from 'zod';
import { UserError } from '../engine/errors.js';

/** `options` parsed by `schema` (a strict object: unknown options are refused by name). */
export function parseOptions<S extends z.ZodObject>(schema: S, options: unknown, owner: string): z.output<S> {
  const r = schema.strict().safeParse(options ?? {});
  if (r.success) return r.data as z.output<S>;
  const issue = r.error.issues[0]!;
  const known = Object.keys(schema.shape);
  if (issue.code === 'unrecognized_keys')
    throw new UserError(
      `${owner}: unknown option ${issue.keys.join(', ')} (${known.length ? `known: ${known.join(', ')}` : 'it takes no options'})`,
    );
  const at = issue.path.map(String).join('.');
  throw new UserError(`${owner}: ${at ? `option ${at}` : 'options'}: ${issue.message}`);
}

/** The option names of a schema with their descriptions (for `fedhpo strategies`). */
export function optionNames(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}

/** Successive halving's reduction factor: keep the best 1/eta, multiply the rounds by eta. */
export const eta = z.number().int().min(2).default(3).describe('reduction factor: keep the best 1/eta, multiply rounds by eta');
