// A hand-driven study for strategy unit tests: ask registers suggestions as running trials (as the
// scheduler does), and each trial is ended by hand with the value the test chooses. Rounds charged
// are what a continued trial really adds: fidelity (or the stop round) minus its parent's round.
import { parseSpace, type SearchSpace } from '../../src/hpo/space.js';
import type {
  FidelityRange,
  Objective,
  Strategy,
  StrategyContext,
  StrategyFactory,
  StudyView,
  TrialRecord,
} from '../../src/hpo/strategy.js';
import type { JsonValue } from '../../src/engine/json.js';

export const LOSS: Objective = { name: 'val_loss', direction: 'minimize' };

export interface DriverSetup {
  space?: SearchSpace;
  objectives?: Objective[];
  fidelity?: FidelityRange;
  seed?: number;
  options?: Record<string, JsonValue>;
}

export class StudyDriver {
  readonly trials: TrialRecord[] = [];
  readonly strategy: Strategy;
  readonly ctx: StrategyContext;

  constructor(factory: StrategyFactory, setup: DriverSetup = {}) {
    this.ctx = {
      space: setup.space ?? parseSpace({ x: { type: 'float', low: 0, high: 1 } }),
      objectives: setup.objectives ?? [LOSS],
      fidelity: setup.fidelity ?? { min: 1, max: 9 },
      seed: setup.seed ?? 0,
      options: setup.options ?? {},
    };
    this.strategy = factory(this.ctx);
  }

  view(): StudyView {
    const { space, objectives, fidelity } = this.ctx;
    return {
      space,
      objectives,
      fidelity,
      trials: [...this.trials],
      budget: { spentRounds: this.spentRounds(), maxRounds: Number.POSITIVE_INFINITY },
    };
  }

  spentRounds(): number {
    return this.trials.reduce((s, t) => s + t.rounds, 0);
  }

  /** Asks for n and registers what comes back as running trials. */
  ask(n: number): TrialRecord[] {
    return this.strategy.ask(this.view(), n).map((s) => {
      const t: TrialRecord = {
        id: this.trials.length,
        config: s.config,
        fidelity: s.fidelity,
        status: 'running',
        rounds: 0,
        ...(s.parent && { parent: s.parent }),
        ...(s.meta !== undefined && { meta: s.meta }),
      };
      this.trials.push(t);
      return t;
    });
  }

  private end(id: number, patch: Partial<TrialRecord>, lastRound: number): TrialRecord {
    const t = this.trials[id]!;
    if (t.status !== 'running') throw new Error(`trial ${id} is ${t.status}`);
    const start = t.parent?.round ?? 0;
    const ended: TrialRecord = { ...t, rounds: lastRound - start, ...patch };
    this.trials[id] = ended;
    this.strategy.tell(ended, this.view());
    return ended;
  }

  /** Complete with these objective values (one number: the first objective); the curve ends at the value. */
  complete(id: number, values: number | number[]): TrialRecord {
    const v = typeof values === 'number' ? [values] : values;
    const t = this.trials[id]!;
    return this.end(id, { status: 'complete', values: v, curve: [{ round: t.fidelity, value: v[0]! }] }, t.fidelity);
  }

  fail(id: number, status: 'failed' | 'diverged' = 'failed'): TrialRecord {
    const t = this.trials[id]!;
    return this.end(id, { status, reason: 'test' }, (t.parent?.round ?? 0) + 1);
  }

  prune(id: number, round: number, value: number): TrialRecord {
    return this.end(id, { status: 'pruned', values: [value], curve: [{ round, value }] }, round);
  }

  isDone(): boolean {
    return this.strategy.isDone(this.view());
  }
}
