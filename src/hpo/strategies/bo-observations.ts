// What BO learns from a study: the finished trials as GP inputs with objective vectors (minimised),
// the running ones as pending points, and the one number per trial the GP is fitted to. Failed and
// diverged trials count as the worst value seen (the region is bad, and forgetting it would invite
// the same config again); pruned ones as their last value but no better than the median, since a
// pruner stopped them for looking worse than their peers.
import { configKey, type SearchSpace } from '../space.js';
import { minimizedValues, type StudyView, type TrialRecord } from '../strategy.js';
import type { UnitEncoding } from './bo-encoding.js';
import { augmentedTchebycheff } from './parego.js';

export type ObservationKind = 'complete' | 'pruned' | 'failed';

export interface Observations {
  readonly X: readonly Float64Array[];
  readonly kind: readonly ObservationKind[];
  /** Minimised objective values; undefined for failed trials (and pruned ones without values). */
  readonly values: readonly (readonly number[] | undefined)[];
  /** Inputs of running trials: they will be observed, so a batch should not pile onto them. */
  readonly pending: readonly Float64Array[];
  readonly completeCount: number;
}

const finiteValues = (study: StudyView, t: TrialRecord): number[] | undefined => {
  const v = minimizedValues(study.objectives, t);
  return v?.every(Number.isFinite) ? v : undefined;
};

/**
 * The study's trials as observations. Per config only its highest-fidelity finished trials count
 * (a longer run supersedes a shorter one); with `fidelity` given, only trials at that fidelity.
 */
export function collectObservations(study: StudyView, enc: UnitEncoding, fidelity?: number): Observations {
  const space: SearchSpace = study.space;
  const finished = study.trials.filter((t) => t.status !== 'running' && (fidelity === undefined || t.fidelity === fidelity));
  const topFidelity = new Map<string, number>();
  for (const t of finished) {
    const key = configKey(space, t.config);
    topFidelity.set(key, Math.max(topFidelity.get(key) ?? Number.NEGATIVE_INFINITY, t.fidelity));
  }
  const X: Float64Array[] = [];
  const kind: ObservationKind[] = [];
  const values: (number[] | undefined)[] = [];
  let completeCount = 0;
  for (const t of finished) {
    if (t.fidelity !== topFidelity.get(configKey(space, t.config))) continue;
    const v = finiteValues(study, t);
    const k: ObservationKind = t.status === 'complete' && v ? 'complete' : t.status === 'pruned' ? 'pruned' : 'failed';
    X.push(enc.encode(t.config));
    kind.push(k);
    values.push(k === 'failed' ? undefined : v);
    if (k === 'complete') completeCount++;
  }
  const pending = study.trials
    .filter((t) => t.status === 'running' && (fidelity === undefined || t.fidelity === fidelity))
    .map((t) => enc.encode(t.config));
  return { X, kind, values, pending, completeCount };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}

/**
 * One target per observation: the single objective, or the ParEGO scalarisation under `weights`;
 * failed and pruned trials imputed as described above. Undefined while nothing has completed.
 */
export function gpTargets(obs: Observations, weights: readonly number[], rho: number): Float64Array | undefined {
  if (!obs.completeCount) return undefined;
  const withValues = obs.values.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  const scalar =
    weights.length === 1
      ? withValues.map((i) => obs.values[i]![0]!)
      : [
          ...augmentedTchebycheff(
            withValues.map((i) => obs.values[i]!),
            weights,
            rho,
          ),
        ];
  const y = new Float64Array(obs.X.length);
  withValues.forEach((i, j) => {
    y[i] = scalar[j]!;
  });
  const complete = withValues.filter((i) => obs.kind[i] === 'complete').map((i) => y[i]!);
  const worst = Math.max(...complete);
  const mid = median(complete);
  for (let i = 0; i < y.length; i++) {
    if (obs.kind[i] === 'failed') y[i] = worst;
    else if (obs.kind[i] === 'pruned') y[i] = obs.values[i] ? Math.min(worst, Math.max(mid, y[i]!)) : worst;
  }
  return y;
}
