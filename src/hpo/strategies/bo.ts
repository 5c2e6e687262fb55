// Bayesian optimisation with a Gaussian process, as mature tools do it (Optuna's GPSampler, BoTorch):
// inputs in the unit cube, a Matérn-5/2 GP refitted by marginal likelihood before every model-based
// ask, log expected improvement maximised over legal values. Batches use a constant liar, several
// objectives a fresh ParEGO weighting per suggestion. Everything random comes from one seeded stream
// whose position is the strategy's state, together with the last kernel fit (the next fit's warm
// start); the data is the study's trials, so a restored strategy suggests exactly what the original would.
import { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import { fitHyperparams, type GpHyperparams, GpPosterior, logExpectedImprovement, maximizeAcquisition, standardize } from '../gp/index.js';
import { parseOptions } from '../options.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { type Config, configKey } from '../space.js';
import type { Strategy, StrategyContext, StrategyFactory, StudyView, Suggestion } from '../strategy.js';
import { UnitEncoding } from './bo-encoding.js';
import { collectObservations, gpTargets, type Observations } from './bo-observations.js';
import { simplexWeights } from './parego.js';
import { readState, rngFromJson, rngToJson } from './state.js';

export const boOptions = z.object({
  startupTrials: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('random suggestions until this many trials have ended (default max(5, 2 x dims))'),
  sameFidelityOnly: z
    .boolean()
    .default(false)
    .describe("fit only trials at the fidelity asked (max); by default each config's highest-fidelity trial counts"),
  liar: z
    .enum(['min', 'mean', 'max'])
    .default('mean')
    .describe('value pending trials pretend to have in a batch: best, mean or worst so far'),
  candidates: z.number().int().positive().default(1024).describe('random candidates scored before the local search'),
  enumerateUpTo: z.number().int().nonnegative().default(2048).describe('finite spaces up to this size are scored exhaustively'),
  maxFitPoints: z
    .number()
    .int()
    .min(10)
    .default(150)
    .describe('kernel hyperparameters are fitted on a random subset of at most this many trials'),
  paregoRho: z.number().nonnegative().default(0.05).describe("ParEGO's augmentation weight (several objectives)"),
});

export type BoOptions = z.output<typeof boOptions>;

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
    this.options = parseOptions(boOptions, ctx.options, 'strategy bo');
    this.rng = new Rng(ctx.seed).fork('bo');
  }

  private get startupTrials(): number {
    return this.options.startupTrials ?? Math.max(5, 2 * this.enc.dimension);
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity);
    // The same, as GP inputs: what the acquisition search checks its thousands of candidates against.
    const takenInputs = new Set(study.trials.filter((t) => t.fidelity === fidelity).map((t) => inputKey(this.enc.encode(t.config))));
    const obs = collectObservations(study, this.enc, this.options.sameFidelityOnly ? fidelity : undefined);
    const out: Suggestion[] = [];
    const useModel = obs.completeCount > 0 && obs.X.length >= this.startupTrials;
    let single: Model | undefined;
    const picks: Float64Array[] = [];
    for (let i = 0; i < n && hasUntried(study.space, taken); i++) {
      let config: Config | undefined;
      if (useModel) {
        const model =
          study.objectives.length === 1
            ? (single ??= this.fit(obs, [1]))
            : this.fit(obs, simplexWeights(study.objectives.length, this.rng));
        config = this.propose(model, [...obs.pending, ...picks], takenInputs);
        // A continuous-coded dim (a huge int range) can snap onto a tried config: then draw at random.
        if (config && taken.has(configKey(study.space, config))) config = undefined;
      }
      const by = config ? 'model' : 'random';
      config ??= sampleUntried(study.space, this.rng, taken);
      if (!config) break;
      taken.add(configKey(study.space, config));
      picks.push(this.enc.encode(config));
      takenInputs.add(inputKey(picks.at(-1)!));
      out.push({ config, fidelity, meta: { by } });
    }
    return out;
  }

  /** Nothing to keep: every ask reads the observations from the study's trials. */
  tell(): void {}

  isDone(study: StudyView): boolean {
    return !hasUntried(study.space, triedKeys(study, this.ctx.fidelity.max));
  }

  state(): JsonValue {
    const hyper = this.hyper
      ? { logLengthscales: [...this.hyper.logLengthscales], logSignalVar: this.hyper.logSignalVar, logNoiseVar: this.hyper.logNoiseVar }
      : null;
    return { rng: rngToJson(this.rng), hyper, options: JSON.parse(JSON.stringify(this.options)) as JsonValue };
  }

  restore(state: JsonValue): void {
    const s = readState(state, 'bo');
    this.rng = rngFromJson(s.rng);
    this.options = parseOptions(boOptions, s.options, 'strategy bo (state)');
    this.hyper = readHyper(s.hyper, this.enc.dimension);
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
  private propose(model: Model, pending: readonly Float64Array[], takenInputs: ReadonlySet<string>): Config | undefined {
    let gp = model.gp;
    const lie = this.lieValue(model.y);
    for (const x of pending) gp = gp.withObservation(x, lie);
    const isTaken = (x: Float64Array) => takenInputs.has(inputKey(x));
    // A prediction costs ~n^2/2 multiply-adds (the triangular solve): beyond 250 observations the
    // search (and the largest space scored exhaustively) shrinks as 1/n^2, so an ask at 500
    // observations stays well under a second.
    const scale = Math.min(1, (250 / gp.size) ** 2);
    const enumerateUpTo = this.options.enumerateUpTo;
    const finite = this.enc.size <= Math.min(enumerateUpTo, Math.max(256, enumerateUpTo * scale));
    const best = maximizeAcquisition({
      dims: this.enc.dims,
      rng: this.rng,
      isTaken,
      pool: finite ? (this.pool ??= this.enc.enumerate()) : undefined,
      anchors: model.anchors,
      randomCandidates: Math.max(256, Math.round(this.options.candidates * scale)),
      anchorCandidates: Math.max(64, Math.round(256 * scale)),
      localEvaluations: Math.max(40, Math.round((60 + 20 * this.enc.dimension) * scale)),
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
}

const inputKey = (x: Float64Array): string => x.join(',');

/** The warm start saved in a state: null, or hyperparameters for `d` dims (anything else is refused). */
function readHyper(value: JsonValue | undefined, d: number): GpHyperparams | undefined {
  if (value === null || value === undefined) return undefined;
  const r = z
    .object({ logLengthscales: z.array(z.number()).length(d), logSignalVar: z.number(), logNoiseVar: z.number() })
    .safeParse(value);
  if (!r.success) throw new UserError('strategy bo: malformed state (hyper)');
  return r.data;
}

export const bayesianOptimization: StrategyFactory = (ctx) => new BayesianOptimization(ctx);
