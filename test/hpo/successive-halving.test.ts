import { describe, expect, it } from 'vitest';
import { bracketRounds, hyperbandBrackets } from '../../src/hpo/halving.js';
import { hyperband } from '../../src/hpo/strategies/hyperband.js';
import { successiveHalving } from '../../src/hpo/strategies/successive-halving.js';
import { LOSS, StudyDriver } from './study-driver.js';

describe('successive halving', () => {
  it('waits for a rung, promotes the hand-computed top 1/eta from their checkpoints, and charges only new rounds', () => {
    const d = new StudyDriver(successiveHalving, { options: { eta: 3, repeat: false } });
    const rung0 = d.ask(20);
    expect(rung0.map((t) => [t.fidelity, t.parent, t.meta])).toEqual(Array(9).fill([1, undefined, { bracket: 0, s: 2, rung: 0 }]));
    // Values by trial: trial 3 (best) fails, trial 5 (second best) is pruned; the rest complete.
    const values = [5, 3, 9, 1, 7, 2, 8, 6, 4];
    for (const t of rung0.slice(0, 8)) {
      if (t.id === 3) d.fail(3);
      else if (t.id === 5) d.prune(5, 1, values[5]!);
      else d.complete(t.id, values[t.id]!);
      expect(d.ask(4)).toEqual([]); // synchronous: nothing until the whole rung has ended
    }
    d.complete(8, values[8]!);
    // Top floor(9/3) = 3 of the complete ones: 3 (trial 1), 4 (trial 8), 5 (trial 0).
    const rung1 = d.ask(5);
    expect(rung1.map((t) => [t.parent, t.fidelity, t.config])).toEqual([1, 8, 0].map((id) => [{ id, round: 1 }, 3, d.trials[id]!.config]));
    expect(d.ask(1)).toEqual([]);
    d.complete(9, 2.5);
    d.complete(10, 2.0);
    d.complete(11, 4.0);
    const [top] = d.ask(3);
    expect([top!.parent, top!.fidelity]).toEqual([{ id: 10, round: 3 }, 9]);
    expect(d.isDone()).toBe(false);
    d.complete(top!.id, 1.5);
    expect(d.isDone()).toBe(true);
    expect(d.ask(9)).toEqual([]);
    // 9 trials x 1 round, 3 x 2 new rounds, 1 x 6 new rounds.
    expect(d.trials.map((t) => t.rounds)).toEqual([...Array(9).fill(1), 2, 2, 2, 6]);
    expect(d.spentRounds()).toBe(21);
    expect(d.spentRounds()).toBe(bracketRounds({ s: 2, n: 9, rungs: [1, 3, 9] }, 3));
  });

  it('breaks ties by trial id, starts a new bracket when one ends, and ends a bracket whose rung all failed', () => {
    const d = new StudyDriver(successiveHalving, { options: { eta: 2, n: 4 }, fidelity: { min: 1, max: 4 } });
    const first = d.ask(4);
    for (const t of first) d.complete(t.id, t.id < 2 ? 1 : 2); // trials 0 and 1 tie for best
    expect(d.ask(4).map((t) => t.parent)).toEqual([
      { id: 0, round: 1 },
      { id: 1, round: 1 },
    ]);
    d.fail(4, 'diverged');
    d.fail(5);
    // Nothing to promote: the bracket is over, and (repeat) a fresh one starts with new configs.
    const next = d.ask(4);
    expect(next.map((t) => [t.fidelity, t.parent, t.meta])).toEqual(Array(4).fill([1, undefined, { bracket: 1, s: 2, rung: 0 }]));
    expect(d.isDone()).toBe(false);
  });

  it('ranks a multi-objective rung by non-dominated sorting', () => {
    const score = { name: 'score', direction: 'maximize' as const };
    const d = new StudyDriver(successiveHalving, { options: { eta: 3, n: 6, repeat: false }, objectives: [LOSS, score] });
    const rung = d.ask(6);
    // (loss, score): trials 0, 1 and 2 are on the first front; 3, 4 and 5 are dominated.
    const points = [
      [1, 0.2],
      [2, 0.5],
      [3, 0.9],
      [2.5, 0.4],
      [4, 0.1],
      [3.5, 0.8],
    ];
    for (const t of rung) d.complete(t.id, points[t.id]!);
    // floor(6/3) = 2 climb: the front's extremes (infinite crowding distance), trials 0 and 2.
    expect(d.ask(6).map((t) => t.parent?.id)).toEqual([0, 2]);
  });
});

describe('Hyperband', () => {
  it('runs the brackets of the formula, each a successive halving, charging what the formula says', () => {
    const d = new StudyDriver(hyperband, { options: { eta: 3, repeat: false } });
    const plans = hyperbandBrackets(1, 9, 3);
    expect(plans.map((p) => [p.n, p.rungs[0]])).toEqual([
      [9, 1],
      [5, 3],
      [3, 9],
    ]);
    // One worker: ask one, finish it, repeat (values: a fixed function of the config).
    for (let guard = 0; guard < 100 && !d.isDone(); guard++) {
      const [t] = d.ask(1);
      d.complete(t!.id, Number(t!.config.x));
    }
    expect(d.isDone()).toBe(true);
    const starts = (b: number) => d.trials.filter((t) => (t.meta as { bracket: number }).bracket === b && !t.parent);
    expect([0, 1, 2].map((b) => starts(b).map((t) => t.fidelity))).toEqual([Array(9).fill(1), Array(5).fill(3), Array(3).fill(9)]);
    expect(d.trials.length).toBe(9 + 3 + 1 + 5 + 1 + 3);
    expect(d.spentRounds()).toBe(plans.reduce((s, p) => s + bracketRounds(p, 3), 0));
    expect(d.spentRounds()).toBe(21 + 21 + 27);
  });

  it('starts the next bracket while the started ones wait, so parallel workers keep busy', () => {
    const d = new StudyDriver(hyperband, { options: { eta: 3, repeat: false } });
    const all = d.ask(20);
    expect(all.map((t) => t.fidelity)).toEqual([...Array(9).fill(1), ...Array(5).fill(3), ...Array(3).fill(9)]);
    // Bracket 1 ends first; its promotion comes before anything else.
    for (const t of all.filter((x) => (x.meta as { bracket: number }).bracket === 1)) d.complete(t.id, t.id);
    expect(d.ask(3).map((t) => [t.parent, t.fidelity])).toEqual([[{ id: 9, round: 3 }, 9]]);
  });
});
