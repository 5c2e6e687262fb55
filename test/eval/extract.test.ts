import { describe, expect, it } from 'vitest';
import { extractAnswerNumber, scoreNumber } from '../../src/eval/extract.js';

describe('extractAnswerNumber (GSM8K rule)', () => {
  it.each([
    ['The answer is 42.', 42],
    ['x = 3 ... so 17', 17],
    ['the answer is -1,234.5', -1234.5],
    ['THE ANSWER IS 7 because 3 + 4 = 7, not 8', 7],
    ['She has 5 apples, buys 12 more: 17 apples. The answer is: 17.\nNext 99', 17],
    ['It costs $1,000,000.', 1_000_000],
    ['1,2,3', 3],
    ['12,34', 34],
    ['3.5 then 0.25', 0.25],
    ['+8', 8],
    ['5-3=2', 2],
    ['step2 gives 4', 4],
    ['the answer is unknown, maybe 9', 9],
    ['answer: .5', 0.5],
  ])('%j -> %d', (text, want) => {
    expect(extractAnswerNumber(text)).toBe(want);
  });

  it('returns null without a number', () => {
    expect(extractAnswerNumber('no idea')).toBeNull();
    expect(extractAnswerNumber('')).toBeNull();
    expect(extractAnswerNumber('the answer is x')).toBeNull();
  });

  it('scoreNumber compares within 1e-6', () => {
    expect(scoreNumber('The answer is 42.', 42)).toBe(1);
    expect(scoreNumber('so 0.30000000000000004', 0.3)).toBe(1);
    expect(scoreNumber('the answer is 41', 42)).toBe(0);
    expect(scoreNumber('nothing', 0)).toBe(0);
    expect(scoreNumber('the answer is -1,234.5.', -1234.5)).toBe(1);
  });
});
