// FTS's client task `fts.weights`: the client scores the configs tried so far on its own data (local
// trials, cached between iterations), standardises its losses, fits a Bayesian linear regression on
// the shared random Fourier features of those configs and replies with ONE posterior sample of the
// weight vector. The losses themselves never leave the client.
import { z } from 'zod';
import { Rng } from '../../engine/rng.js';
import { BayesianLinearRegression, RandomFourierFeatures } from '../fts/index.js';
import { standardize } from '../gp/index.js';
import { type Config, parseSpace, type SearchSpace, toUnit } from '../space.js';
import type { ClientTask } from './task.js';

const paramValue = z.union([z.number(), z.string(), z.boolean()]);

export const FtsWeightsArgs = z
  .object({
    /** The study's space as written in its config (parsed again on the client). */
    space: z.record(z.string(), z.json()),
    seed: z.number().int().refine(Number.isSafeInteger, 'must be a safe integer'),
    /** The FTS iteration (seeds this sample). */
    iteration: z.number().int().min(1),
    features: z.number().int().min(1).max(4096),
    lengthscale: z.number().positive(),
    /** Observation noise variance of the regression (on standardised losses). */
    noise: z.number().positive(),
    /** Local rounds each config is trained for. */
    rounds: z.number().int().min(1).max(10_000),
    configs: z.array(z.record(z.string(), paramValue)).max(10_000),
  })
  .strict();
export type FtsWeightsArgs = z.infer<typeof FtsWeightsArgs>;

export const FtsWeightsResult = z
  .object({ weights: z.array(z.number().refine(Number.isFinite, 'must be finite')).min(1).max(4096) })
  .strict();
export type FtsWeightsResult = z.infer<typeof FtsWeightsResult>;

/** A config as a point of the unit cube (toUnit per dim, in space order): the RFF input. */
export function unitPoint(space: SearchSpace, config: Config): Float64Array {
  return Float64Array.from([...space], ([name, p]) => toUnit(p, config[name]!));
}

/** The shared features every agent of an FTS study builds from the same settings. */
export function sharedFeatures(space: SearchSpace, a: Pick<FtsWeightsArgs, 'seed' | 'features' | 'lengthscale'>): RandomFourierFeatures {
  return new RandomFourierFeatures({ features: a.features, dimension: space.size, lengthscale: a.lengthscale, seed: a.seed });
}

/** One Thompson sample of the weights of a regression of `losses` (standardised) at `points`. */
export function sampleWeights(
  rff: RandomFourierFeatures,
  points: readonly Float64Array[],
  losses: readonly number[],
  noise: number,
  rng: Rng,
): Float64Array {
  const y = standardize(losses).values;
  return BayesianLinearRegression.fit(
    points.map((x) => rff.map(x)),
    y,
    rff.size,
    noise,
  ).sample(rng);
}

export const ftsWeightsTask: ClientTask<FtsWeightsArgs, FtsWeightsResult> = {
  name: 'fts.weights',
  description: 'FTS: fit a Bayesian linear regression on shared random Fourier features of local losses, reply with one weight sample',
  args: FtsWeightsArgs,
  result: FtsWeightsResult,
  evaluations: (a) => a.configs.map((config) => ({ config, rounds: a.rounds })),
  compute(a, trials, clientId) {
    const space = parseSpace(a.space, 'fts.weights args.space');
    const rng = new Rng(a.seed).fork('fts-client').fork(clientId).fork(a.iteration);
    // A local trial that diverged (non-finite loss) says nothing the regression can fit: left out.
    const fitted = trials.filter((t) => Number.isFinite(t.loss));
    const w = sampleWeights(
      sharedFeatures(space, a),
      fitted.map((t) => unitPoint(space, t.config)),
      fitted.map((t) => t.loss),
      a.noise,
      rng,
    );
    return { weights: [...w] };
  },
};
