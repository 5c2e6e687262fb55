// The Hugging Face `pre_tokenizer` section (byte-level BPE: optional Split / Digits steps, then one
// ByteLevel step) and running it. Pieces keep their end offsets in the text, which bounded encoding
// needs to tell the pieces a cut in the text can change from those it cannot.
import type { Fail } from './errors.js';
import { compileHfPattern, escapeRegex, GPT2_PATTERN } from './hf-regex.js';
import { childPath, describeJson, type JsonObject, JsonShape, quote } from './json-shape.js';
import { BEHAVIORS, type Behavior, PieceSink, splitText } from './split.js';

type PreStep =
  | { kind: 'split'; re: RegExp; behavior: Behavior; invert: boolean }
  | { kind: 'byteLevel'; addPrefixSpace: boolean; re: RegExp | null };

/** Split patterns longer than this are refused (real ones are a few hundred characters). */
const MAX_PATTERN_LENGTH = 65_536;

/** Pre-tokenised pieces: their texts and (when asked for) the offset in the input text where each ends. */
export interface Pieces {
  texts: string[];
  ends: number[];
}

export class PreTokenizer {
  private constructor(private readonly steps: readonly PreStep[]) {}

  /** The pre-tokenizer a `pre_tokenizer` section describes; it must end with exactly one ByteLevel step. */
  static parse(json: unknown, fail: Fail, path = 'pre_tokenizer'): PreTokenizer {
    if (json === null || json === undefined) fail('no pre_tokenizer: not a byte-level BPE tokenizer (expected ByteLevel)');
    const shape = new JsonShape(fail);
    shape.depth(json, path);
    const steps: PreStep[] = [];
    const visit = (node: unknown, at: string): void => {
      const n = shape.object(node, at);
      if (n.type === 'Sequence') {
        const listPath = childPath(at, 'pretokenizers');
        const children = shape.array(n.pretokenizers, listPath);
        for (let i = 0; i < children.length; i++) visit(children[i], childPath(listPath, i));
      } else {
        steps.push(parseStep(n, at, shape, fail));
      }
    };
    visit(json, path);
    const byteLevels = steps.filter((s) => s.kind === 'byteLevel').length;
    if (byteLevels !== 1 || steps[steps.length - 1]!.kind !== 'byteLevel') {
      fail('the pre_tokenizer must end with exactly one ByteLevel step (byte-level BPE)');
    }
    return new PreTokenizer(steps);
  }

  /** Splits text into pieces, step by step; `ends` stays empty unless `withOffsets`. */
  split(text: string, withOffsets = false): Pieces {
    let pieces = new PieceSink(withOffsets);
    pieces.push(text, 0, text.length);
    for (const step of this.steps) {
      const next = new PieceSink(withOffsets);
      for (let k = 0; k < pieces.texts.length; k++) {
        const piece = pieces.texts[k]!;
        // ByteLevel's add_prefix_space puts a space before each piece; offsets still count the original text.
        const shift = step.kind === 'byteLevel' && step.addPrefixSpace && !piece.startsWith(' ') ? 1 : 0;
        const subject = shift ? ` ${piece}` : piece;
        if (withOffsets) {
          next.floor = pieces.starts[k]!;
          next.offset = next.floor - shift;
        }
        if (step.kind === 'split') splitText(subject, step.re, step.behavior, step.invert, next);
        else if (step.re) splitText(subject, step.re, 'Isolated', false, next);
        else if (subject.length > 0) next.push(subject, 0, subject.length);
      }
      pieces = next;
    }
    return pieces;
  }
}

function parseStep(n: JsonObject, at: string, shape: JsonShape, fail: Fail): PreStep {
  switch (n.type) {
    case 'ByteLevel': {
      const useRegex = shape.optionalBoolean(n.use_regex, childPath(at, 'use_regex')) !== false;
      shape.optionalBoolean(n.trim_offsets, childPath(at, 'trim_offsets'));
      return {
        kind: 'byteLevel',
        addPrefixSpace: shape.optionalBoolean(n.add_prefix_space, childPath(at, 'add_prefix_space')) === true,
        re: useRegex ? compileHfPattern(GPT2_PATTERN) : null,
      };
    }
    case 'Split': {
      const behavior = (n.behavior ?? 'Isolated') as Behavior;
      if (!BEHAVIORS.includes(behavior)) {
        fail(`unsupported Split behavior ${describeJson(n.behavior)} at ${at} (supported: ${BEHAVIORS.join(', ')})`);
      }
      const invert = shape.optionalBoolean(n.invert, childPath(at, 'invert')) === true;
      return { kind: 'split', re: splitPattern(n.pattern, childPath(at, 'pattern'), fail), behavior, invert };
    }
    case 'Digits': {
      const individual = shape.optionalBoolean(n.individual_digits, childPath(at, 'individual_digits')) === true;
      return { kind: 'split', re: individual ? /\p{N}/gu : /\p{N}+/gu, behavior: 'Isolated', invert: false };
    }
    default:
      return fail(
        `unsupported pre_tokenizer ${describeJson(n.type)}${at === 'pre_tokenizer' ? '' : ` at ${at}`}; only byte-level BPE ` +
          '(ByteLevel, optionally after Split / Digits in a Sequence) is supported',
      );
  }
}

/** A Split step's `pattern`: `{ "Regex": "..." }` (HF syntax) or `{ "String": "..." }` (a literal). */
function splitPattern(json: unknown, at: string, fail: Fail): RegExp {
  const pattern = json === null || typeof json !== 'object' ? {} : (json as JsonObject);
  const tooLong = (s: string, key: string): void => {
    if (s.length > MAX_PATTERN_LENGTH) fail(`${at}.${key}: a pattern of ${s.length} characters is over the limit of ${MAX_PATTERN_LENGTH}`);
  };
  if (typeof pattern.Regex === 'string') {
    tooLong(pattern.Regex, 'Regex');
    try {
      return compileHfPattern(pattern.Regex);
    } catch (e) {
      return fail(`cannot convert the Split regex ${quote(pattern.Regex)} at ${at}.Regex to a JS regex: ${(e as Error).message}`);
    }
  }
  if (typeof pattern.String === 'string') {
    tooLong(pattern.String, 'String');
    if (pattern.String.length === 0) fail(`Split with an empty String pattern at ${at}.String`);
    return new RegExp(escapeRegex(pattern.String), 'gu');
  }
  return fail(`Split pre-tokenizer without a Regex or String pattern at ${at}: ${describeJson(json)}`);
}
