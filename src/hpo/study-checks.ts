// What the scheduler checks before it journals: a strategy's suggestion (inside the space, a legal
// fidelity, a parent that can be continued) and a runner's result (objective values in study order; a
// "complete" result without finite objectives is a failed or diverged trial). Plug-in calls go through
// `guard`, so a broken strategy or pruner is reported by name instead of as a stray exception.
import type { CurvePoint, AskedTrial } from './journal-events.js';
import { checkConfig, SpaceError } from './space.js';
import type { Objective, Suggestion } from './strategy.js';
import { FINISHED, type StudyState } from './study-state.js';
import type { Metrics, TrialOutcome } from './trial-runner.js';

/** The strategy (or pruner) broke its contract: a bug in it, reported with its name; the journal stays resumable. */
export class StrategyError extends Error {
  override name = 'StrategyError';
}

/** Runs a plug-in's method; a throw becomes a StrategyError naming the plug-in and the method. */
export function guard<T>(plugin: { readonly name: string }, method: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof StrategyError) throw e;
    throw new StrategyError(`${plugin.name}.${method} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

/** A suggestion as the journaled trial `id`, after checking it against the space, the fidelity range and its parent. */
export function checkSuggestion(state: StudyState, strategy: string, sg: Suggestion, id: number): AskedTrial {
  const name = `strategy ${strategy}`;
  try {
    checkConfig(state.space, sg.config, `${name}: suggestion`);
  } catch (e) {
    if (e instanceof SpaceError) throw new StrategyError(e.message);
    throw e;
  }
  const { min, max } = state.fidelity;
  if (!Number.isInteger(sg.fidelity) || sg.fidelity < min || sg.fidelity > max)
    throw new StrategyError(`${name}: suggested fidelity ${sg.fidelity}, outside the study's [${min}, ${max}] rounds`);
  if (sg.parent) {
    const p = state.trials[sg.parent.id];
    const reached = p?.curve.at(-1)?.round ?? 0;
    if (!p?.checkpoint || !FINISHED.has(p.status) || sg.parent.round > reached || sg.parent.round >= sg.fidelity)
      throw new StrategyError(`${name}: cannot continue trial ${sg.parent.id} from round ${sg.parent.round} to ${sg.fidelity}`);
  }
  return {
    id,
    config: { ...sg.config },
    fidelity: sg.fidelity,
    ...(sg.parent ? { parent: { id: sg.parent.id, round: sg.parent.round } } : {}),
    ...(sg.meta !== undefined ? { meta: sg.meta } : {}),
  };
}

/** The journal fields of a result: objective values in study order; a complete result must have them all, finite. */
export function journaledResult(objectives: readonly Objective[], o: TrialOutcome) {
  const metrics = finiteOrNaN(o.metrics);
  const curve: CurvePoint[] = o.curve.map((p) => ({ round: p.round, metrics: finiteOrNaN(p.metrics) }));
  const values = objectives.map((ob) => metrics[ob.name]);
  let status = o.status;
  let reason = o.reason;
  const missing = objectives.find((_, i) => values[i] === undefined);
  const bad = objectives.find((_, i) => values[i] !== undefined && !Number.isFinite(values[i]!));
  if (status === 'complete' && missing) [status, reason] = ['failed', `reported no ${missing.name}`];
  else if (status === 'complete' && bad) [status, reason] = ['diverged', `${bad.name} is not finite`];
  const keep = (status === 'complete' || status === 'pruned') && !missing;
  return {
    status,
    ...(reason !== undefined ? { reason } : {}),
    ...(keep ? { values: values as number[] } : {}),
    metrics,
    curve,
    rounds: Math.max(0, Math.round(o.rounds)),
    costs: finiteOrNaN(o.costs),
    ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
  };
}

/** Metrics as numbers, NaN for anything non-finite (JSON writes those as null, and null reads back as NaN). */
export function finiteOrNaN(m: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
  return out;
}
