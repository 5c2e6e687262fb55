// FLoRA (Zhou et al., ICLR 2023), single-shot federated HPO, as a study strategy: first one client
// task `flora.local-hpo` (each client runs its own random search on its own data and replies with
// its (config, loss) pairs), then the server fits the chosen loss surface (SGM, SGM+U, MPLM, APLM) on
// the pairs and suggests the one config minimising it for a federated training at full fidelity. Done
// after that one trial.
import { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import type { ClientTaskReply, ClientTaskRequest, ClientTaskStrategy } from '../client-task.js';
import { FloraLocalHpoResult } from '../client-tasks/flora-task.js';
import { type ClientObservations, FLORA_SURFACES, fitSurface } from '../flora/index.js';
import { parseOptions } from '../options.js';
import { hasUntried, sampleUntried, triedKeys } from '../sampling.js';
import { type Config, checkConfig, configKey, SpaceError } from '../space.js';
import type { StrategyContext, StrategyFactory, StudyView, Suggestion } from '../strategy.js';
import { UnitEncoding } from './bo-encoding.js';
import { spaceJson } from './fts.js';
import { readState, rngFromJson, rngToJson } from './state.js';
import { inputKey, minimizeSurface } from './surface-search.js';

export const floraOptions = z.object({
  surface: z
    .enum(FLORA_SURFACES)
    .default('aplm')
    .describe('loss surface: sgm (pooled), sgm+u (pooled + kappa x sd), mplm (max), aplm (average)'),
  localTrials: z.number().int().min(1).default(20).describe('configs each client tries in its local random search'),
  localRounds: z.number().int().min(1).optional().describe('local rounds per local trial (default: the study’s max rounds)'),
  kappa: z.number().nonnegative().default(1).describe("SGM+U's weight on the pooled model's standard deviation"),
  candidates: z.number().int().positive().default(1024).describe('random candidates scored before the local search'),
  enumerateUpTo: z.number().int().nonnegative().default(2048).describe('finite spaces up to this size are scored exhaustively'),
});
export type FloraOptions = z.output<typeof floraOptions>;

export const FLORA_TASK = 'flora.local-hpo';

type Pairs = { client: string; pairs: { config: Config; loss: number }[] }[];

export class Flora implements ClientTaskStrategy {
  readonly name = 'flora';
  readonly multiObjective = false;
  private readonly enc: UnitEncoding;
  private options: FloraOptions;
  private rng: Rng;
  /** Every client's local (config, loss) pairs, once the local HPO ran. */
  private clients: Pairs | undefined;
  private pool: Float64Array[] | undefined;

  constructor(private readonly ctx: StrategyContext) {
    this.enc = new UnitEncoding(ctx.space);
    this.options = parseOptions(floraOptions, ctx.options, 'strategy flora');
    this.rng = new Rng(ctx.seed).fork('flora');
  }

  clientTask(study: StudyView): ClientTaskRequest | undefined {
    if (this.clients || this.isDone(study)) return undefined;
    return {
      task: FLORA_TASK,
      args: {
        space: spaceJson(this.ctx.space),
        seed: this.ctx.seed,
        trials: this.options.localTrials,
        rounds: this.options.localRounds ?? this.ctx.fidelity.max,
      },
    };
  }

  tellClientTask(request: ClientTaskRequest, replies: readonly ClientTaskReply[], _study?: StudyView): void {
    if (request.task !== FLORA_TASK) return;
    const clients: Pairs = [];
    for (const r of replies) {
      const parsed = FloraLocalHpoResult.safeParse(r.result);
      if (!parsed.success) continue;
      // Pairs outside the study's space (a client's mistake) are left out, not fitted.
      const pairs = parsed.data.pairs.filter((p) => {
        try {
          checkConfig(this.ctx.space, p.config);
          return true;
        } catch (e) {
          if (e instanceof SpaceError) return false;
          throw e;
        }
      });
      clients.push({ client: r.client, pairs });
    }
    this.clients = clients.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }

  ask(study: StudyView, n: number): Suggestion[] {
    if (n < 1 || this.isDone(study)) return [];
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity);
    const observations: ClientObservations[] = (this.clients ?? [])
      .filter((c) => c.pairs.length > 0)
      .map((c) => ({ X: c.pairs.map((p) => this.enc.encode(p.config)), y: c.pairs.map((p) => p.loss) }));
    let config: Config | undefined;
    let meta: { [k: string]: JsonValue } = { flora: this.options.surface, by: 'random' };
    if (observations.length) {
      const surface = fitSurface(this.options.surface, observations, this.enc.gpInputs, this.rng, { kappa: this.options.kappa });
      const takenInputs = new Set(study.trials.filter((t) => t.fidelity === fidelity).map((t) => inputKey(this.enc.encode(t.config))));
      const best = minimizeSurface(
        {
          enc: this.enc,
          rng: this.rng,
          loss: surface,
          isTaken: (x) => takenInputs.has(inputKey(x)),
          candidates: this.options.candidates,
          enumerateUpTo: this.options.enumerateUpTo,
          anchors: observations.flatMap((o) => bestInputs(o, 2)),
        },
        () => (this.pool ??= this.enc.enumerate()),
      );
      if (best && !taken.has(configKey(study.space, best.config))) {
        config = best.config;
        meta = { flora: this.options.surface, by: 'surface', predicted: best.loss, clients: observations.length };
      }
    }
    // No client data (or every modelled config taken): one random config, so the study still ends.
    config ??= sampleUntried(study.space, this.rng, taken);
    return config ? [{ config, fidelity, meta }] : [];
  }

  tell(): void {}

  /** Single shot: done once its one trial is in the study (or the space has nothing left). */
  isDone(study: StudyView): boolean {
    return study.trials.some((t) => isFloraMeta(t.meta)) || !hasUntried(study.space, triedKeys(study, this.ctx.fidelity.max));
  }

  state(): JsonValue {
    return {
      rng: rngToJson(this.rng),
      clients: this.clients ? (JSON.parse(JSON.stringify(this.clients)) as JsonValue) : null,
      options: JSON.parse(JSON.stringify(this.options)) as JsonValue,
    };
  }

  restore(state: JsonValue): void {
    const s = readState(state, 'flora');
    this.rng = rngFromJson(s.rng);
    this.options = parseOptions(floraOptions, s.options, 'strategy flora (state)');
    const clients = z
      .array(z.object({ client: z.string(), pairs: FloraLocalHpoResult.shape.pairs }).strict())
      .nullable()
      .safeParse(s.clients ?? null);
    if (!clients.success) throw new UserError('strategy flora: malformed state (clients)');
    this.clients = clients.data ?? undefined;
  }
}

function isFloraMeta(meta: JsonValue | undefined): boolean {
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta) && 'flora' in meta;
}

/** The inputs of a client's `k` lowest losses (extra candidates around them). */
function bestInputs(o: ClientObservations, k: number): Float64Array[] {
  return o.y
    .map((y, i) => ({ y, i }))
    .sort((a, b) => a.y - b.y || a.i - b.i)
    .slice(0, k)
    .map((e) => o.X[e.i]!);
}

export const flora: StrategyFactory = (ctx) => new Flora(ctx);
