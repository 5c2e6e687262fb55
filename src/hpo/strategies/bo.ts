// Bayesian optimisation with a Gaussian process, as mature tools do it (Optuna's GPSampler, BoTorch):
// inputs in the unit cube, a Matérn-5/2 GP refitted by marginal likelihood before every model-based
// ask, log expected improvement maximised over legal values. Batches use a constant liar, several
// objectives a fresh ParEGO weighting per suggestion. Everything random comes from one seeded stream
// whose position is the strategy's state, together with the last kernel fit (the next fit's warm
// start); the data is the study's trials, so a restored strategy suggests exactly what the original would.
import { z } from 'zod';
import type { JsonValue } from '../../engine/json.js';
import { Rng, type RngState } from '../../engine/rng.js';
import { fitHyperparams, type GpHyperparams, GpPosterior, logExpectedImprovement, maximizeAcquisition, standardize } from '../gp/index.js';
import { type Config, configKey } from '../space.js';
import type { Strategy, StrategyContext, StudyView, Suggestion, TrialRecord } from '../strategy.js';
import { UnitEncoding } from './bo-encoding.js';
import { collectObservations, gpTargets, type Observations } from './bo-observations.js';
import { simplexWeights } from './parego.js';

export const BoOptionsSchema = z
  .object({
    /** Random suggestions until this many trials have finished (default max(5, 2 x dims)). */
    startupTrials: z.number().int().nonnegative().optional(),
    /** Fit only to trials at the fidelity asked (fidelity.max); by default every trial's highest fidelity counts. */
    sameFidelityOnly: z.boolean().default(false),
    /** What pending points pretend to have returned, in a batch: the best, mean or worst target so far. */
    liar: z.enum(['min', 'mean', 'max']).default('mean'),
    /** Random candidates scored before local search. */
    candidates: z.number().int().positive().default(1024),
    /** Finite spaces up to this size are scored exhaustively instead. */
    enumerateUpTo: z.number().int().nonnegative().default(2048),
    /** Kernel hyperparameters are fitted on a random subset of at most this many trials. */
    maxFitPoints: z.number().int().min(10).default(150),
    /** ParEGO's augmentation weight. */
    paregoRho: z.number().nonnegative().default(0.05),
  })
  .strict();

export type BoOptions = z.infer<typeof BoOptionsSchema>;

interface BoState {
  readonly rng: RngState;
  readonly hyper: GpHyperparams | null;
  readonly options: BoOptions;
}

/** The GP of one scalarised target, with what EI needs. */
interface Model {
  gp: GpPosterior;
  /** Best posterior mean at an observed input (standardised), EI's incumbent. */
  best: number;
  /** Targets of the real observations (standardised), for the liar. */
  y: Float64Array;
  anchors: Float64Array[];
}

export class BayesianOptimization implements Strategy {
  readonly name = 'bo';
  readonly multiObjective = true;
  private readonly enc: UnitEncoding;
  private options: BoOptions;
  private rng: Rng;
  private hyper: GpHyperparams | undefined;
  /** Every input of a small finite space, enumerated once. */
  private pool: Float64Array[] | undefined;

  constructor(private readonly ctx: StrategyContext) {
    this.enc = new UnitEncoding(ctx.space);
    this.options = BoOptionsSchema.parse(ctx.options);
    this.rng = new Rng(ctx.seed).fork('bo');
  }

  private get startupTrials(): number {
    return this.options.startupTrials ?? Math.max(5, 2 * this.enc.dimension);
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const fidelity = study.fidelity.max;
    const taken = new Set(study.trials.filter((t) => t.fidelity === fidelity).map((t) => configKey(study.space, t.config)));
    const obs = collectObservations(study, this.enc, this.options.sameFidelityOnly ? fidelity : undefined);
    const out: Suggestion[] = [];
    const useModel = obs.completeCount > 0 && obs.X.length >= this.startupTrials;
    let single: Model | undefined;
    const picks: Float64Array[] = [];
    for (let i = 0; i < n && taken.size < this.enc.size; i++) {
      let config: Config | undefined;
      if (useModel) {
        const model =
          study.objectives.length === 1
            ? (single ??= this.fit(obs, [1]))
            : this.fit(obs, simplexWeights(study.objectives.length, this.rng));
        config = this.propose(model, [...obs.pending, ...picks], taken);
      }
      const by = config ? 'model' : 'startup';
      config ??= this.randomUntaken(taken);
      if (!config) break;
      taken.add(configKey(study.space, config));
      picks.push(this.enc.encode(config));
      out.push({ config, fidelity, meta: { by } });
    }
    return out;
  }

  tell(_trial: TrialRecord, _study: StudyView): void {
    // Nothing to keep: every ask reads the observations from the study's trials.
  }

  isDone(study: StudyView): boolean {
    if (!Number.isFinite(this.enc.size)) return false;
    const fidelity = study.fidelity.max;
    const tried = new Set(study.trials.filter((t) => t.fidelity === fidelity).map((t) => configKey(study.space, t.config)));
    return tried.size >= this.enc.size;
  }

  state(): JsonValue {
    const s: BoState = { rng: this.rng.state(), hyper: this.hyper ?? null, options: this.options };
    return JSON.parse(JSON.stringify(s)) as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = BoStateSchema.parse(state);
    this.rng = Rng.fromState(s.rng);
    this.options = BoOptionsSchema.parse(s.options);
    this.hyper = s.hyper && s.hyper.logLengthscales.length === this.enc.dimension ? s.hyper : undefined;
  }

  /** Fit the GP to one scalarisation of the observations (hyperparameters warm-started from the last fit). */
  private fit(obs: Observations, weights: readonly number[]): Model {
    const targets = gpTargets(obs, weights, this.options.paregoRho)!;
    const s = standardize(targets);
    const warm = this.hyper;
    const result = fitHyperparams(obs.X, s.values, this.enc.gpInputs, {
      rng: this.rng,
      warmStart: warm,
      // Cold: the prior's centre and two random starts; warm: the last optimum, refined briefly.
      randomStarts: warm ? (obs.X.length <= 100 ? 1 : 0) : 2,
      maxIterations: warm ? 25 : 60,
      maxPoints: this.options.maxFitPoints,
    });
    this.hyper = result.hyper;
    const gp = GpPosterior.fit(obs.X, s.values, result.hyper, this.enc.gpInputs);
    const means = gp.trainingMeans();
    const order = Array.from(means.keys()).sort((a, b) => means[a]! - means[b]! || a - b);
    return { gp, best: means[order[0]!]!, y: s.values, anchors: order.slice(0, 5).map((i) => obs.X[i]!) };
  }

  /** The untaken config maximising log EI, with the pending points conditioned on as constant lies. */
  private propose(model: Model, pending: readonly Float64Array[], taken: ReadonlySet<string>): Config | undefined {
    let gp = model.gp;
    const lie = this.lieValue(model.y);
    for (const x of pending) gp = gp.withObservation(x, lie);
    const isTaken = (x: Float64Array) => taken.has(configKey(this.ctx.space, this.enc.decode(x)));
    const finite = this.enc.size <= this.options.enumerateUpTo;
    const best = maximizeAcquisition({
      dims: this.enc.dims,
      rng: this.rng,
      isTaken,
      pool: finite ? (this.pool ??= this.enc.enumerate()) : undefined,
      anchors: model.anchors,
      randomCandidates: this.options.candidates,
      score: (xs) => {
        const p = gp.predict(xs);
        return p.mean.map((m, i) => logExpectedImprovement(m, p.variance[i]!, model.best));
      },
    });
    return best ? this.enc.decode(best.x) : undefined;
  }

  private lieValue(y: Float64Array): number {
    if (this.options.liar === 'mean') return y.reduce((a, b) => a + b, 0) / y.length;
    return this.options.liar === 'min' ? Math.min(...y) : Math.max(...y);
  }

  /** A random config not yet taken; undefined when a finite space has none left. */
  private randomUntaken(taken: ReadonlySet<string>): Config | undefined {
    for (let tries = 0; tries < 200; tries++) {
      const c = this.enc.sample(this.rng);
      if (!taken.has(configKey(this.ctx.space, c))) return c;
    }
    if (!Number.isFinite(this.enc.size) || this.enc.size > 1e6) return undefined;
    const left = this.enc
      .enumerate()
      .map((x) => this.enc.decode(x))
      .filter((c) => !taken.has(configKey(this.ctx.space, c)));
    return left.length ? left[this.rng.int(left.length)] : undefined;
  }
}

const BoStateSchema = z.object({
  rng: z.object({ s: z.array(z.number()), key: z.array(z.number()), spare: z.number().nullable() }),
  hyper: z.object({ logLengthscales: z.array(z.number()), logSignalVar: z.number(), logNoiseVar: z.number() }).nullable(),
  options: z.unknown(),
});

export const createBo = (ctx: StrategyContext): Strategy => new BayesianOptimization(ctx);
