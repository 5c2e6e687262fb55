// Random search: configs drawn uniformly (the unit cube, log dims in log space), every one at the full
// fidelity. In a finite space it draws without replacement and is done once every config has run.
import { z } from 'zod';
import { Rng } from '../../engine/rng.js';
import type { JsonValue } from '../../engine/json.js';
import { parseOptions } from '../options.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { configKey } from '../space.js';
import type { Strategy, StrategyContext, StrategyFactory, StudyView, Suggestion } from '../strategy.js';
import { readState, rngFromJson, rngToJson } from './state.js';

export const randomOptions = z.object({});

export class RandomSearch implements Strategy {
  readonly name = 'random';
  readonly multiObjective = true;
  private rng: Rng;

  constructor(private readonly ctx: StrategyContext) {
    parseOptions(randomOptions, ctx.options, 'strategy random');
    this.rng = new Rng(ctx.seed).fork('random');
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity);
    const out: Suggestion[] = [];
    while (out.length < n) {
      const config = sampleUntried(study.space, this.rng, taken);
      if (!config) break;
      taken.add(configKey(study.space, config));
      out.push({ config, fidelity });
    }
    return out;
  }

  tell(): void {}

  isDone(study: StudyView): boolean {
    return !hasUntried(study.space, triedKeys(study, this.ctx.fidelity.max));
  }

  state(): JsonValue {
    return { rng: rngToJson(this.rng) };
  }

  restore(state: JsonValue): void {
    this.rng = rngFromJson(readState(state, 'random').rng);
  }
}

export const randomSearch: StrategyFactory = (ctx) => new RandomSearch(ctx);
