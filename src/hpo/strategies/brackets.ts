// Synchronous successive-halving brackets, the engine of both `sha` and `hyperband`. A bracket starts
// n new configs at its bottom rung; once every trial of a rung has ended, the best floor(size/eta)
// complete ones (at least one) continue from their checkpoints to the next rung, and the rest stop.
// Failed and diverged trials never climb; pruned ones count in the rung's size but lose. Progress is
// read from the study view through the tags {bracket, s, rung} on each suggestion; the state holds
// only the RNG and the number of brackets started.
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import { type BracketPlan, promotionCount } from '../halving.js';
import { paretoOrder } from '../pareto.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { configKey } from '../space.js';
import type { Strategy, StrategyContext, StudyView, Suggestion, TrialRecord } from '../strategy.js';
import { continuation, pendingRecord, readTag, rungEntries } from './rungs.js';
import { readCount, readState, rngFromJson, rngToJson } from './state.js';

export interface BracketSchedule {
  readonly name: string;
  readonly eta: number;
  /** Bracket kinds, used in turn: bracket i follows plans[i mod plans.length]. */
  readonly plans: readonly BracketPlan[];
  /** Start the plans over once they are all used (until the study's budget or the space runs out). */
  readonly repeat: boolean;
  /**
   * Start the next bracket while every started one waits for its running trials (Hyperband: brackets
   * are independent, so parallel workers need not idle). Off for plain successive halving, which waits.
   */
  readonly concurrent: boolean;
}

type Step = { kind: 'new' } | { kind: 'promote'; suggestion: Suggestion } | { kind: 'wait' } | { kind: 'finished' };

export class BracketStrategy implements Strategy {
  readonly multiObjective = true;
  readonly name: string;
  private rng: Rng;
  private started = 0;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly schedule: BracketSchedule,
  ) {
    this.name = schedule.name;
    this.rng = new Rng(ctx.seed).fork(schedule.name);
  }

  private plan(i: number): BracketPlan {
    return this.schedule.plans[i % this.schedule.plans.length]!;
  }

  private canStart(): boolean {
    return this.schedule.repeat || this.started < this.schedule.plans.length;
  }

  /** This strategy's trials by bracket index. */
  private byBracket(trials: Iterable<TrialRecord>): Map<number, TrialRecord[]> {
    const groups = new Map<number, TrialRecord[]>();
    for (const t of trials) {
      const tag = readTag(t.meta);
      if (tag?.bracket === undefined || tag.bracket >= this.started) continue;
      const group = groups.get(tag.bracket) ?? [];
      group.push(t);
      groups.set(tag.bracket, group);
    }
    return groups;
  }

  /** What bracket `i` does next, given its trials and whether the space has an untried config left. */
  private step(i: number, trials: readonly TrialRecord[], untried: boolean): Step {
    const plan = this.plan(i);
    const space = this.ctx.space;
    const rungs = plan.rungs.map((_, k) =>
      rungEntries(
        space,
        trials.filter((t) => readTag(t.meta)?.rung === k),
      ),
    );
    if (rungs[0]!.size < plan.n && untried) return { kind: 'new' };
    for (let k = 0; k < rungs.length; k++) {
      const rung = [...rungs[k]!.values()];
      if (rung.some((t) => t.status === 'running')) return { kind: 'wait' };
      if (k === rungs.length - 1) break;
      const ranked = paretoOrder(
        this.ctx.objectives,
        rung.filter((t) => t.status === 'complete'),
      );
      const promoted = ranked.slice(0, promotionCount(rung.length, this.schedule.eta));
      const missing = promoted.find((t) => !rungs[k + 1]!.has(configKey(space, t.config)));
      if (missing)
        return {
          kind: 'promote',
          suggestion: continuation(missing, plan.rungs[k]!, plan.rungs[k + 1]!, { bracket: i, s: plan.s, rung: k + 1 }),
        };
      if (!promoted.length) break;
    }
    return { kind: 'finished' };
  }

  private startConfig(i: number, taken: Set<string>): Suggestion | undefined {
    const config = sampleUntried(this.ctx.space, this.rng, taken);
    if (!config) return undefined;
    taken.add(configKey(this.ctx.space, config));
    const plan = this.plan(i);
    return { config, fidelity: plan.rungs[0]!, meta: { bracket: i, s: plan.s, rung: 0 } };
  }

  /** The next suggestion: the earliest bracket's promotion or new config first; a new bracket when all others wait or are done. */
  private next(trials: readonly TrialRecord[], taken: Set<string>): Suggestion | undefined {
    const groups = this.byBracket(trials);
    const untried = hasUntried(this.ctx.space, taken);
    for (let i = 0; i < this.started; i++) {
      const step = this.step(i, groups.get(i) ?? [], untried);
      if (step.kind === 'promote') return step.suggestion;
      if (step.kind === 'new') return this.startConfig(i, taken);
      if (step.kind === 'wait' && !this.schedule.concurrent) return undefined;
    }
    if (!untried || !this.canStart()) return undefined;
    const first = this.startConfig(this.started, taken);
    if (first) this.started++;
    return first;
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const trials = [...study.trials];
    const taken = triedKeys(study);
    const out: Suggestion[] = [];
    while (out.length < n) {
      const s = this.next(trials, taken);
      if (!s) break;
      out.push(s);
      trials.push(pendingRecord(s, -1 - out.length));
    }
    return out;
  }

  tell(): void {}

  isDone(study: StudyView): boolean {
    const taken = triedKeys(study);
    const untried = hasUntried(this.ctx.space, taken);
    const groups = this.byBracket(study.trials);
    for (let i = 0; i < this.started; i++) if (this.step(i, groups.get(i) ?? [], untried).kind !== 'finished') return false;
    return !untried || !this.canStart();
  }

  state(): JsonValue {
    return { rng: rngToJson(this.rng), started: this.started };
  }

  restore(state: JsonValue): void {
    const s = readState(state, this.name);
    this.rng = rngFromJson(s.rng);
    this.started = readCount(s.started, this.name, 'started');
  }
}
