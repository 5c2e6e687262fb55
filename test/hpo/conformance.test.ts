// Every built-in strategy through the shared conformance suite (src/hpo/conformance.ts).
import { describe, expect, it } from 'vitest';
import { checkStrategyConformance, formatConformanceReport } from '../../src/hpo/conformance.js';
import { randomSearch } from '../../src/hpo/strategies/random.js';

describe('the strategy conformance suite', () => {
  it('passes random search', async () => {
    const report = await checkStrategyConformance(randomSearch);
    expect(report.failures, formatConformanceReport(report)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
