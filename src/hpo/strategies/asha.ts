// ASHA (Li et al., MLSys 2020): asynchronous successive halving. Whenever asked, promote a trial that
// is in the top floor(ended/eta) of its rung so far and has not climbed yet (highest rung first, best
// first), continuing from its checkpoint; otherwise start a new config at the lowest rung. It never
// waits for a rung to fill, so parallel workers never idle. `ended` counts complete and pruned trials
// (pruned ones lose); failed and diverged ones neither count nor climb.
import { z } from 'zod';
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import { rungFidelities } from '../halving.js';
import { eta, parseOptions } from '../options.js';
import { paretoOrder } from '../pareto.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { configKey } from '../space.js';
import type { Strategy, StrategyContext, StrategyFactory, StudyView, Suggestion, TrialRecord } from '../strategy.js';
import { continuation, pendingRecord, readTag, rungEntries } from './rungs.js';
import { readState, rngFromJson, rngToJson } from './state.js';

export const ashaOptions = z.object({ eta });

export class Asha implements Strategy {
  readonly name = 'asha';
  readonly multiObjective = true;
  private readonly eta: number;
  private readonly rungs: number[];
  private rng: Rng;

  constructor(private readonly ctx: StrategyContext) {
    this.eta = parseOptions(ashaOptions, ctx.options, 'strategy asha').eta;
    this.rungs = rungFidelities(ctx.fidelity.min, ctx.fidelity.max, this.eta);
    this.rng = new Rng(ctx.seed).fork('asha');
  }

  /** This strategy's trials per rung, one entry per config. */
  private rungEntries(trials: readonly TrialRecord[]): Map<string, TrialRecord>[] {
    return this.rungs.map((_, k) =>
      rungEntries(
        this.ctx.space,
        trials.filter((t) => readTag(t.meta)?.rung === k && t.fidelity === this.rungs[k]),
      ),
    );
  }

  /** The best trial that has earned a promotion and not had it, from the highest rung down. */
  promotion(trials: readonly TrialRecord[]): Suggestion | undefined {
    const rungs = this.rungEntries(trials);
    for (let k = this.rungs.length - 2; k >= 0; k--) {
      const rung = [...rungs[k]!.values()];
      const ended = rung.filter((t) => t.status === 'complete' || t.status === 'pruned').length;
      const top = paretoOrder(
        this.ctx.objectives,
        rung.filter((t) => t.status === 'complete'),
      ).slice(0, Math.floor(ended / this.eta));
      const next = top.find((t) => !rungs[k + 1]!.has(configKey(this.ctx.space, t.config)));
      if (next) return continuation(next, this.rungs[k]!, this.rungs[k + 1]!, { rung: k + 1 });
    }
    return undefined;
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const trials = [...study.trials];
    const taken = triedKeys(study);
    const out: Suggestion[] = [];
    while (out.length < n) {
      let s = this.promotion(trials);
      if (!s) {
        const config = sampleUntried(this.ctx.space, this.rng, taken);
        if (!config) break;
        taken.add(configKey(this.ctx.space, config));
        s = { config, fidelity: this.rungs[0]!, meta: { rung: 0 } };
      }
      out.push(s);
      trials.push(pendingRecord(s, -1 - out.length));
    }
    return out;
  }

  tell(): void {}

  /** Done once the space is used up, nothing of ours runs (its result could earn a promotion) and no promotion is due. */
  isDone(study: StudyView): boolean {
    if (hasUntried(this.ctx.space, triedKeys(study))) return false;
    if (study.trials.some((t) => t.status === 'running' && readTag(t.meta) !== undefined)) return false;
    return this.promotion(study.trials) === undefined;
  }

  state(): JsonValue {
    return { rng: rngToJson(this.rng) };
  }

  restore(state: JsonValue): void {
    this.rng = rngFromJson(readState(state, 'asha').rng);
  }
}

export const asha: StrategyFactory = (ctx) => new Asha(ctx);
