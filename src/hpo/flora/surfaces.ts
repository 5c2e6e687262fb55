// FLoRA's loss surfaces (Zhou et al., ICLR 2023): the server gets each client's local HPO results,
// (config, loss) pairs, and fits a regression model of the loss over the space, then picks the config
// minimising it for one federated training. Four surfaces:
//   SGM    one model on every client's pairs pooled
//   SGM+U  the pooled model's mean plus kappa times its standard deviation (pessimistic)
//   MPLM   the maximum over per-client models' means (good for every client)
//   APLM   the average of per-client models' means
// The regressor is the GP of src/hpo/gp (Matérn-5/2, hyperparameters by marginal likelihood), fitted
// on standardised targets; predictions are mapped back to loss units so clients compare on one scale.
import type { Rng } from '../../engine/rng.js';
import { fitHyperparams, type GpInputSpec, GpPosterior, standardize } from '../gp/index.js';

export const FLORA_SURFACES = ['sgm', 'sgm+u', 'mplm', 'aplm'] as const;
export type FloraSurfaceKind = (typeof FLORA_SURFACES)[number];

/** One client's local HPO results: GP inputs (unit cube) and their losses. */
export interface ClientObservations {
  readonly X: readonly Float64Array[];
  readonly y: readonly number[];
}

/** A fitted GP with its targets' scale, predicting in loss units. */
export class LossModel {
  private constructor(
    private readonly gp: GpPosterior,
    private readonly mean: number,
    private readonly std: number,
  ) {}

  static fit(obs: ClientObservations, spec: GpInputSpec, rng: Rng): LossModel {
    if (!obs.X.length) throw new RangeError('FLoRA: a loss model needs at least one observation');
    const s = standardize(obs.y);
    const fit = fitHyperparams(obs.X, s.values, spec, { rng, randomStarts: 1, maxIterations: 60 });
    return new LossModel(GpPosterior.fit(obs.X, s.values, fit.hyper, spec), s.mean, s.std);
  }

  predict(xs: readonly Float64Array[]): { mean: Float64Array; sd: Float64Array } {
    const p = this.gp.predict(xs);
    return {
      mean: p.mean.map((m) => this.mean + this.std * m),
      sd: p.variance.map((v) => this.std * Math.sqrt(v)),
    };
  }
}

/** A loss surface over GP inputs: lower is better. */
export type LossSurface = (xs: readonly Float64Array[]) => Float64Array;

export interface SurfaceOptions {
  /** SGM+U's weight on the standard deviation. */
  readonly kappa?: number;
}

/** The surface `kind` fitted to the clients' observations (clients without observations are left out). */
export function fitSurface(
  kind: FloraSurfaceKind,
  clients: readonly ClientObservations[],
  spec: GpInputSpec,
  rng: Rng,
  options: SurfaceOptions = {},
): LossSurface {
  const withData = clients.filter((c) => c.X.length > 0);
  if (!withData.length) throw new RangeError('FLoRA: no client sent any observation');
  if (kind === 'sgm' || kind === 'sgm+u') {
    const pooled = LossModel.fit({ X: withData.flatMap((c) => c.X), y: withData.flatMap((c) => c.y) }, spec, rng);
    const kappa = kind === 'sgm+u' ? (options.kappa ?? 1) : 0;
    return (xs) => {
      const p = pooled.predict(xs);
      return p.mean.map((m, i) => m + kappa * p.sd[i]!);
    };
  }
  const models = withData.map((c) => LossModel.fit(c, spec, rng));
  return (xs) => {
    const means = models.map((m) => m.predict(xs).mean);
    return Float64Array.from(xs, (_, i) => {
      const v = means.map((m) => m[i]!);
      return kind === 'mplm' ? Math.max(...v) : v.reduce((a, b) => a + b, 0) / v.length;
    });
  };
}
