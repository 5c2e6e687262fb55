// The conformance suite catches what it promises to: each broken strategy below differs from random
// search in one way, and the report names that check (and passes the rest).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { type ConformanceCheck, checkStrategyConformance } from '../../src/hpo/conformance.js';
import { sampleConfig } from '../../src/hpo/sampling.js';
import { RandomSearch, randomSearch } from '../../src/hpo/strategies/random.js';
import type { Strategy, StrategyContext, StrategyFactory, TrialRecord } from '../../src/hpo/strategy.js';

/** Random search with some members replaced. */
function variant(over: (inner: Strategy, ctx: StrategyContext) => Partial<Strategy>): StrategyFactory {
  return (ctx) => {
    const inner = randomSearch(ctx);
    return {
      name: 'variant',
      multiObjective: inner.multiObjective,
      ask: (v, n) => inner.ask(v, n),
      tell: (t, v) => inner.tell(t, v),
      isDone: (v) => inner.isDone(v),
      state: () => inner.state(),
      restore: (s) => inner.restore(s),
      ...over(inner, ctx),
    };
  };
}

async function failedChecks(factory: StrategyFactory): Promise<Set<ConformanceCheck>> {
  const report = await checkStrategyConformance(factory);
  expect(report.ok).toBe(false);
  for (const f of report.failures) expect(f.message.length).toBeGreaterThan(10);
  return new Set(report.failures.map((f) => f.check));
}

describe('the conformance suite finds', () => {
  it('suggestions outside the space and fidelities outside the range', async () => {
    const bad = variant((inner) => ({
      ask: (v, n) => inner.ask(v, n).map((s, i) => (i % 2 ? { ...s, fidelity: 10 } : { ...s, config: { ...s.config, bogus: 1 } })),
    }));
    const failed = await failedChecks(bad);
    expect(failed.has('in-space')).toBe(true);
    const report = await checkStrategyConformance(bad);
    expect(report.failures.map((f) => f.message).join('\n')).toMatch(/fidelity 10 is not a whole number of rounds in \[1, 9\]/);
    expect(report.failures.map((f) => f.message).join('\n')).toMatch(/bogus is not in the space/);
  });

  it('a strategy that ignores its seed, or draws from Math.random', async () => {
    expect([...(await failedChecks((ctx) => new RandomSearch({ ...ctx, seed: 0 })))]).toEqual(['seed-sensitive']);
    const unseeded = await failedChecks((ctx) => new RandomSearch({ ...ctx, seed: Math.floor(Math.random() * 1e9) }));
    expect(unseeded.has('deterministic')).toBe(true);
  });

  it('a state that does not restore, and a state that is not plain JSON', async () => {
    const forgets = await checkStrategyConformance(variant(() => ({ restore: () => {} })));
    expect(forgets.failures.map((f) => f.check)).toContain('state-round-trip');
    expect(forgets.failures.map((f) => f.message)).toContain('state() right after restore(s) is not s');
    const nan = await failedChecks(variant((inner) => ({ state: () => ({ inner: inner.state(), best: Number.NaN }) })));
    expect(nan.has('json-state')).toBe(true);
    const fn = await checkStrategyConformance(variant(() => ({ state: () => ({ at: new Date(0) }) as never })));
    expect(fn.failures.find((f) => f.check === 'json-state')?.message).toMatch(/state\.at is a Date/);
  });

  it('duplicates in a finite space, a failed config suggested again and again, and a space never exhausted', async () => {
    const withReplacement = variant((_inner, ctx) => {
      const rng = new Rng(ctx.seed);
      return {
        ask: (v, n) => Array.from({ length: n }, () => ({ config: sampleConfig(v.space, rng), fidelity: ctx.fidelity.max })),
        isDone: () => false,
        state: () => ({ rng: rng.state() as never }),
        restore: (s) => Object.assign(rng, Rng.fromState((s as never as { rng: never }).rng)),
      };
    });
    const failed = await failedChecks(withReplacement);
    for (const c of ['no-duplicates', 'failed-not-repeated', 'exhausts'] as const) expect(failed.has(c), c).toBe(true);
  });

  it('a stall (nothing running, nothing suggested, not done) and asks after done', async () => {
    const stalls = await failedChecks(variant((inner) => ({ ask: (v, n) => (v.trials.length >= 2 ? [] : inner.ask(v, n)) })));
    expect(stalls.has('no-stall')).toBe(true);
    const ignoresDone = await failedChecks(
      variant((inner, ctx) => ({
        ask: (v, n) => (inner.isDone(v) ? [{ config: v.trials[0]!.config, fidelity: ctx.fidelity.min }] : inner.ask(v, n)),
      })),
    );
    expect(ignoresDone.has('done-means-done')).toBe(true);
  });

  it('a strategy that changes the study view, or asks for more than n', async () => {
    const sorts = await failedChecks(
      variant((inner) => ({
        ask: (v, n) => {
          (v.trials as TrialRecord[]).sort((a, b) => b.id - a.id);
          return inner.ask(v, n);
        },
      })),
    );
    expect(sorts.has('view-unchanged')).toBe(true);
    const greedy = await failedChecks(variant((inner) => ({ ask: (v, n) => inner.ask(v, n + 1) })));
    expect(greedy.has('ask-count')).toBe(true);
  });

  it('a continuation of a trial that has no checkpoint at that round', async () => {
    const bad = variant((inner) => ({
      ask: (v, n) => {
        const running = v.trials.find((t) => t.status === 'running');
        const out = inner.ask(v, n);
        return running && out.length ? [{ ...out[0]!, parent: { id: running.id, round: 1 } }, ...out.slice(1)] : out;
      },
    }));
    const report = await checkStrategyConformance(bad);
    expect(report.failures.find((f) => f.check === 'parent')?.message).toMatch(/continues trial \d+, which is running \(no checkpoint\)/);
  });

  it('a crash in tell, and one on several objectives although multiObjective is declared', async () => {
    const crash = await checkStrategyConformance(
      variant(() => ({
        tell: (t) => {
          if (t.status === 'diverged') throw new Error('cannot rank NaN');
        },
      })),
    );
    expect(crash.failures.find((f) => f.check === 'no-crash')?.message).toMatch(/tell\(trial \d+, diverged\) threw: cannot rank NaN/);
    const moCrash = await checkStrategyConformance(
      variant((inner, ctx) => ({
        ask: (v, n) => {
          if (ctx.objectives.length > 1) throw new Error('one objective only');
          return inner.ask(v, n);
        },
      })),
    );
    expect(moCrash.failures.map((f) => [f.check, f.study])).toEqual([['no-crash', 'mixed space, two objectives']]);
  });

  it('a strategy that cannot stand trials it did not suggest (a study enqueues configs first)', async () => {
    const report = await checkStrategyConformance(
      variant((inner) => ({
        ask: (v, n) => inner.ask(v, n).map((s) => ({ ...s, meta: { mine: true } })),
        tell: (t) => {
          if (t.meta === undefined) throw new Error(`trial ${t.id} has no tag`);
        },
      })),
    );
    expect(report.failures.map((f) => [f.check, f.study, f.message])).toEqual([
      ['no-crash', 'tiny space, 2 configs enqueued first', 'tell(enqueued trial 0, complete) threw: trial 0 has no tag'],
      ['no-crash', 'mixed space, 1 config enqueued first', 'tell(enqueued trial 0, complete) threw: trial 0 has no tag'],
    ]);
  });

  it('takes a class as well as a factory, as a plug-in module exports either', async () => {
    const report = await checkStrategyConformance(RandomSearch);
    expect([report.strategy, report.failures]).toEqual(['random', []]);
  });

  it('accepts a single-objective strategy, since the loader refuses a study with two objectives for it', async () => {
    const report = await checkStrategyConformance(variant(() => ({ multiObjective: false })));
    expect(report.failures).toEqual([]);
  });
});
