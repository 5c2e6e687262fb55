// The best of a study: among complete trials with finite objectives at the highest fidelity any complete
// trial reached (a low-fidelity trial is not comparable with a full one), the single best for one
// objective, the Pareto front (nothing else at least as good on every objective and better on one) for
// several, ordered by the first objective.
import { dominates } from './pareto.js';
import type { Objective } from './strategy.js';
import type { StudyTrial } from './study-state.js';

/** Objective values with "maximize" negated, so smaller is better everywhere. */
export function minimized(objectives: readonly Objective[], values: readonly number[]): number[] {
  return objectives.map((o, i) => (o.direction === 'minimize' ? values[i]! : -values[i]!));
}

/** The trials best.json is made of: one for a single objective, the Pareto front for several. */
export function bestTrials(objectives: readonly Objective[], trials: readonly StudyTrial[]): StudyTrial[] {
  const done = trials.filter((t) => t.status === 'complete' && t.values && t.values.every(Number.isFinite));
  if (!done.length) return [];
  const top = Math.max(...done.map((t) => t.fidelity));
  const pool = done.filter((t) => t.fidelity === top).map((t) => ({ t, v: minimized(objectives, t.values!) }));
  const front = objectives.length === 1 ? pool : pool.filter((a) => !pool.some((b) => dominates(b.v, a.v)));
  front.sort((a, b) => a.v[0]! - b.v[0]! || a.t.id - b.t.id);
  return objectives.length === 1 ? [front[0]!.t] : front.map((x) => x.t);
}
