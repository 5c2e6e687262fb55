// GSM8K-style answer extraction: the number after "the answer is", else the last number.

/**
 * A number as models write it: optional sign, digits with optional "," thousands separators
 * ("1,234" — groups of exactly three, so "1,2,3" is three numbers), optional decimals. A number
 * glued to a letter, digit or "." on its left ("x2", "3.14.15") does not start a match, and a sign
 * only counts when nothing word-like precedes it ("5-3" is 5 and 3, not 5 and -3). A trailing
 * period ("42.") is never part of the match.
 */
const NUMBER = /(?<![\w.])[-+]?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)/g;

const MARKER = 'the answer is';

function parseNumber(text: string): number {
  return Number.parseFloat(text.replace(/,/g, '').replace(/\.$/, ''));
}

function numbersIn(text: string): string[] {
  return text.match(NUMBER) ?? [];
}

/**
 * The reference's GSM8K rule: lower-case the output; the first number after the first
 * "the answer is", else the last number anywhere in the output; null when there is none.
 */
export function extractAnswerNumber(output: string): number | null {
  const text = output.toLowerCase();
  const at = text.indexOf(MARKER);
  if (at >= 0) {
    const after = numbersIn(text.slice(at + MARKER.length));
    if (after.length) return parseNumber(after[0]!);
  }
  const all = numbersIn(text);
  if (!all.length) return null;
  const n = parseNumber(all[all.length - 1]!);
  return Number.isFinite(n) ? n : null;
}

/** 1 when the extracted number equals `value` within 1e-6, else 0. */
export function scoreNumber(output: string, value: number): 0 | 1 {
  const n = extractAnswerNumber(output);
  return n !== null && Math.abs(n - value) <= 1e-6 ? 1 : 0;
}
