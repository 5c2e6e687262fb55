import { describe, expect, it } from 'vitest';
import {
  bestTrial,
  crossFidelityAgreement,
  crossFidelityTable,
  lossScoreAgreement,
  lossScoreAgreementByRound,
  rankTrials,
  topKCount,
  topKOverlap,
} from '../../src/hpo/ranking.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { study, trial } from '../helpers/study.js';

const cfg = (lr: number, r = 4, s = 1) => ({ 'train.lr': lr, 'lora.r': r, 'train.local_steps': s });

// Five complete trials (and a pruned one that no final ranking counts):
// losses [1.0, 2.0, 1.5, 3.0, 1.0] -> ranks [1.5, 4, 3, 5, 1.5];
// scores [0.5, 0.7, 0.7, 0.1, 0.2] -> ranks (higher is better) [3, 1.5, 1.5, 5, 4].
const FIVE = study([
  trial(0, { config: cfg(0.001), loss: 1.0, score: 0.5 }),
  trial(1, { config: cfg(0.01), loss: 2.0, score: 0.7 }),
  trial(2, { config: cfg(0.1), loss: 1.5, score: 0.7 }),
  trial(3, { config: cfg(0.001, 8), loss: 3.0, score: 0.1 }),
  trial(4, { config: cfg(0.01, 8), loss: 0.1, score: 0.9, status: 'pruned', rounds: 2 }),
  trial(5, { config: cfg(0.1, 8), loss: 1.0, score: 0.2 }),
]);

describe('rankTrials', () => {
  it('ranks complete trials by loss (lower first) and by score (higher first), ties averaged', () => {
    const r = rankTrials(FIVE);
    expect(r.map((x) => x.trial.id)).toEqual([0, 1, 2, 3, 5]);
    expect(r.map((x) => x.valLossRank)).toEqual([1.5, 4, 3, 5, 1.5]);
    expect(r.map((x) => x.scoreRank)).toEqual([3, 1.5, 1.5, 5, 4]);
  });

  it('filters by fidelity and skips trials without both metrics', () => {
    const s = study([
      trial(0, { config: cfg(0.001), loss: 1, score: 0.5, fidelity: 2 }),
      trial(1, { config: cfg(0.01), loss: 2, fidelity: 4 }),
      trial(2, { config: cfg(0.1), loss: 0.5, score: 0.1, fidelity: 4 }),
    ]);
    expect(rankTrials(s).map((x) => x.trial.id)).toEqual([0, 2]);
    expect(rankTrials(s, { fidelity: 4 }).map((x) => x.trial.id)).toEqual([2]);
  });
});

describe('lossScoreAgreement', () => {
  it('rho, tau-b and top-k on the hand-worked five trials', () => {
    const a = lossScoreAgreement(FIVE, { topK: [1, 3, 0.4] });
    // Centered ranks [-1.5, 1, 0, 2, -1.5] and [0, -1.5, -1.5, 2, 1]: sum of products 1, sums of squares 9.5 each.
    expect(a.spearman.value).toBeCloseTo(1 / 9.5, 12);
    // Concordant pairs (0,3) (1,3) (2,3) (3,4), discordant (0,1) (0,2) (1,4) (2,4): S = 0.
    expect(a.kendall.value).toBeCloseTo(0, 12);
    expect(a.spearman.method).toBe('exact-permutation');
    // Top-1: trial 0 (loss, tie with 5 broken by order) vs trial 1 (score, tie with 2): none shared.
    // Top-3: {0, 5, 2} vs {1, 2, 0}: two shared. 0.4 of 5 trials -> k = 2: {0, 5} vs {1, 2}.
    expect(a.topK.map((t) => [t.k, t.shared])).toEqual([
      [1, 0],
      [3, 2],
      [2, 0],
    ]);
    expect(a.topK[1]!.overlap).toBeCloseTo(2 / 3, 12);
  });

  it('topKCount: counts clamp to n, fractions round up', () => {
    expect(topKCount(5, 3)).toBe(3);
    expect(topKCount(0.1, 41)).toBe(5);
    expect(() => topKCount(0, 3)).toThrow(RangeError);
    expect(topKOverlap([1, 2, 3], [3, 2, 1], 3).overlap).toBe(1);
  });

  it('bestTrial by each metric', () => {
    expect(bestTrial(FIVE, 'val_loss')?.id).toBe(0);
    expect(bestTrial(FIVE, 'score')?.id).toBe(1);
  });
});

describe('across fidelities', () => {
  // Four configs: at round 2 the order of losses is the reverse of round 4 (the slow starters win).
  const crossing = study(
    [0.001, 0.01, 0.1]
      .flatMap((lr, i) => [4, 8].map((r, j) => ({ lr, r, k: 2 * i + j })))
      .slice(0, 4)
      .map(({ lr, r, k }) =>
        trial(k, {
          config: cfg(lr, r),
          loss: 1 - 0.1 * k,
          score: 0.1 * k,
          curve: [
            { round: 1, value: 2 },
            { round: 2, value: 1 + 0.1 * k },
            { round: 3, value: 1.1 },
            { round: 4, value: 1 - 0.1 * k },
          ],
          scoreCurve: [
            { round: 2, value: 0.5 + 0.1 * k },
            { round: 4, value: 0.1 * k },
          ],
        }),
      ),
  );

  it('round-2 ranking against round-4 ranking from the curves', () => {
    const a = crossFidelityAgreement(crossing, 'val_loss', 2, 4);
    expect(a.n).toBe(4);
    expect(a.spearman.value).toBeCloseTo(-1, 12);
    expect(a.kendall.value).toBeCloseTo(-1, 12);
    // Exact: only the identity and the reversal reach |rho| = 1 among 4! pairings.
    expect(a.spearman.p).toBeCloseTo(2 / 24, 12);
    // Round 1 is all ties (constant): no correlation; round 3 likewise.
    const table = crossFidelityTable(crossing, 'val_loss');
    expect(table.map((t) => [t.low, t.high])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
    expect(table[0]!.spearman.method).toBe('none');
  });

  it('the score across fidelities from per-round scores', () => {
    const a = crossFidelityAgreement(crossing, 'score', 2, 4);
    expect(a.spearman.value).toBeCloseTo(1, 12);
  });

  it('loss vs score agreement per round', () => {
    const byRound = lossScoreAgreementByRound(crossing);
    expect(byRound.map((a) => a.round)).toEqual([2, 4]);
    // Round 2: loss rises with k, score rises with k -> loss rank and score rank are reversed.
    expect(byRound[0]!.spearman.value).toBeCloseTo(-1, 12);
    // Round 4: loss falls with k, score rises with k -> the same ranking.
    expect(byRound[1]!.spearman.value).toBeCloseTo(1, 12);
  });

  it('on the synthetic study: low fidelity agrees less with the final ranking than high fidelity', () => {
    const s = syntheticStudy({ trials: 60, seed: 3 });
    const table = crossFidelityTable(s, 'score');
    expect(table.map((t) => t.low)).toEqual([1, 2, 4]);
    expect(table[0]!.spearman.value).toBeLessThan(table[2]!.spearman.value);
    expect(table[0]!.spearman.method).toBe('t');
  });
});
