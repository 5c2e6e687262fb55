// Parameter importance as the first-order terms of a functional ANOVA, estimated directly on binned
// marginals: for each hyperparameter, the share of the metric's variance explained by the mean of
// the metric in each of its bins (eta squared, the correlation ratio). Cheap and model-free; unlike
// fANOVA over a random forest it sees no interactions, and with few trials per bin it overstates a
// little (a bin of one trial "explains" that trial), so compare parameters rather than read it as a
// fraction of truth.
import { mean } from 'simple-statistics';
import { binParam, DEFAULT_MAX_BINS } from './param-bins.js';
import { completeTrials, metricValue, type StudyData } from './study-data.js';

export const IMPORTANCE_METHOD = 'main-effect variance share (eta², binned marginals)';

export interface ParamImportance {
  readonly param: string;
  readonly metric: string;
  /** Between-bin sum of squares / total sum of squares, in [0, 1]; 0 when the metric is constant. */
  readonly importance: number;
  /** Bins that held at least one trial. */
  readonly bins: number;
  readonly trials: number;
}

/** eta squared of `values` grouped by `groups` (same length). */
export function etaSquared(values: readonly number[], groups: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean([...values]);
  const total = values.reduce((s, v) => s + (v - m) ** 2, 0);
  if (total === 0) return 0;
  const byGroup = new Map<number, number[]>();
  for (const [i, v] of values.entries()) byGroup.set(groups[i]!, [...(byGroup.get(groups[i]!) ?? []), v]);
  const between = [...byGroup.values()].reduce((s, g) => s + g.length * (mean(g) - m) ** 2, 0);
  return between / total;
}

/** Importance of every hyperparameter of the space for `metric`, over complete trials, in space order. */
export function paramImportance(study: StudyData, metric: string, maxBins = DEFAULT_MAX_BINS): ParamImportance[] {
  const rows = completeTrials(study)
    .map((t) => ({ t, v: metricValue(study, t, metric) }))
    .filter((r): r is { t: (typeof r)['t']; v: number } => r.v !== undefined);
  return [...study.space].map(([param, spec]) => {
    const binning = binParam(
      param,
      spec,
      rows.map((r) => r.t.config[param]!),
      maxBins,
    );
    const inBins = rows.map((r) => ({ v: r.v, bin: binning.binOf(r.t.config[param]!) })).filter((r) => r.bin >= 0);
    return {
      param,
      metric,
      importance: etaSquared(
        inBins.map((r) => r.v),
        inBins.map((r) => r.bin),
      ),
      bins: new Set(inBins.map((r) => r.bin)).size,
      trials: inBins.length,
    };
  });
}
