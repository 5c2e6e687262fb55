// Which ids are bos, eos and pad: given by the caller (as ids or token texts), or found by name.
import type { Fail } from './errors.js';
import { quote } from './json-shape.js';
import type { SpecialOverrides, SpecialRef } from './options.js';

const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '<|endoftext|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];
const PAD_NAMES = ['<pad>', '<|pad|>', '[PAD]'];

export interface SpecialIds {
  bos: number;
  eos: number;
  /** eos when the vocabulary has no pad token. */
  pad: number;
}

/** What resolving needs to know of the vocabulary. */
export interface TokenLookup {
  tokenToId(token: string): number | undefined;
  /** Whether `id` is a token of the vocabulary (model or added). */
  hasId(id: number): boolean;
  vocabSize: number;
}

export function resolveSpecials(over: SpecialOverrides, lookup: TokenLookup, fail: Fail): SpecialIds {
  const resolve = (ref: SpecialRef | undefined, names: string[], what: string): number | undefined => {
    if (ref === undefined) return firstKnown(names, lookup);
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < 0 || ref >= lookup.vocabSize || !lookup.hasId(ref)) {
        fail(`${what} id ${ref} is not a token id (vocab size ${lookup.vocabSize})`);
      }
      return ref;
    }
    const id = lookup.tokenToId(ref);
    if (id === undefined) fail(`${what} token ${quote(ref)} is not in the vocabulary`);
    return id;
  };
  const missing = (what: string, names: string[]): never =>
    fail(`no ${what} token found (looked for ${names.join(', ')}); pass an override for ${what}`);
  const bos = resolve(over.bos, BOS_NAMES, 'bos');
  const eos = resolve(over.eos, EOS_NAMES, 'eos');
  const ids = { bos: bos ?? missing('bos', BOS_NAMES), eos: eos ?? missing('eos', EOS_NAMES) };
  return { ...ids, pad: resolve(over.pad, PAD_NAMES, 'pad') ?? ids.eos };
}

function firstKnown(names: string[], lookup: TokenLookup): number | undefined {
  for (const name of names) {
    const id = lookup.tokenToId(name);
    if (id !== undefined) return id;
  }
  return undefined;
}
