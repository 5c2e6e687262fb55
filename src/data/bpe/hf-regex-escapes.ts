// The escapes and character classes of Hugging Face (Rust `regex` / Oniguruma) patterns, spelled for a
// JS regex with the `u` flag. Used by hf-regex.ts.

const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/'.split(''));
// Unicode-aware versions of the Perl classes (Rust regex semantics; JS's \s, \d, \w differ).
const WHITE = String.raw`\p{White_Space}`;
const WORD_PARTS = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;

/** The spellings of one character under `(?i:...)`: itself, then its single-character lower/upper cases. */
export function caseVariants(ch: string): string[] {
  const out = [ch];
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) if ([...v].length === 1 && !out.includes(v)) out.push(v);
  return out;
}

/** A converted piece of the pattern and how many characters of the source pattern it consumed. */
export type Converted = [js: string, length: number];

/** The JS spelling of an escape without an argument (`\s`, `\d`, `\n` ...), or undefined for other escapes. */
function classEscape(c: string, inClass: boolean): string | undefined {
  switch (c) {
    case 's':
      return WHITE;
    case 'S':
      return String.raw`\P{White_Space}`;
    case 'd':
      return String.raw`\p{Nd}`;
    case 'D':
      return String.raw`\P{Nd}`;
    case 'w':
      return inClass ? WORD_PARTS : `[${WORD_PARTS}]`;
    case 'W':
      if (inClass) throw new Error('\\W inside a character class is not supported');
      return `[^${WORD_PARTS}]`;
    case 'A':
      if (inClass) throw new Error('\\A inside a character class');
      return '^';
    case 'z':
      if (inClass) throw new Error('\\z inside a character class');
      return '$';
    case 'n':
    case 'r':
    case 't':
    case 'f':
    case 'v':
    case 'b':
    case 'B':
    case '0':
      return `\\${c}`;
    default:
      return undefined;
  }
}

/** `\p{..}` / `\pL`, `\x{..}` / `\xHH`, `\u{..}` / `\uHHHH`: escapes with an argument. */
function argumentEscape(p: string, i: number, c: string): Converted | undefined {
  const braced = (from: number): Converted => {
    const end = p.indexOf('}', from);
    if (end < 0) throw new Error(`unterminated \\${c}{ escape`);
    return [p.slice(from + 1, end), end + 1 - i];
  };
  const hasBrace = p[i + 2] === '{';
  switch (c) {
    case 'p':
    case 'P': {
      if (hasBrace) {
        const [name, len] = braced(i + 2);
        return [`\\${c}{${name}}`, len];
      }
      const letter = p[i + 2];
      if (letter === undefined) throw new Error(`incomplete \\${c} escape`);
      return [`\\${c}{${letter}}`, 3]; // \pL
    }
    case 'x':
    case 'u': {
      if (hasBrace) {
        const [hex, len] = braced(i + 2);
        return [`\\u{${hex}}`, len];
      }
      const len = c === 'x' ? 4 : 6;
      return [p.slice(i, i + len), len];
    }
    default:
      return undefined;
  }
}

/** Reads one escape starting at p[i] === '\\'; returns its JS spelling and its length in p. */
export function convertEscape(p: string, i: number, inClass: boolean): Converted {
  const c = p[i + 1];
  if (c === undefined) throw new Error('pattern ends with a lone backslash');
  const withArgument = argumentEscape(p, i, c);
  if (withArgument) return withArgument;
  const fixed = classEscape(c, inClass);
  if (fixed !== undefined) return [fixed, 2];
  if (/[A-Za-z0-9]/.test(c)) throw new Error(`unsupported escape \\${c}`);
  const ch = String.fromCodePoint(p.codePointAt(i + 1)!);
  // Under the `u` flag only syntax characters (and '-' in a class) may be escaped.
  if (SYNTAX_CHARS.has(ch) || (inClass && ch === '-')) return [`\\${ch}`, 2];
  return [ch, 1 + ch.length];
}

/** Converts a character class starting at p[i] === '['; returns its JS spelling and length. */
export function convertClass(p: string, i: number, caseInsensitive: boolean): Converted {
  let j = i + 1;
  let negation = '';
  if (p[j] === '^') {
    negation = '^';
    j++;
  }
  let main = '';
  let swapped = ''; // the case-swapped letters, for (?i:...)
  for (let first = true; ; first = false) {
    const c = p[j];
    if (c === undefined) throw new Error('unterminated character class');
    if (c === ']' && !first) break;
    if (c === '\\') {
      const [esc, len] = convertEscape(p, j, true);
      main += esc;
      swapped += esc;
      j += len;
    } else if (c === '[') {
      throw new Error('nested character classes are not supported');
    } else if (c === ']') {
      main += '\\]'; // a leading ']' is a literal in Rust / Oniguruma
      swapped += '\\]';
      j++;
    } else {
      const ch = String.fromCodePoint(p.codePointAt(j)!);
      main += ch;
      if (caseInsensitive) {
        const vs = caseVariants(ch);
        swapped += vs.length > 1 ? vs.find((v) => v !== ch)! : ch;
      }
      j += ch.length;
    }
  }
  return [`[${negation}${main}${caseInsensitive ? swapped : ''}]`, j + 1 - i];
}
