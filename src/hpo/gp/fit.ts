// Kernel hyperparameters by maximum a posteriori: L-BFGS on the log-parameters, from a warm start
// (the previous optimum) when there is one and from the prior's centre plus random draws when not.
// Above `maxPoints` observations the fit runs on a random subset: the likelihood's cost is cubic, and
// a few hundred points pin down a handful of lengthscales as well as all of them do.
import type { Rng } from '../../engine/rng.js';
import type { GpHyperparams, GpInputSpec } from './kernel.js';
import { minimizeLbfgs } from './lbfgs.js';
import { DEFAULT_PRIORS, FitData, fromTheta, type HyperPriors, type LogPrior, negativeLogPosterior } from './likelihood.js';

export interface FitOptions {
  /** Draws subsets and random starts. */
  readonly rng: Rng;
  /** The previous optimum: refits start there. */
  readonly warmStart?: GpHyperparams;
  /** Random starts drawn from the prior, besides the prior's centre (cold) or the warm start. */
  readonly randomStarts?: number;
  /** L-BFGS iterations per start. */
  readonly maxIterations?: number;
  /** Fit on a random subset of at most this many observations. */
  readonly maxPoints?: number;
  readonly priors?: HyperPriors;
}

export interface FitResult {
  readonly hyper: GpHyperparams;
  /** Log posterior (log marginal likelihood + log prior) of the subset fitted. */
  readonly logPosterior: number;
  readonly evaluations: number;
  readonly pointsUsed: number;
}

/** The prior's centre: the default hyperparameters for `d` input dims. */
export function priorCentre(d: number, priors: HyperPriors = DEFAULT_PRIORS): GpHyperparams {
  return {
    logLengthscales: Array.from({ length: d }, () => priors.logLengthscale.mean),
    logSignalVar: priors.logSignalVar.mean,
    logNoiseVar: priors.logNoiseVar.mean,
  };
}

function drawFromPrior(d: number, priors: HyperPriors, rng: Rng): GpHyperparams {
  // Half a prior sd: starts spread out, yet inside the region the data can move from.
  const draw = (p: LogPrior) => Math.min(p.high, Math.max(p.low, p.mean + 0.5 * p.std * rng.normal()));
  return {
    logLengthscales: Array.from({ length: d }, () => draw(priors.logLengthscale)),
    logSignalVar: draw(priors.logSignalVar),
    logNoiseVar: draw(priors.logNoiseVar),
  };
}

function subset(n: number, m: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, m).sort((a, b) => a - b);
}

export function fitHyperparams(X: readonly Float64Array[], y: ArrayLike<number>, spec: GpInputSpec, opts: FitOptions): FitResult {
  const priors = opts.priors ?? DEFAULT_PRIORS;
  const d = spec.categorical.length;
  const maxPoints = opts.maxPoints ?? 200;
  const keep = X.length > maxPoints ? subset(X.length, maxPoints, opts.rng) : undefined;
  const data = keep
    ? new FitData(
        keep.map((i) => X[i]!),
        Float64Array.from(keep, (i) => y[i]!),
        spec,
      )
    : new FitData(X, Float64Array.from(y), spec);
  const starts = [opts.warmStart ?? priorCentre(d, priors)];
  for (let s = 0; s < (opts.randomStarts ?? 0); s++) starts.push(drawFromPrior(d, priors, opts.rng));
  const objective = negativeLogPosterior(data, priors);
  let best: { theta: Float64Array; value: number } | undefined;
  let evaluations = 0;
  for (const start of starts) {
    const theta0 = [...start.logLengthscales, start.logSignalVar, start.logNoiseVar];
    // Loose tolerances: a log posterior within ~1e-4 of its maximum changes no suggestion.
    const r = minimizeLbfgs(objective, theta0, { maxIterations: opts.maxIterations ?? 50, gradTolerance: 1e-3, valueTolerance: 1e-6 });
    evaluations += r.evaluations;
    if (Number.isFinite(r.value) && (!best || r.value < best.value)) best = { theta: r.x, value: r.value };
  }
  if (!best) return { hyper: priorCentre(d, priors), logPosterior: Number.NEGATIVE_INFINITY, evaluations, pointsUsed: data.n };
  return { hyper: fromTheta(best.theta), logPosterior: -best.value, evaluations, pointsUsed: data.n };
}
