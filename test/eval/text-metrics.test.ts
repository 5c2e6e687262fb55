import { describe, expect, it } from 'vitest';
import { exactMatch, firstAnswerSpan, normalizeAnswer, tokenF1 } from '../../src/eval/text-metrics.js';
import { scoreOutput } from '../../src/eval/score.js';

describe('normalizeAnswer', () => {
  it('lower-cases, drops punctuation and articles, collapses whitespace', () => {
    expect(normalizeAnswer('  The  Eiffel-Tower, in PARIS!  ')).toBe('eiffeltower in paris');
    expect(normalizeAnswer('An apple a day')).toBe('apple day');
    expect(normalizeAnswer('theater')).toBe('theater');
    expect(normalizeAnswer('...')).toBe('');
  });
});

describe('exactMatch', () => {
  it('matches any normalised answer', () => {
    expect(exactMatch('The Paris.', ['London', 'paris'])).toBe(1);
    expect(exactMatch('Paris, France', ['Paris'])).toBe(0);
    expect(exactMatch('x', [])).toBe(0);
  });
});

describe('tokenF1', () => {
  it('is bag-of-tokens F1, maximised over answers', () => {
    // pred "cat sat" vs gold "cat sat down": P = 1, R = 2/3, F1 = 0.8
    expect(tokenF1('The cat sat', ['a cat sat down'])).toBeCloseTo(0.8, 12);
    expect(tokenF1('The cat sat', ['dog', 'cat sat down', 'cat sat'])).toBe(1);
    expect(tokenF1('blue', ['red'])).toBe(0);
    // multiset: "x x y" vs "x y y" share one x and one y: P = R = 2/3
    expect(tokenF1('x x y', ['x y y'])).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('', ['the'])).toBe(1); // both normalise to nothing
    expect(tokenF1('', ['cat'])).toBe(0);
    expect(tokenF1('cat', [])).toBe(0);
  });
});

describe('firstAnswerSpan', () => {
  it('keeps the first non-blank line only', () => {
    expect(firstAnswerSpan('\n\n  Paris \n\n### Instruction: ...')).toBe('Paris');
    expect(firstAnswerSpan('Paris\r\nBecause ...')).toBe('Paris');
    expect(firstAnswerSpan('one line')).toBe('one line');
    expect(firstAnswerSpan('   ')).toBe('');
  });
  it('with multiline, keeps everything up to the first blank line', () => {
    expect(firstAnswerSpan('\nRoses are red,\nviolets are blue.\n\n### Instruction: ...', true)).toBe('Roses are red,\nviolets are blue.');
    expect(firstAnswerSpan('a\n  \t\nb', true)).toBe('a');
    expect(firstAnswerSpan('a\r\nb', true)).toBe('a\r\nb');
  });
});

describe('scoreOutput (text and number)', () => {
  it('scores text on the first line, by the reference metric', async () => {
    expect(await scoreOutput('Paris\n\nExplanation: it is the capital.', { kind: 'text', answers: ['paris'], metric: 'exact' })).toBe(1);
    expect(await scoreOutput('the cat sat\nmore', { kind: 'text', answers: ['cat sat down'], metric: 'f1' })).toBeCloseTo(0.8, 12);
    expect(await scoreOutput('\nwrong\nParis', { kind: 'text', answers: ['Paris'], metric: 'exact' })).toBe(0);
    // A multi-line reference is compared with the generation up to its first blank line.
    const poem = 'In Wenby by the Brenna,\nfamous for its pottery.';
    expect(await scoreOutput(`${poem}\n\n### Instruction:\nmore`, { kind: 'text', answers: [poem], metric: 'f1' })).toBe(1);
  });
  it('scores numbers by the GSM8K rule', async () => {
    expect(await scoreOutput('3 + 4 = 7. The answer is 7.', { kind: 'number', value: 7 })).toBe(1);
    expect(await scoreOutput('3 + 4 = 8', { kind: 'number', value: 7 })).toBe(0);
  });
});
