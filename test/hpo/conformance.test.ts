// Every built-in strategy through the shared conformance suite (src/hpo/conformance.ts).
import { describe, expect, it } from 'vitest';
import { type ConformanceOptions, checkStrategyConformance, formatConformanceReport } from '../../src/hpo/conformance.js';
import { asha } from '../../src/hpo/strategies/asha.js';
import { bayesianOptimization } from '../../src/hpo/strategies/bo.js';
import { flora } from '../../src/hpo/strategies/flora.js';
import { federatedThompsonSampling } from '../../src/hpo/strategies/fts.js';
import { gridSearch } from '../../src/hpo/strategies/grid.js';
import { hyperband } from '../../src/hpo/strategies/hyperband.js';
import { randomSearch } from '../../src/hpo/strategies/random.js';
import { successiveHalving } from '../../src/hpo/strategies/successive-halving.js';
import type { StrategyFactory } from '../../src/hpo/strategy.js';

const CASES: [string, StrategyFactory, ConformanceOptions][] = [
  ['random', randomSearch, {}],
  ['grid', gridSearch, { seedSensitive: false }],
  ['grid (shuffled, 3 points per dim)', gridSearch, { options: { shuffle: true, pointsPerDim: 3 } }],
  ['sha', successiveHalving, {}],
  ['sha (eta 2, one bracket)', successiveHalving, { options: { eta: 2, repeat: false }, fidelity: { min: 2, max: 10 } }],
  ['hyperband', hyperband, {}],
  ['asha', asha, {}],
  ['asha (eta 2, 2..16 rounds)', asha, { options: { eta: 2 }, fidelity: { min: 2, max: 16 } }],
  ['bo', bayesianOptimization, {}],
  [
    'bo (3 start-up trials, worst-value liar, same fidelity only)',
    bayesianOptimization,
    { options: { startupTrials: 3, liar: 'max', sameFidelityOnly: true } },
  ],
  ['fts', federatedThompsonSampling, {}],
  [
    'fts (1 start-up trial, 20 features, 2 local rounds)',
    federatedThompsonSampling,
    { options: { startupTrials: 1, features: 20, localRounds: 2 } },
  ],
  ['flora (aplm)', flora, {}],
  ['flora (sgm)', flora, { options: { surface: 'sgm', localTrials: 8 } }],
  ['flora (sgm+u)', flora, { options: { surface: 'sgm+u', localTrials: 8, kappa: 2 } }],
  ['flora (mplm)', flora, { options: { surface: 'mplm', localTrials: 8, localRounds: 1 } }],
];

describe('the strategy conformance suite', () => {
  it.each(CASES)('passes %s', async (_label, factory, options) => {
    const report = await checkStrategyConformance(factory, options);
    expect(report.failures, formatConformanceReport(report)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
