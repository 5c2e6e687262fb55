// A minimal random search for the study machinery's tests (the real strategies live in src/hpo/strategies):
// uniform in the unit cube, mapped through the space; its whole state is one PRNG word, so state() /
// restore() make a resumed study ask exactly what the uninterrupted one would have. Suggestions never
// depend on results, so any order of finishing trials gives the same sequence of configs.
import type { JsonValue } from '../../src/engine/json.js';
import { fromUnit } from '../../src/hpo/space.js';
import type { Strategy, StrategyContext, StudyView, Suggestion } from '../../src/hpo/strategy.js';

export default function randomStrategy(ctx: StrategyContext): Strategy {
  let word = (ctx.seed * 0x9e3779b1 + 0x6d2b79f5) >>> 0;
  const next = (): number => {
    // mulberry32
    word = (word + 0x6d2b79f5) >>> 0;
    let t = word;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const fidelity = typeof ctx.options.fidelity === 'number' ? ctx.options.fidelity : ctx.fidelity.max;
  return {
    name: 'test-random',
    multiObjective: true,
    ask(_study: StudyView, n: number): Suggestion[] {
      return Array.from({ length: n }, () => ({
        config: Object.fromEntries([...ctx.space].map(([name, spec]) => [name, fromUnit(spec, next())])),
        fidelity,
      }));
    },
    tell() {},
    isDone: () => false,
    state: (): JsonValue => ({ word }),
    restore(state: JsonValue) {
      word = (state as { word: number }).word;
    },
  };
}
