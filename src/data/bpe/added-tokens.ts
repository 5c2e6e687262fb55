// Added tokens: matched in the raw text before normalization and pre-tokenization, honouring
// tokenizers' lstrip (swallow whitespace before), rstrip (after) and single_word (only whole words).
import type { Fail } from './errors.js';
import { escapeRegex } from './hf-regex.js';
import type { HfAddedToken } from './hf-json.js';
import { quote } from './json-shape.js';
import { checkId } from './vocab.js';

/** Text split on added tokens: ordinary text (strings) and added-token ids, each with its end offset. */
export interface AddedSplit {
  parts: (string | number)[];
  /** ends[k]: the offset in the text just past part k (past any whitespace an added token strips). */
  ends: number[];
}

/** JS's `\s` (the code units /\s/u matches), tested without a regex: runs of whitespace may be megabytes long. */
export function isSpace(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
}

/** One regex matching any of the tokens, longest first (then in string order), or null for none. */
function alternation(tokens: readonly HfAddedToken[]): RegExp | null {
  if (tokens.length === 0) return null;
  const contents = tokens.map((t) => t.content).sort((x, y) => y.length - x.length || (x < y ? -1 : x > y ? 1 : 0));
  return new RegExp(contents.map(escapeRegex).join('|'), 'gu');
}

export class AddedTokens {
  readonly list: readonly HfAddedToken[];
  private readonly byContent = new Map<string, HfAddedToken>();
  private readonly byId = new Map<number, HfAddedToken>();
  private readonly all: RegExp | null;
  private readonly nonSpecial: RegExp | null;
  /** The length of the longest token, in UTF-16 code units. */
  readonly maxLength: number;

  /** `vocabToken(id)`: the model vocab's token with that id, which an added token may only repeat. */
  constructor(tokens: readonly HfAddedToken[], vocabToken: (id: number) => string | undefined, fail: Fail) {
    this.list = tokens.map((t) => ({ ...t }));
    for (const t of this.list) {
      if (typeof t.content !== 'string' || t.content.length === 0) fail(`added token ${JSON.stringify(t)} has no content`);
      checkId(t.id, () => `added token ${quote(t.content)}`, fail);
      const prev = vocabToken(t.id) ?? this.byId.get(t.id)?.content;
      if (prev !== undefined && prev !== t.content) {
        fail(`added token ${quote(t.content)} reuses id ${t.id} of token ${quote(prev)}`);
      }
      this.byContent.set(t.content, t);
      if (!this.byId.has(t.id)) this.byId.set(t.id, t);
    }
    this.all = alternation(this.list);
    this.nonSpecial = alternation(this.list.filter((t) => !t.special));
    this.maxLength = this.list.reduce((m, t) => Math.max(m, t.content.length), 0);
  }

  get(content: string): HfAddedToken | undefined {
    return this.byContent.get(content);
  }

  getById(id: number): HfAddedToken | undefined {
    return this.byId.get(id);
  }

  /** Whether any token that matches (special ones only when parseSpecial) strips whitespace before it. */
  anyLstrip(parseSpecial: boolean): boolean {
    return this.list.some((t) => t.lstrip && (parseSpecial || !t.special));
  }

  /** Whether a token that strips whitespace before it starts at `pos` of `text`. */
  lstripTokenAt(text: string, pos: number, parseSpecial: boolean): boolean {
    return this.list.some((t) => t.lstrip && (parseSpecial || !t.special) && text.startsWith(t.content, pos));
  }

  /** Splits text on the added tokens (special ones only when parseSpecial). */
  split(text: string, parseSpecial: boolean): AddedSplit {
    const re = parseSpecial ? this.all : this.nonSpecial;
    const out: AddedSplit = { parts: [], ends: [] };
    const push = (part: string | number, end: number): void => {
      out.parts.push(part);
      out.ends.push(end);
    };
    let last = 0; // start of the not-yet-emitted text
    if (re !== null) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const tok = this.byContent.get(m[0])!;
        let start = m.index;
        let end = start + m[0].length;
        if (tok.single_word && (isWordChar(text[start - 1]) || isWordChar(text[end]))) {
          re.lastIndex = start + 1;
          continue;
        }
        if (tok.lstrip) while (start > last && isSpace(text[start - 1])) start--;
        if (tok.rstrip) while (end < text.length && isSpace(text[end])) end++;
        if (start > last) push(text.slice(last, start), start);
        push(tok.id, end);
        last = end;
        re.lastIndex = end;
      }
    }
    if (last < text.length) push(text.slice(last), text.length);
    return out;
  }
}
