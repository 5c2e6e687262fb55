// Hugging Face tokenizers write their Split patterns in Rust `regex` / `fancy-regex` / Oniguruma
// syntax; this converts them to JS regexes with the `u` flag.
import { caseVariants, convertClass, convertEscape } from './hf-regex-escapes.js';

/** GPT-2's pre-tokenisation pattern (also the ByteLevel pre-tokenizer's built-in regex). */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** LLaMA-3's pattern, as its tokenizer.json ships it (Rust / Oniguruma syntax). */
export const LLAMA3_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** Group openings JS spells as they are: non-capturing, lookarounds and named groups. */
const PLAIN_GROUP = /^\(\?(?::|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>)/;

/** One left-to-right pass over a pattern, tracking `(?i:` groups and whether a quantifier precedes. */
class PatternConverter {
  private out = '';
  private i = 0;
  private caseInsensitive = false;
  /** The case-insensitivity in force outside each open group. */
  private readonly outerCase: boolean[] = [];
  private afterQuantifier = false;

  constructor(private readonly p: string) {}

  convert(): string {
    while (this.i < this.p.length) this.step(this.p[this.i]!);
    if (this.outerCase.length > 0) throw new Error("unbalanced '('");
    return this.out;
  }

  private emit(js: string, consumed: number, isQuantifier = false): void {
    this.out += js;
    this.i += consumed;
    this.afterQuantifier = isQuantifier;
  }

  private step(c: string): void {
    const { p, i } = this;
    if (c === '\\') this.emit(...convertEscape(p, i, false));
    else if (c === '[') this.emit(...convertClass(p, i, this.caseInsensitive));
    else if (c === '(') this.openGroup();
    else if (c === ')') this.closeGroup();
    else if (c === '*' || c === '+' || c === '?') this.quantifier(c);
    else if (c === '{') this.counted();
    else if (c === '}') this.emit('\\}', 1);
    else if (c === '.') this.emit('[^\\n]', 1);
    else this.literal();
  }

  private openGroup(): void {
    const rest = this.p.slice(this.i, this.i + 40);
    this.outerCase.push(this.caseInsensitive);
    let m: RegExpExecArray | null;
    if (rest.startsWith('(?i:')) {
      this.caseInsensitive = true;
      this.emit('(?:', 4);
    } else if (rest.startsWith('(?-i:')) {
      this.caseInsensitive = false;
      this.emit('(?:', 5);
    } else if (rest.startsWith('(?P<')) {
      this.emit('(?<', 4);
    } else if ((m = PLAIN_GROUP.exec(rest))) {
      this.emit(m[0], m[0].length);
    } else if (rest.startsWith('(?')) {
      throw new Error(`unsupported group syntax at offset ${this.i}: ${this.p.slice(this.i, this.i + 6)}`);
    } else {
      this.emit('(', 1);
    }
  }

  private closeGroup(): void {
    const outer = this.outerCase.pop();
    if (outer === undefined) throw new Error(`unbalanced ')' at offset ${this.i}`);
    this.caseInsensitive = outer;
    this.emit(')', 1);
  }

  /** `*`, `+`, `?`; after another quantifier `?` makes it lazy and `+` possessive (greedy is the closest JS has). */
  private quantifier(c: string): void {
    if (!this.afterQuantifier) this.emit(c, 1, true);
    else if (c === '?') this.emit('?', 1);
    else if (c === '+') this.emit('', 1);
    else throw new Error(`invalid quantifier at offset ${this.i}`);
  }

  /** `{n}`, `{n,}`, `{n,m}` are quantifiers; any other `{` is a literal. */
  private counted(): void {
    const m = /^\{\d+(?:,\d*)?\}/.exec(this.p.slice(this.i, this.i + 24));
    if (m) this.emit(m[0], m[0].length, true);
    else this.emit('\\{', 1);
  }

  private literal(): void {
    const ch = String.fromCodePoint(this.p.codePointAt(this.i)!);
    const vs = this.caseInsensitive ? caseVariants(ch) : [ch];
    this.emit(vs.length > 1 ? `[${vs.join('')}]` : ch, ch.length);
  }
}

/**
 * Converts a Hugging Face (Rust `regex` / `fancy-regex` / Oniguruma) pattern to JS source for the `u`
 * flag: `(?i:...)` groups are expanded to explicit case alternatives, possessive quantifiers become
 * greedy, `\s \d \w` become their Unicode versions, `\x{..}` becomes `\u{..}`, `(?P<n>` becomes `(?<n>`.
 */
export function convertHfPattern(pattern: string): string {
  return new PatternConverter(pattern).convert();
}

/** `convertHfPattern` compiled with the `gu` flags. */
export function compileHfPattern(pattern: string): RegExp {
  return new RegExp(convertHfPattern(pattern), 'gu');
}

/** Escapes a literal for use outside a character class under the `u` flag (which rejects `\-`). */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
