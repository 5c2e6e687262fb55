// A test strategy whose suggestions depend on what it was told: it perturbs the best complete config so
// far (random until one completes). A resumed study only asks the same as an uninterrupted one if the
// strategy was restored from its snapshot AND told every trial that finished after it.
import type { JsonValue } from '../../src/engine/json.js';
import { type Config, fromUnit, toUnit } from '../../src/hpo/space.js';
import type { Strategy, StrategyContext, TrialRecord } from '../../src/hpo/strategy.js';

interface HillState {
  word: number;
  best: { config: Config; value: number } | null;
  told: number;
}

export default class HillClimb implements Strategy {
  readonly name = 'test-hill-climb';
  readonly multiObjective = false;
  private s: HillState;

  constructor(private readonly ctx: StrategyContext) {
    this.s = { word: ctx.seed >>> 0, best: null, told: 0 };
  }

  private next(): number {
    this.s.word = (Math.imul(this.s.word, 1664525) + 1013904223) >>> 0;
    return this.s.word / 2 ** 32;
  }

  ask(_study: unknown, n: number) {
    return Array.from({ length: n }, () => {
      const config = Object.fromEntries(
        [...this.ctx.space].map(([name, spec]) => {
          const u = this.s.best ? toUnit(spec, this.s.best.config[name]!) + (this.next() - 0.5) * 0.3 : this.next();
          return [name, fromUnit(spec, u)];
        }),
      );
      return { config, fidelity: this.ctx.fidelity.max, meta: { told: this.s.told } };
    });
  }

  tell(t: TrialRecord): void {
    this.s.told++;
    const v = t.values?.[0];
    if (t.status === 'complete' && v !== undefined && (!this.s.best || v < this.s.best.value)) this.s.best = { config: t.config, value: v };
  }

  isDone(): boolean {
    return false;
  }

  state(): JsonValue {
    return JSON.parse(JSON.stringify(this.s)) as JsonValue;
  }

  restore(state: JsonValue): void {
    this.s = JSON.parse(JSON.stringify(state)) as HillState;
  }
}
