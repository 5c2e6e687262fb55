// HELM / SQuAD-style text answer metrics: normalised exact match and bag-of-tokens F1.

/** ASCII punctuation, as Python's string.punctuation (what SQuAD's and HELM's normalisers strip). */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ARTICLES = /\b(a|an|the)\b/g;

/** SQuAD/HELM normalisation: lower-case, drop punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ').split(/\s+/).filter(Boolean).join(' ');
}

function tokens(s: string): string[] {
  const n = normalizeAnswer(s);
  return n ? n.split(' ') : [];
}

/**
 * The part of a generation that is scored as the answer. Leading blank lines are skipped; then the
 * answer is the first line (`multiline` false, HELM's "\n" stop sequence), or everything up to the
 * first blank line (`multiline` true, for answers that span lines, like a short poem). What follows
 * (an explanation, a second answer, a blank line and a new "### Instruction") is ignored: a model
 * that keeps talking is judged on its answer only. scoreOutput uses `multiline` exactly when some
 * reference answer has a line break.
 */
export function firstAnswerSpan(output: string, multiline = false): string {
  const text = output.replace(/^\s+/, '');
  const end = text.search(multiline ? /\r?\n[ \t]*(?:\r?\n|$)/ : /\r?\n/);
  return (end < 0 ? text : text.slice(0, end)).trim();
}

/** 1 when the normalised prediction equals any normalised answer, else 0. */
export function exactMatch(pred: string, answers: readonly string[]): 0 | 1 {
  const p = normalizeAnswer(pred);
  return answers.some((a) => normalizeAnswer(a) === p) ? 1 : 0;
}

function f1(pred: string[], gold: string[]): number {
  // SQuAD v2 convention: an empty side scores 1 only when both are empty.
  if (!pred.length || !gold.length) return pred.length === gold.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same += 1;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Bag-of-tokens (multiset) F1 of the normalised prediction, maximised over the answers; 0 with no answers. */
export function tokenF1(pred: string, answers: readonly string[]): number {
  const p = tokens(pred);
  let best = 0;
  for (const a of answers) best = Math.max(best, f1(p, tokens(a)));
  return best;
}
