// FTS (federated Thompson sampling, Dai, Low & Jaillet, NeurIPS 2020) as a study strategy. After a
// few random start-up trials, every model-based suggestion is one FTS iteration t: the clients share
// one weight sample each of their own regressions on shared random Fourier features (the client task
// `fts.weights`, run before the ask), and the server, with probability p_t = 1 − 1/(t+1)², samples
// its own regression fitted on the federated validation losses, otherwise takes one client's sample,
// and suggests the untried config minimising that function. Only weight samples cross the network.
import { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import type { ClientTaskReply, ClientTaskRequest, ClientTaskStrategy } from '../client-task.js';
import { FtsWeightsResult, sampleWeights, sharedFeatures, unitPoint } from '../client-tasks/fts-task.js';
import { chooseSource } from '../fts/index.js';
import { parseOptions } from '../options.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { type Config, configKey, type SearchSpace } from '../space.js';
import type { StrategyContext, StrategyFactory, StudyView, Suggestion, TrialRecord } from '../strategy.js';
import { minimizedValues } from '../strategy.js';
import { UnitEncoding } from './bo-encoding.js';
import { readCount, readState, rngFromJson, rngToJson } from './state.js';
import { inputKey, minimizeSurface } from './surface-search.js';

export const ftsOptions = z.object({
  startupTrials: z.number().int().nonnegative().default(3).describe('random suggestions until this many trials have completed'),
  features: z.number().int().min(1).max(4096).default(100).describe('random Fourier features shared by every agent (M)'),
  lengthscale: z.number().positive().default(0.3).describe('RBF lengthscale of the features, in the unit cube'),
  noise: z.number().positive().default(0.01).describe('observation noise variance of the regressions (standardised losses)'),
  localRounds: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('local rounds a client trains each tried config for, to score it on its own data'),
  historyLimit: z.number().int().min(1).default(100).describe('clients fit at most this many most recent tried configs'),
  candidates: z.number().int().positive().default(1024).describe('random candidates scored before the local search'),
  enumerateUpTo: z.number().int().nonnegative().default(2048).describe('finite spaces up to this size are scored exhaustively'),
});
export type FtsOptions = z.output<typeof ftsOptions>;

export const FTS_TASK = 'fts.weights';

export class FederatedThompsonSampling implements ClientTaskStrategy {
  readonly name = 'fts';
  readonly multiObjective = false;
  private readonly enc: UnitEncoding;
  private options: FtsOptions;
  private rng: Rng;
  /** FTS iterations so far (model-based suggestions). */
  private iteration = 0;
  /** The clients' weight samples for the next iteration (by client id), once their task ran. */
  private shared: { client: string; weights: number[] }[] | undefined;
  private pool: Float64Array[] | undefined;

  constructor(private readonly ctx: StrategyContext) {
    this.enc = new UnitEncoding(ctx.space);
    this.options = parseOptions(ftsOptions, ctx.options, 'strategy fts');
    this.rng = new Rng(ctx.seed).fork('fts');
  }

  clientTask(study: StudyView): ClientTaskRequest | undefined {
    if (this.shared || !this.modelReady(study) || this.isDone(study)) return undefined;
    const configs = observed(study).slice(-this.options.historyLimit);
    return {
      task: FTS_TASK,
      args: {
        space: spaceJson(this.ctx.space),
        seed: this.ctx.seed,
        iteration: this.iteration + 1,
        features: this.options.features,
        lengthscale: this.options.lengthscale,
        noise: this.options.noise,
        rounds: this.options.localRounds,
        configs: configs.map((t) => ({ ...t.config })),
      },
    };
  }

  tellClientTask(request: ClientTaskRequest, replies: readonly ClientTaskReply[], _study?: StudyView): void {
    if (request.task !== FTS_TASK) return;
    // A reply of the wrong length is not a sample of these features: it is left out.
    this.shared = replies
      .map((r) => ({ client: r.client, parsed: FtsWeightsResult.safeParse(r.result) }))
      .filter((r) => r.parsed.success && r.parsed.data.weights.length === this.options.features)
      .map((r) => ({ client: r.client, weights: r.parsed.data!.weights }))
      .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity);
    const takenInputs = new Set([...study.trials].filter((t) => t.fidelity === fidelity).map((t) => inputKey(this.enc.encode(t.config))));
    const out: Suggestion[] = [];
    const modelled = this.modelReady(study);
    const obs = observed(study);
    const rff = sharedFeatures(this.ctx.space, { seed: this.ctx.seed, ...this.options });
    for (let i = 0; i < n && hasUntried(study.space, taken); i++) {
      let config: Config | undefined;
      let meta: JsonValue = { by: 'random' };
      if (modelled) {
        const t = ++this.iteration;
        const shared = this.shared ?? [];
        const source = chooseSource(t, shared.length, this.rng.next(), this.rng.next());
        const weights =
          source.kind === 'own'
            ? sampleWeights(
                rff,
                obs.map((o) => unitPoint(this.ctx.space, o.config)),
                obs.map((o) => o.loss),
                this.options.noise,
                this.rng,
              )
            : Float64Array.from(shared[source.index]!.weights);
        const best = minimizeSurface(
          {
            enc: this.enc,
            rng: this.rng,
            loss: (xs) =>
              rff.evaluate(
                weights,
                xs.map((x) => this.rffInput(x)),
              ),
            isTaken: (x) => takenInputs.has(inputKey(x)),
            candidates: this.options.candidates,
            enumerateUpTo: this.options.enumerateUpTo,
          },
          () => (this.pool ??= this.enc.enumerate()),
        );
        config = best && !taken.has(configKey(study.space, best.config)) ? best.config : undefined;
        meta = {
          by: source.kind === 'own' ? 'own' : 'client',
          t,
          ...(source.kind === 'client' ? { client: shared[source.index]!.client } : {}),
        };
      }
      config ??= sampleUntried(study.space, this.rng, taken);
      if (!config) break;
      taken.add(configKey(study.space, config));
      takenInputs.add(inputKey(this.enc.encode(config)));
      out.push({ config, fidelity, meta });
    }
    // The samples served this iteration; the next one needs fresh ones (fitted on more trials).
    if (modelled && out.length) this.shared = undefined;
    return out;
  }

  tell(): void {}

  isDone(study: StudyView): boolean {
    return !hasUntried(study.space, triedKeys(study, this.ctx.fidelity.max));
  }

  state(): JsonValue {
    return {
      rng: rngToJson(this.rng),
      iteration: this.iteration,
      shared: this.shared ? this.shared.map((s) => ({ client: s.client, weights: s.weights })) : null,
      options: JSON.parse(JSON.stringify(this.options)) as JsonValue,
    };
  }

  restore(state: JsonValue): void {
    const s = readState(state, 'fts');
    this.rng = rngFromJson(s.rng);
    this.iteration = readCount(s.iteration, 'fts', 'iteration');
    this.options = parseOptions(ftsOptions, s.options, 'strategy fts (state)');
    const shared = z
      .array(z.object({ client: z.string(), weights: z.array(z.number()).length(this.options.features) }).strict())
      .nullable()
      .safeParse(s.shared ?? null);
    if (!shared.success) throw new UserError('strategy fts: malformed state (shared)');
    this.shared = shared.data ?? undefined;
  }

  private modelReady(study: StudyView): boolean {
    return observed(study).length >= Math.max(1, this.options.startupTrials);
  }

  /** A UnitEncoding input as the RFF's unit point (categories as index / (count - 1), like toUnit). */
  private rffInput(x: Float64Array): Float64Array {
    return x.map((v, d) => {
      const dim = this.enc.dims[d]!;
      return dim.kind === 'categorical' ? (dim.count > 1 ? v / (dim.count - 1) : 0) : v;
    });
  }
}

/** Complete trials with a finite primary objective (minimised), in trial order. */
function observed(study: StudyView): { config: Config; loss: number }[] {
  return study.trials
    .filter((t: TrialRecord) => t.status === 'complete')
    .map((t) => ({ config: t.config, loss: minimizedValues(study.objectives, t)?.[0] }))
    .filter((o): o is { config: Config; loss: number } => o.loss !== undefined && Number.isFinite(o.loss));
}

/** The space as its config wrote it: what a client parses again. */
export function spaceJson(space: SearchSpace): { [k: string]: JsonValue } {
  return JSON.parse(JSON.stringify(Object.fromEntries(space))) as { [k: string]: JsonValue };
}

export const federatedThompsonSampling: StrategyFactory = (ctx) => new FederatedThompsonSampling(ctx);
