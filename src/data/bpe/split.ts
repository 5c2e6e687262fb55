// Splitting text on a regex the way tokenizers' Split pre-tokenizer does, for each of its
// SplitDelimiterBehavior values. Every behavior yields contiguous ranges of the text, so each piece
// is returned with its [start, end) offsets as well as its text.

export type Behavior = 'Isolated' | 'Removed' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export const BEHAVIORS: readonly Behavior[] = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** A range of the text and whether it is a match of the regex (after `invert`). */
type Segment = [start: number, end: number, isMatch: boolean];

/** The matches of `re` and the gaps between them, in order; empty matches are skipped. */
function segments(text: string, re: RegExp, invert: boolean): Segment[] {
  const segs: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > last) segs.push([last, m.index, invert]);
    segs.push([m.index, m.index + m[0].length, !invert]);
    last = m.index + m[0].length;
  }
  if (last < text.length) segs.push([last, text.length, invert]);
  return segs;
}

/**
 * Collects pieces as parallel arrays, with their offsets only when asked to (plain encoding does not
 * need them). Offsets are stored relative to the outer text: `offset` is added to each, and none is
 * stored below `floor` (a prefix space added before splitting has no offset of its own).
 */
export class PieceSink {
  readonly texts: string[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  offset = 0;
  floor = 0;

  constructor(private readonly withOffsets: boolean) {}

  push(text: string, start: number, end: number): void {
    this.texts.push(text);
    if (!this.withOffsets) return;
    this.starts.push(Math.max(this.floor, this.offset + start));
    this.ends.push(Math.max(this.floor, this.offset + end));
  }
}

/** Isolated, not inverted (the common case): matches and gaps straight into `out`. */
function splitIsolated(text: string, re: RegExp, out: PieceSink): void {
  let last = 0;
  for (const m of text.matchAll(re)) {
    const len = m[0].length;
    if (len === 0) continue;
    if (m.index > last) out.push(text.slice(last, m.index), last, m.index);
    out.push(m[0], m.index, m.index + len);
    last = m.index + len;
  }
  if (last < text.length) out.push(text.slice(last), last, text.length);
}

/** Folds matches into their neighbours as the behavior says; appends the pieces to `out`. */
function fold(text: string, segs: Segment[], behavior: Behavior, out: PieceSink): void {
  const acc: [number, number][] = [];
  let prevMatch = false;
  switch (behavior) {
    case 'Isolated':
      for (const [s, e] of segs) acc.push([s, e]);
      break;
    case 'Removed':
      for (const [s, e, isMatch] of segs) if (!isMatch) acc.push([s, e]);
      break;
    case 'MergedWithPrevious':
      for (const [s, e, isMatch] of segs) {
        if (isMatch && !prevMatch && acc.length > 0) acc[acc.length - 1]![1] = e;
        else acc.push([s, e]);
        prevMatch = isMatch;
      }
      break;
    case 'MergedWithNext':
      for (let k = segs.length - 1; k >= 0; k--) {
        const [s, e, isMatch] = segs[k]!;
        if (isMatch && !prevMatch && acc.length > 0) acc[acc.length - 1]![0] = s;
        else acc.push([s, e]);
        prevMatch = isMatch;
      }
      acc.reverse();
      break;
    case 'Contiguous':
      for (let k = 0; k < segs.length; k++) {
        const [s, e, isMatch] = segs[k]!;
        if (k > 0 && isMatch === prevMatch) acc[acc.length - 1]![1] = e;
        else acc.push([s, e]);
        prevMatch = isMatch;
      }
      break;
  }
  for (const [s, e] of acc) out.push(text.slice(s, e), s, e);
}

/** Splits `text` on `re` (a global regex) with tokenizers' semantics; appends the pieces to `out`. */
export function splitText(text: string, re: RegExp, behavior: Behavior, invert: boolean, out: PieceSink): void {
  if (behavior === 'Isolated' && !invert) splitIsolated(text, re, out);
  else fold(text, segments(text, re, invert), behavior, out);
}
