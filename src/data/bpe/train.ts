// Classic byte-level BPE training over pre-tokenised word counts.
import { BYTE_TO_CHAR, UTF8 } from './byte-level.js';
import { escapeRegex } from './hf-regex.js';
import type { HfAddedToken } from './hf-json.js';
import { BpeTokenizer } from './tokenizer.js';
import { PairStats, type Word } from './train-pairs.js';
import { MAX_ID } from './vocab.js';

export interface TrainBpeOptions {
  /** Target vocabulary size including the 3 specials and 256 bytes (>= 259). */
  vocabSize: number;
  /** Stop early once the best pair occurs fewer than this many times (default 2). */
  minFrequency?: number;
}

/** The special tokens of a trained tokenizer, at ids 0, 1, 2. */
export const TRAINED_SPECIALS = ['<pad>', '<s>', '</s>'] as const;

const SPECIAL_TOKENS: readonly HfAddedToken[] = TRAINED_SPECIALS.map((content, id) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
}));

/**
 * Starts from the 3 specials and all 256 byte symbols, then repeatedly merges the most frequent
 * adjacent pair (ties: the pair whose left, then right, token string sorts first) until `vocabSize`
 * tokens exist or no pair is frequent enough. Pair counts are updated incrementally (train-pairs.ts).
 */
export function trainBpe(texts: Iterable<string>, opts: TrainBpeOptions): BpeTokenizer {
  const { vocabSize } = opts;
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const base = TRAINED_SPECIALS.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base) {
    throw new Error(`trainBpe: vocabSize must be an integer >= ${base} (3 specials + 256 bytes), got ${vocabSize}`);
  }
  if (vocabSize > MAX_ID) throw new Error(`trainBpe: vocabSize must be <= ${MAX_ID}`);

  const tokens: string[] = [...TRAINED_SPECIALS, ...BYTE_TO_CHAR];
  const words = wordsOf(pieceCounts(texts, tokens));
  const merges = learnMerges(words, tokens, vocabSize, minFrequency);
  return withVocab(tokens, merges);
}

function withVocab(tokens: readonly string[], merges: [string, string][]): BpeTokenizer {
  return new BpeTokenizer({ vocab: new Map(tokens.map((t, i) => [t, i])), merges, addedTokens: SPECIAL_TOKENS, source: 'trainBpe' });
}

/** How often each pre-tokenised piece occurs, pre-tokenised exactly as encode will (specials split off). */
function pieceCounts(texts: Iterable<string>, tokens: readonly string[]): Map<string, number> {
  const proto = withVocab(tokens, []);
  const specialRe = new RegExp(TRAINED_SPECIALS.map(escapeRegex).join('|'), 'gu');
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const part of text.split(specialRe)) {
      if (part.length === 0) continue;
      for (const piece of proto.preTokenize(part)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  return counts;
}

/** Pieces as symbol arrays (byte b = id b + 3); single-symbol words cannot contribute pairs. */
function wordsOf(counts: Map<string, number>): Word[] {
  const words: Word[] = [];
  for (const [piece, freq] of counts) {
    const bytes = UTF8.encode(piece);
    if (bytes.length < 2) continue;
    words.push({ symbols: Array.from(bytes, (b) => b + TRAINED_SPECIALS.length), freq });
  }
  return words;
}

/** Merges the most frequent pair until `tokens` (appended to) has vocabSize entries or pairs are rare. */
function learnMerges(words: Word[], tokens: string[], vocabSize: number, minFrequency: number): [string, string][] {
  const tokenIds = new Map(tokens.map((t, i) => [t, i]));
  const stats = new PairStats(words, vocabSize, tokens);
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const best = stats.best();
    if (best === undefined || best[2] < minFrequency) break;
    const [a, b] = best;
    const merged = tokens[a]! + tokens[b]!;
    let c = tokenIds.get(merged);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, c);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    stats.merge(a, b, c);
  }
  return merges;
}
