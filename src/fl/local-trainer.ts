// The local trainer: one loop, extended through hooks (before/after run, batch, step, evaluation)
// rather than forks. FedProx-like terms, pFL and metering are hooks; gradient accumulation,
// clipping, schedules and divergence detection are built in. Deterministic for a seed and a
// thread count: batches and dropout masks come from seeded streams, ORT runs are deterministic.
// Each run draws from its own stream (RunOptions.rng or .round), so the runs of a federated client
// see new batches and masks round after round, reproducibly.
import type { Batch, Encoded } from '../data/batching.js';
import { makeBatches } from '../data/batching.js';
import type { Feeds, RunFeeds } from '../engine/engine.js';

import { UserError } from '../engine/errors.js';
import { clipGradNorm, createOptimizer, gradsFinite, type OptimizerConfig, type OptimizerState, type Params } from '../engine/optim.js';
import type { CostMeter } from '../engine/costs.js';
import { Rng } from '../engine/rng.js';
import { lrAt, type ScheduleKind } from '../engine/schedule.js';
import type { Trainable } from '../model/graphs.js';
import type { AdapterGraphSpec } from '../model/graphs.js';
import type { AdapterFeeds, LlamaModel } from '../model/model.js';
import type { Adapter } from '../peft/adapter.js';

export interface TrainerConfig {
  steps: number;
  batchSize: number;
  seqLen: number;
  /** Micro-batches per optimizer step (default 1); the loss is averaged over all their tokens. */
  gradAccum?: number;
  lr: number;
  optimizer: OptimizerConfig;
  schedule?: { kind: ScheduleKind; warmupSteps?: number; minRatio?: number };
  /** Global L2 norm bound on the gradient (0 or absent: no clipping). */
  clipNorm?: number;
  seed: number;
  /** Evaluate on the validation data every N steps (and at the end) when given. */
  evalEvery?: number;
  padId: number;
}

/**
 * What is being trained: an adapter, or base weights (kind 'all': `params` names the ones trained,
 * all of them or a subset; the others stay the model's frozen weights).
 */
export interface TrainTarget {
  kind: Trainable;
  params: Params;
  spec?: AdapterGraphSpec;
  /** Positions the adapter takes ahead of every sequence (virtual tokens, a prefix). */
  positions?: number;
  /** Feeds for one training batch (params plus e.g. dropout masks). */
  trainFeeds(batch: Batch, rng: Rng): RunFeeds;
  /** Feeds for evaluation with the current params. */
  evalFeeds(): AdapterFeeds;
}

export function adapterTarget(adapter: Adapter): TrainTarget {
  return {
    kind: 'adapter',
    params: Object.fromEntries(adapter.tensors),
    spec: adapter.graphSpec,
    positions: adapter.positions,
    trainFeeds: (batch, rng) => adapter.trainFeeds(batch.batch, batch.seq, rng),
    evalFeeds: () => adapter.inference(),
  };
}

/** The LoRA name of adapterTarget (LoRA was the first adapter). */
export const loraTarget = adapterTarget;

/** Trains `weights` (every base weight, or a subset laid over the model's frozen ones). */
export function fullTarget(weights: Map<string, Float32Array>, shapes: Map<string, number[]>): TrainTarget {
  const params = Object.fromEntries(weights);
  const feeds = (): Feeds =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { dtype: 'float32', dims: shapes.get(k)!, data: v }]));
  return { kind: 'all', params, trainFeeds: feeds, evalFeeds: () => ({ feeds: feeds() }) };
}

export interface StepInfo {
  step: number;
  loss: number;
  tokens: number;
  lr: number;
  gradNorm: number;
}
export interface EvalInfo {
  step: number;
  loss: number;
  tokens: number;
}
export interface TrainResult {
  status: 'completed' | 'diverged' | 'stopped';
  steps: number;
  history: StepInfo[];
  evals: EvalInfo[];
  /** Why training stopped early: the step and what was not finite. */
  divergence?: { step: number; reason: string };
  trainTokens: number;
  seconds: number;
  optimizerState: OptimizerState;
}

export interface TrainContext {
  readonly config: TrainerConfig;
  readonly model: LlamaModel;
  readonly target: TrainTarget;
  step: number;
  /** Ask the loop to stop after the current step. */
  stop(): void;
}

type Hook<A extends unknown[]> = (ctx: TrainContext, ...args: A) => void | Promise<void>;
export interface TrainerHooks {
  beforeRun?: Hook<[]>;
  afterRun?: Hook<[TrainResult]>;
  beforeBatch?: Hook<[Batch]>;
  afterBatch?: Hook<[{ lossSum: number; tokens: number }]>;
  /** Gradients are already averaged; a hook may change them in place (e.g. a proximal term). */
  beforeStep?: Hook<[Params]>;
  afterStep?: Hook<[StepInfo]>;
  beforeEval?: Hook<[]>;
  afterEval?: Hook<[EvalInfo]>;
}

/** A trainer setting that cannot work (a user's flag or recipe value). */
export class TrainerError extends UserError {
  override name = 'TrainerError';
}

/** Mean loss over the target tokens of a set of batches, with the target's current params. */
export async function evaluate(
  model: LlamaModel,
  target: TrainTarget,
  batches: Batch[],
  meter?: CostMeter,
): Promise<{ loss: number; tokens: number }> {
  return model.meanLoss(batches, target.evalFeeds(), { meter });
}

/** What varies from one run of a trainer to the next. */
export interface RunOptions {
  /** Optimizer state to continue from (e.g. a client's state of its previous round). */
  resume?: OptimizerState;
  /**
   * The stream this run's batch order and dropout masks fork from. Default: the stream of `round`.
   * Give every run of a sequence its own stream (e.g. `trialRng.fork(client).fork(round)`).
   */
  rng?: Rng;
  /**
   * Round index, when no `rng` is given: round 0 (the default) draws from Rng(config.seed), as a
   * single `fedhpo train` run does; round k > 0 from Rng(config.seed).fork('round').fork(k).
   */
  round?: number;
  /** Counts this run's graph runs (tokens, MatMul FLOPs). */
  meter?: CostMeter;
}

/** The stream of a run: see RunOptions. */
export function runRng(seed: number, round = 0): Rng {
  if (!Number.isSafeInteger(round) || round < 0) throw new TrainerError(`trainer: round must be an integer >= 0, got ${round}`);
  const rng = new Rng(seed);
  return round === 0 ? rng : rng.fork('round').fork(round);
}

export class LocalTrainer {
  constructor(
    readonly model: LlamaModel,
    readonly config: TrainerConfig,
    readonly hooks: TrainerHooks[] = [],
  ) {
    for (const k of ['steps', 'batchSize', 'seqLen'] as const)
      if (!Number.isInteger(config[k]) || config[k] < 1)
        throw new TrainerError(`trainer: ${k} must be a positive integer, got ${config[k]}`);
    if (config.seqLen > model.cfg.max_position_embeddings)
      throw new TrainerError(
        `trainer: seqLen ${config.seqLen} is over the model's max_position_embeddings ${model.cfg.max_position_embeddings}`,
      );
    if (!(config.lr >= 0)) throw new TrainerError(`trainer: lr must be >= 0, got ${config.lr}`);
    const accum = config.gradAccum ?? 1;
    if (!Number.isInteger(accum) || accum < 1)
      throw new TrainerError(`trainer: gradAccum must be a positive integer, got ${config.gradAccum}`);
    if (config.clipNorm !== undefined && !(config.clipNorm >= 0))
      throw new TrainerError(`trainer: clipNorm must be >= 0, got ${config.clipNorm}`);
  }

  private async call<K extends keyof TrainerHooks>(
    name: K,
    ctx: TrainContext,
    ...args: Parameters<NonNullable<TrainerHooks[K]>> extends [TrainContext, ...infer A] ? A : never
  ): Promise<void> {
    for (const h of this.hooks) {
      const fn = h[name] as ((c: TrainContext, ...a: unknown[]) => void | Promise<void>) | undefined;
      if (fn) await fn(ctx, ...args);
    }
  }

  async run(target: TrainTarget, train: Encoded[], valid: Encoded[] = [], o: RunOptions = {}): Promise<TrainResult> {
    const c = this.config;
    if (!train.length) throw new TrainerError('trainer: no training examples');
    const taken = target.positions ?? 0;
    if (c.seqLen + taken > this.model.cfg.max_position_embeddings)
      throw new TrainerError(
        `trainer: seqLen ${c.seqLen} plus the adapter's ${taken} virtual tokens is over the model's max_position_embeddings ${this.model.cfg.max_position_embeddings}`,
      );
    const started = performance.now();
    const rng = o.rng ?? runRng(c.seed, o.round);
    const dataRng = rng.fork('data');
    const dropoutRng = rng.fork('dropout');
    const meter = o.meter;
    const optimizer = createOptimizer(c.optimizer);
    if (o.resume) optimizer.restore(o.resume);
    const accum = c.gradAccum ?? 1;
    const validBatches = makeBatches(valid, { batchSize: c.batchSize, seqLen: c.seqLen, shuffle: false, padId: c.padId });

    let stopRequested = false;
    const ctx: TrainContext = { config: c, model: this.model, target, step: 0, stop: () => (stopRequested = true) };
    const history: StepInfo[] = [];
    const evals: EvalInfo[] = [];
    let trainTokens = 0;
    let divergence: TrainResult['divergence'];
    let queue: Batch[] = [];
    const nextBatch = (): Batch => {
      if (!queue.length)
        queue = makeBatches(train, { batchSize: c.batchSize, seqLen: c.seqLen, shuffle: true, rng: dataRng, padId: c.padId });
      return queue.shift()!;
    };
    const runEval = async (step: number): Promise<void> => {
      if (!validBatches.length) return;
      await this.call('beforeEval', ctx);
      const ev = { step, ...(await evaluate(this.model, target, validBatches, meter)) };
      evals.push(ev);
      await this.call('afterEval', ctx, ev);
    };

    await this.call('beforeRun', ctx);
    let step = 0;
    for (; step < c.steps && !stopRequested; step++) {
      ctx.step = step;
      const lr = lrAt(step, {
        base: c.lr,
        warmupSteps: c.schedule?.warmupSteps ?? 0,
        totalSteps: c.steps,
        kind: c.schedule?.kind ?? 'constant',
        minRatio: c.schedule?.minRatio ?? 0,
      });
      let lossSum = 0;
      let tokens = 0;
      const grads: Params = {};
      for (let m = 0; m < accum; m++) {
        const batch = nextBatch();
        await this.call('beforeBatch', ctx, batch);
        const r = await this.model.gradients(target.kind, batch, target.trainFeeds(batch, dropoutRng), target.spec, { meter });
        for (const [k, g] of r.grads) {
          // A target trains its params only: 'all' over a subset (offsite-tuning's adapter layers)
          // gets every weight's gradient from the graph, and the frozen ones must not reach clipping.
          if (!Object.hasOwn(target.params, k)) continue;
          const acc = grads[k];
          if (acc) for (let i = 0; i < g.length; i++) acc[i]! += g[i]!;
          else grads[k] = g;
        }
        lossSum += r.lossSum;
        tokens += r.tokens;
        await this.call('afterBatch', ctx, { lossSum: r.lossSum, tokens: r.tokens });
      }
      trainTokens += tokens;
      if (tokens === 0) continue; // every label masked (e.g. prompts longer than seqLen): nothing to learn
      for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i]! /= tokens;
      const loss = lossSum / tokens;
      if (!Number.isFinite(loss) || !gradsFinite(grads)) {
        divergence = { step, reason: Number.isFinite(loss) ? 'non-finite gradient' : `non-finite loss (${loss})` };
        break;
      }
      await this.call('beforeStep', ctx, grads);
      const gradNorm = clipGradNorm(grads, c.clipNorm || Infinity);
      optimizer.step(target.params, grads, lr);
      const info: StepInfo = { step, loss, tokens, lr, gradNorm };
      history.push(info);
      await this.call('afterStep', ctx, info);
      if (c.evalEvery && (step + 1) % c.evalEvery === 0 && step + 1 < c.steps) await runEval(step + 1);
    }
    // (A run stopped right after an evalEvery evaluation has already evaluated this step.)
    if (!divergence && evals.at(-1)?.step !== step) await runEval(step);
    const result: TrainResult = {
      status: divergence ? 'diverged' : stopRequested ? 'stopped' : 'completed',
      steps: history.length,
      history,
      evals,
      trainTokens,
      seconds: (performance.now() - started) / 1000,
      optimizerState: optimizer.state(),
      ...(divergence ? { divergence } : {}),
    };
    await this.call('afterRun', ctx, result);
    return result;
  }
}
