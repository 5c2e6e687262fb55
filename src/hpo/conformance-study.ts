// The simulated studies the conformance suite drives a strategy through: a scheduler in miniature
// (ask for free worker slots, register suggestions as running trials, end one trial at a time in a
// seeded order, tell) over a cheap deterministic objective. Outcomes (failed, diverged, pruned) are
// a function of (config, fidelity), so a config that failed fails again: a strategy that keeps
// re-suggesting it is caught. Every suggestion is checked as it is made; problems are collected.
import { Rng } from '../engine/rng.js';
import { type Config, checkConfig, configKey, type SearchSpace, spaceSize, toUnit } from './space.js';
import { checkStrategyShape } from './plugin.js';
import type { FidelityRange, Objective, Strategy, StrategyContext, StudyView, Suggestion, TrialRecord, TrialStatus } from './strategy.js';
import { reachedRound } from './strategy.js';
import type { JsonValue } from '../engine/json.js';
import { type ClientTaskReply, type ClientTaskRequest, usesClientTasks } from './client-task.js';
import { checkClientTaskResult, planClientTask } from './client-tasks/registry.js';
import { SyntheticLocalObjective } from './client-tasks/synthetic-objective.js';

export type ConformanceCheck =
  | 'no-crash'
  | 'in-space'
  | 'ask-count'
  | 'parent'
  | 'no-duplicates'
  | 'failed-not-repeated'
  | 'view-unchanged'
  | 'json-state'
  | 'no-stall'
  | 'done-means-done'
  | 'deterministic'
  | 'seed-sensitive'
  | 'state-round-trip'
  | 'exhausts'
  | 'multi-objective';

export interface Problem {
  readonly check: ConformanceCheck;
  readonly message: string;
}

export interface SimSetup {
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  readonly seed: number;
  readonly options: Readonly<Record<string, JsonValue>>;
  /** Parallel trials: the simulator asks for the free slots. */
  readonly workers: number;
  /** Stop after this many trials (a study's budget). */
  readonly maxTrials: number;
  /** `mixed`: some trials fail, diverge or are pruned; `all-fail`: every trial fails or diverges. */
  readonly outcomes: 'mixed' | 'all-fail';
  /** Every this many asks, carry the strategy over into a fresh instance through JSON state. */
  readonly swapEvery?: number;
  /** Configs the study runs at full fidelity before the strategy's first ask (a study's enqueued configs). */
  readonly enqueued?: readonly Config[];
}

export interface SimResult {
  /** Each ask's suggestions and each isDone answer, as JSON text: equal traces, equal behaviour. */
  readonly trace: string[];
  readonly trials: readonly TrialRecord[];
  /** The strategy said it was done (rather than the simulation running out of trials or failing). */
  readonly finished: boolean;
  /** The simulation ended early: the strategy threw, stalled or could not be carried over. */
  readonly aborted: boolean;
  readonly problems: Problem[];
}

/** FNV-1a of a string, as a fraction in [0, 1): a fixed pseudo-random outcome per (config, fidelity). */
function hashUnit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** The objectives of `config` after `round` rounds: a bowl in the unit cube that improves with rounds. */
function objectiveValues(space: SearchSpace, objectives: readonly Objective[], config: TrialRecord['config'], round: number): number[] {
  const u = [...space].map(([name, p]) => toUnit(p, config[name]!));
  const mean = (f: (x: number, d: number) => number) => u.reduce((s, x, d) => s + f(x, d), 0) / u.length;
  const loss = mean((x, d) => (x - (d % 2 ? 0.7 : 0.3)) ** 2) + 0.5 / round;
  const score = 1 - mean((x) => Math.abs(x - 0.8)) - 0.2 / round; // conflicts with the loss
  return objectives.map((_, i) => (i === 0 ? loss : i === 1 ? score : loss + i * score));
}

interface Outcome {
  readonly status: Exclude<TrialStatus, 'running'>;
  /** The last round trained. */
  readonly end: number;
}

function outcomeOf(setup: SimSetup, key: string, start: number, fidelity: number): Outcome {
  const h = hashUnit(`${key}@${fidelity}`);
  const half = start + Math.max(1, Math.floor((fidelity - start) / 2));
  if (setup.outcomes === 'all-fail') return { status: h < 0.5 ? 'failed' : 'diverged', end: half };
  if (h < 0.08) return { status: 'failed', end: half };
  if (h < 0.13) return { status: 'diverged', end: half };
  if (h < 0.25 && fidelity - start >= 2) return { status: 'pruned', end: half };
  return { status: 'complete', end: fidelity };
}

/** A trial ended as the simulated federation would report it. */
function endTrial(setup: SimSetup, t: TrialRecord): TrialRecord {
  const start = t.parent?.round ?? 0;
  const { status, end } = outcomeOf(setup, configKey(setup.space, t.config), start, t.fidelity);
  const curve = [];
  for (let r = start + 1; r <= end; r++) curve.push({ round: r, value: objectiveValues(setup.space, setup.objectives, t.config, r)[0]! });
  if (status === 'diverged') curve[curve.length - 1] = { round: end, value: Number.NaN };
  const values = status === 'complete' || status === 'pruned' ? objectiveValues(setup.space, setup.objectives, t.config, end) : undefined;
  const reason = status === 'failed' ? 'simulated failure' : status === 'diverged' ? 'loss is NaN' : undefined;
  return { ...t, status, curve, rounds: end - start, ...(values && { values }), ...(reason && { reason }) };
}

/** Anything but null, booleans, finite numbers, strings, arrays and plain objects of those: the path to it. */
export function notPlainJson(v: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value: v, path: 'state' }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value === 'boolean' || typeof value === 'string') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `${path} is ${value}`;
      continue;
    }
    if (typeof value !== 'object') return `${path} is ${value === undefined ? 'undefined' : `a ${typeof value}`}`;
    const proto = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null)
      return `${path} is a ${proto?.constructor?.name ?? 'class instance'}`;
    for (const [k, child] of Object.entries(value))
      stack.push({ value: child, path: Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}` });
  }
  return undefined;
}

/** The view as text, to see whether a call changed it. */
function snapshot(view: StudyView): string {
  return JSON.stringify([[...view.space], view.objectives, view.fidelity, view.trials, view.budget.spentRounds]);
}

/** Drives one fresh strategy from `factory` through the study `setup` describes. */
export function simulateStudy(factory: (ctx: StrategyContext) => unknown, setup: SimSetup): SimResult {
  const problems: Problem[] = [];
  const trace: string[] = [];
  const trials: TrialRecord[] = [];
  const problem = (check: ConformanceCheck, message: string) => void problems.push({ check, message });
  const ctx: StrategyContext = {
    space: setup.space,
    objectives: setup.objectives,
    fidelity: setup.fidelity,
    seed: setup.seed,
    options: setup.options,
  };
  const finite = spaceSize(setup.space) < Number.POSITIVE_INFINITY;
  const order = new Rng(0x5111).fork('completion-order'); // the same for every strategy and seed
  const view = (): StudyView => ({
    space: setup.space,
    objectives: setup.objectives,
    fidelity: setup.fidelity,
    trials: [...trials],
    budget: { spentRounds: trials.reduce((s, t) => s + t.rounds, 0), maxRounds: Number.POSITIVE_INFINITY },
  });
  /** Calls into the strategy; a throw is a problem that ends the simulation. */
  const call = <T>(what: string, f: () => T, check: ConformanceCheck = 'no-crash'): T => {
    try {
      return f();
    } catch (e) {
      problem(check, `${what} threw: ${(e as Error)?.message ?? String(e)}`);
      throw new SimAbort();
    }
  };
  /** A call that must leave the view as it found it. */
  const readOnly = <T>(what: string, v: StudyView, f: () => T): T => {
    const before = snapshot(v);
    const result = call(what, f);
    if (snapshot(v) !== before) problem('view-unchanged', `${what} changed the study view it was given`);
    return result;
  };

  const pairs = new Map<string, { suggested: number; failed: number; againAfterFailure: number }>();
  const checkSuggestion = (s: Suggestion, v: StudyView, where: string): void => {
    const label = `${where}: ${JSON.stringify(s.config)} at ${s.fidelity}`;
    try {
      checkConfig(setup.space, s.config, 'suggestion');
    } catch (e) {
      problem('in-space', `${where}: ${(e as Error).message}`);
    }
    if (!Number.isInteger(s.fidelity) || s.fidelity < setup.fidelity.min || s.fidelity > setup.fidelity.max)
      problem(
        'in-space',
        `${label}: fidelity ${s.fidelity} is not a whole number of rounds in [${setup.fidelity.min}, ${setup.fidelity.max}]`,
      );
    const meta = notPlainJson(s.meta ?? null);
    if (meta) problem('in-space', `${label}: meta is not plain JSON (${meta.replace(/^state/, 'meta')})`);
    if (s.parent) {
      const parent = v.trials.find((t) => t.id === s.parent!.id);
      const reached = parent && reachedRound(parent);
      if (!parent) problem('parent', `${label}: continues trial ${s.parent.id}, which the study does not have`);
      else if (reached === undefined)
        problem('parent', `${label}: continues trial ${parent.id}, which is ${parent.status} (no checkpoint)`);
      else if (s.parent.round > reached)
        problem('parent', `${label}: continues trial ${parent.id} from round ${s.parent.round}, but it reached ${reached}`);
      if (!(s.parent.round < s.fidelity)) problem('parent', `${label}: continues from round ${s.parent.round}, not below its fidelity`);
    }
    const pair = `${configKey(setup.space, s.config)}@${s.fidelity}`;
    const seen = pairs.get(pair) ?? { suggested: 0, failed: 0, againAfterFailure: 0 };
    if (finite && seen.suggested > 0) problem('no-duplicates', `${label}: suggested again in a finite space`);
    if (seen.failed > 0 && ++seen.againAfterFailure > 1)
      problem('failed-not-repeated', `${label}: suggested ${seen.againAfterFailure} times after it failed`);
    seen.suggested++;
    pairs.set(pair, seen);
  };

  let strategy: Strategy | undefined;
  let finished = false;
  try {
    strategy = call('the factory', () => checkStrategyShape(factory(ctx), 'the factory'));
    for (const config of setup.enqueued ?? []) {
      const t = endTrial(setup, { id: trials.length, config, fidelity: setup.fidelity.max, status: 'running', rounds: 0 });
      trials.push(t);
      pairs.set(`${configKey(setup.space, config)}@${t.fidelity}`, {
        suggested: 1,
        failed: t.status === 'failed' || t.status === 'diverged' ? 1 : 0,
        againAfterFailure: 0,
      });
      const v = view();
      readOnly(`tell(enqueued trial ${t.id}, ${t.status})`, v, () => strategy!.tell(t, v));
    }
    const first = view();
    const zero = readOnly('ask(study, 0)', first, () => strategy!.ask(first, 0));
    if (!Array.isArray(zero) || zero.length) problem('ask-count', `ask(study, 0) returned ${JSON.stringify(zero)}, not []`);
    let asks = 0;
    let wasDone = false;
    const running: TrialRecord[] = [];
    for (let guard = 0; guard < 20 * setup.maxTrials + 100; guard++) {
      if (setup.swapEvery && asks > 0 && asks % setup.swapEvery === 0) strategy = carryOver(factory, ctx, strategy, problem);
      const state = call('state()', () => strategy!.state());
      const bad = notPlainJson(state);
      if (bad) problem('json-state', `state() is not plain JSON: ${bad}`);
      const v = view();
      const done = readOnly('isDone', v, () => strategy!.isDone(v));
      trace.push(`done ${done}`);
      if (wasDone && !done) problem('done-means-done', 'isDone went back from true to false');
      wasDone = done;
      if (done && !running.length) {
        const after = readOnly('ask after isDone', v, () => strategy!.ask(v, 1));
        if (after.length) problem('done-means-done', `ask after isDone returned ${after.length} suggestion(s)`);
        finished = true;
        break;
      }
      const free = Math.min(setup.workers - running.length, setup.maxTrials - trials.length);
      let asked = 0;
      if (free > 0 && !done && usesClientTasks(strategy)) {
        const s = strategy;
        const request = readOnly('clientTask', v, () => s.clientTask(v));
        if (request) {
          trace.push(`client task ${JSON.stringify(request)}`);
          const replies = call('the client task', () => simulateClientTask(setup, request));
          readOnly(`tellClientTask(${request.task})`, v, () => s.tellClientTask(request, replies, v));
        }
      }
      if (free > 0 && !done) {
        const where = `ask #${++asks} (n = ${free})`;
        const got = readOnly(where, v, () => strategy!.ask(v, free));
        if (!Array.isArray(got)) {
          problem('ask-count', `${where} returned ${typeof got}, not an array`);
          break;
        }
        if (got.length > free) problem('ask-count', `${where} returned ${got.length} suggestions`);
        trace.push(JSON.stringify(got));
        asked = got.length;
        for (const s of got) {
          checkSuggestion(s, v, where);
          const t: TrialRecord = {
            id: trials.length,
            config: s.config,
            fidelity: s.fidelity,
            status: 'running',
            rounds: 0,
            ...(s.parent && { parent: { id: s.parent.id, round: s.parent.round } }),
            ...(s.meta !== undefined && { meta: s.meta }),
          };
          trials.push(t);
          running.push(t);
        }
      }
      if (!running.length) {
        if (trials.length >= setup.maxTrials) break;
        if (!asked && !done) {
          problem('no-stall', `ask returned nothing with no trial running, yet isDone is false (after ${trials.length} trials)`);
          break;
        }
        continue;
      }
      const [next] = running.splice(order.int(running.length), 1);
      const ended = endTrial(setup, next!);
      trials[ended.id] = ended;
      if (ended.status === 'failed' || ended.status === 'diverged')
        pairs.get(`${configKey(setup.space, ended.config)}@${ended.fidelity}`)!.failed++;
      const after = view();
      readOnly(`tell(trial ${ended.id}, ${ended.status})`, after, () => strategy!.tell(ended, after));
    }
  } catch (e) {
    if (!(e instanceof SimAbort)) throw e;
  }
  const aborted = problems.some((p) => p.check === 'no-crash' || p.check === 'no-stall' || p.check === 'state-round-trip');
  return { trace, trials, finished, aborted, problems };
}

class SimAbort extends Error {}

/** Clients of the simulated federation: the synthetic objective with each client's optimum moved (different data). */
const SIM_CLIENTS = ['c0', 'c1', 'c2'];

/** Runs a client task on the simulated clients, as a federation's clients would (no transport). */
function simulateClientTask(setup: SimSetup, request: ClientTaskRequest): ClientTaskReply[] {
  return SIM_CLIENTS.map((client) => {
    const objective = new SyntheticLocalObjective(setup.space, { clientId: client, heterogeneity: 0.3, localStepsPerRound: 1 });
    const plan = planClientTask(request.task, request.args, client);
    let clientRounds = 0;
    const results = plan.trials.map((t) => {
      const e = objective.evaluateSync(t.config, t.rounds);
      clientRounds += e.clientRounds;
      return { ...t, loss: e.loss };
    });
    return { client, result: checkClientTaskResult(request.task, plan.finish(results)), localSteps: clientRounds, clientRounds };
  });
}

/** state() -> JSON text -> restore() into a fresh instance: what a resumed study does. */
function carryOver(
  factory: (ctx: StrategyContext) => unknown,
  ctx: StrategyContext,
  from: Strategy,
  problem: (check: ConformanceCheck, message: string) => void,
): Strategy {
  try {
    const text = JSON.stringify(from.state());
    const fresh = checkStrategyShape(factory(ctx), 'the factory');
    fresh.restore(JSON.parse(text) as JsonValue);
    if (JSON.stringify(fresh.state()) !== text) problem('state-round-trip', 'state() right after restore(s) is not s');
    return fresh;
  } catch (e) {
    problem('state-round-trip', `state() -> JSON -> restore() into a fresh instance threw: ${(e as Error)?.message ?? String(e)}`);
    throw new SimAbort();
  }
}
