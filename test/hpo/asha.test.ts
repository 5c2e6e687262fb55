import { describe, expect, it } from 'vitest';
import { asha } from '../../src/hpo/strategies/asha.js';
import { StudyDriver } from './study-driver.js';

describe('ASHA', () => {
  it('never waits: every ask in an unbounded space returns all it was asked for', () => {
    const d = new StudyDriver(asha, { options: { eta: 3 } });
    const running = d.ask(8);
    expect(running).toHaveLength(8);
    for (let i = 0; i < 40; i++) {
      const t = running.shift()!;
      d.complete(t.id, Number(t.config.x) + 1 / t.fidelity);
      const got = d.ask(1);
      expect(got).toHaveLength(1);
      running.push(...got);
    }
    expect(d.ask(5)).toHaveLength(5);
    expect(d.trials.some((t) => t.fidelity === 9)).toBe(true);
  });

  it('promotes a trial in the top floor(ended/eta) of its rung so far, once, from its checkpoint', () => {
    const d = new StudyDriver(asha, { options: { eta: 3 } });
    const [a, b, c] = d.ask(3);
    d.complete(a!.id, 5);
    d.complete(b!.id, 3);
    expect(d.ask(1).map((t) => [t.parent, t.fidelity])).toEqual([[undefined, 1]]); // 2 ended: top 0
    d.complete(c!.id, 9);
    const [promoted] = d.ask(1); // 3 ended (the new one still runs): top 1 is trial b
    expect([promoted!.parent, promoted!.fidelity, promoted!.config, promoted!.meta]).toEqual([
      { id: b!.id, round: 1 },
      3,
      b!.config,
      { rung: 1 },
    ]);
    expect(d.ask(1)[0]!.parent).toBeUndefined(); // b climbed already: a new config
    d.complete(promoted!.id, 2);
    expect(promoted!.rounds).toBe(0);
    expect(d.trials[promoted!.id]!.rounds).toBe(3 - 1); // only the rounds it added
  });

  it('never promotes failed or diverged trials, and counts pruned ones as losers', () => {
    const d = new StudyDriver(asha, { options: { eta: 3 } });
    const [a, b, c, e] = d.ask(4);
    d.fail(a!.id);
    d.fail(b!.id, 'diverged');
    d.complete(c!.id, 4);
    // Ended: one (failed and diverged do not count), so nothing climbs yet.
    const [f] = d.ask(1);
    expect(f!.parent).toBeUndefined();
    d.prune(e!.id, 1, 0.1); // better value, but pruned: it counts, and loses
    d.complete(f!.id, 6);
    // Ended: c, e, f -> top 1 of the complete ones: c.
    expect(d.ask(2).map((t) => t.parent?.id)).toEqual([c!.id, undefined]);
  });

  it('is done in a finite space once every config ran and nothing more can climb', () => {
    const d = new StudyDriver(asha, {
      options: { eta: 2 },
      fidelity: { min: 1, max: 2 },
      space: new Map([['lora.r', { type: 'int', low: 1, high: 2 }]]),
    });
    const [a, b] = d.ask(5);
    expect(d.isDone()).toBe(false);
    d.complete(a!.id, 1);
    d.complete(b!.id, 2);
    expect(d.isDone()).toBe(false); // a has earned rung 1
    const [top] = d.ask(5);
    expect(top!.parent).toEqual({ id: a!.id, round: 1 });
    d.complete(top!.id, 0.5);
    expect(d.isDone()).toBe(true);
    expect(d.ask(1)).toEqual([]);
  });
});
