import { describe, expect, it } from 'vitest';
import { bracketRounds, halvingBracket, hyperbandBrackets, promotionCount, rungFidelities, rungSizes } from '../../src/hpo/halving.js';

describe('successive-halving arithmetic', () => {
  it('rung fidelities are min·eta^k capped at max', () => {
    expect(rungFidelities(1, 9, 3)).toEqual([1, 3, 9]);
    expect(rungFidelities(1, 10, 3)).toEqual([1, 3, 9, 10]);
    expect(rungFidelities(2, 10, 2)).toEqual([2, 4, 8, 10]);
    expect(rungFidelities(5, 5, 3)).toEqual([5]);
    expect(() => rungFidelities(0, 9, 3)).toThrow(/bad range/);
    expect(() => rungFidelities(1, 9, 1)).toThrow(/eta must be an integer >= 2/);
  });

  it("Hyperband's brackets are Li et al.'s table for R = 81, eta = 3", () => {
    const plans = hyperbandBrackets(1, 81, 3);
    expect(plans.map((p) => [p.s, p.n, p.rungs[0]])).toEqual([
      [4, 81, 1],
      [3, 34, 3],
      [2, 15, 9],
      [1, 8, 27],
      [0, 5, 81],
    ]);
    expect(plans.map((p) => rungSizes(p, 3))).toEqual([[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]);
    // n_s = ceil((K+1)/(s+1) · eta^s) for every bracket, on a range that is not a power of eta.
    for (const p of hyperbandBrackets(2, 50, 3)) expect(p.n).toBe(Math.ceil((4 / (p.s + 1)) * 3 ** p.s));
  });

  it('promotes floor(size/eta), at least one, and charges each rung only its new rounds', () => {
    expect([0, 1, 2, 3, 8, 9, 10].map((n) => promotionCount(n, 3))).toEqual([0, 1, 1, 1, 2, 3, 3]);
    const sha = halvingBracket(1, 9, 3);
    expect(sha).toEqual({ s: 2, n: 9, rungs: [1, 3, 9] });
    expect(bracketRounds(sha, 3)).toBe(9 * 1 + 3 * (3 - 1) + 1 * (9 - 3));
    expect(bracketRounds(hyperbandBrackets(1, 9, 3)[2]!, 3)).toBe(3 * 9);
  });
});
