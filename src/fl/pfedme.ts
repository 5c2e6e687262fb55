// pFedMe (T. Dinh, N. Tran, J. Nguyen, NeurIPS 2020): personalised FL with Moreau envelopes. Client i
// keeps a personalised adapter theta_i that solves, approximately (K steps on one minibatch),
//   theta_i = argmin_theta f_i(theta) + lambda/2 ||theta - w_i||^2,
// then moves its local copy of the global adapter towards it, w_i <- w_i - eta lambda (w_i - theta_i),
// and repeats that local_steps times. The server mixes the clients' w_i into the global:
//   w <- (1 - beta) w + beta sum_i (n_i / n) w_i      (beta = 1 is FedAvg of the w_i).
// The proximal term's gradient lambda (theta - w_i) is FedProx's hook (proximalHook) with w_i as
// the anchor. Each round theta starts at the received global (as the authors' implementation does),
// so the update a client sends needs no state; the personalised adapter it ends with is what it is
// scored with on its own data (pfedme-run.ts).
import type { Encoded } from '../data/batching.js';
import type { CostMeter } from '../engine/costs.js';
import type { Rng } from '../engine/rng.js';
import type { LlamaModel } from '../model/model.js';
import type { Adapter } from '../peft/adapter.js';
import { AggregatorError, type ClientUpdate, type JsonValue, type RoundPlan } from './aggregator.js';
import { FedAvg, type FedAvgOptions, fedAvg } from './fedavg.js';
import { proximalHook } from './fedprox.js';
import { optimizerOf, type TrainSettings } from './fl-config.js';
import { LocalTrainer, adapterTarget } from './local-trainer.js';
import { adapterTensors, loadIntoAdapter, type NamedTensors } from './tensors.js';

/** The trainConfig keys that carry pFedMe's client settings. */
export const PFEDME_LAMBDA = 'pfedme_lambda';
export const PFEDME_INNER_STEPS = 'pfedme_inner_steps';
export const PFEDME_PERSONAL_LR = 'pfedme_personal_lr';

export interface PFedMeClientSettings {
  /** Moreau-envelope coefficient lambda > 0 (the authors use 15). */
  lambda: number;
  /** K: steps of the inner (personalisation) problem per local step. */
  innerSteps: number;
  /** The inner problem's learning rate. */
  personalLr: number;
}

export interface PFedMeOptions extends FedAvgOptions, PFedMeClientSettings {
  /** Server mixing beta in (0, 2] (1: the average of the w_i). */
  beta: number;
}

function checkClientSettings(s: PFedMeClientSettings): void {
  if (!(s.lambda > 0 && Number.isFinite(s.lambda))) throw new AggregatorError(`pfedme: lambda must be finite and > 0, got ${s.lambda}`);
  if (!Number.isInteger(s.innerSteps) || s.innerSteps < 1)
    throw new AggregatorError(`pfedme: inner_steps must be a positive integer, got ${s.innerSteps}`);
  if (!(s.personalLr > 0 && Number.isFinite(s.personalLr)))
    throw new AggregatorError(`pfedme: personal_lr must be finite and > 0, got ${s.personalLr}`);
}

/** w <- (1 - beta) w + beta * FedAvg(w_i). */
export function pfedmeAggregate(global: NamedTensors, updates: readonly ClientUpdate[], beta: number): NamedTensors {
  const avg = fedAvg(global, updates);
  if (beta === 1) return avg;
  const out: NamedTensors = new Map();
  for (const [k, g] of global) {
    const a = avg.get(k)!.data;
    const data = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) data[i] = (1 - beta) * g.data[i]! + beta * a[i]!;
    out.set(k, { shape: [...g.shape], data });
  }
  return out;
}

export class PFedMe extends FedAvg {
  readonly beta: number;
  readonly client: PFedMeClientSettings;

  override get name(): string {
    return 'pfedme';
  }

  constructor(o: PFedMeOptions) {
    super(o);
    if (!(o.beta > 0 && o.beta <= 2)) throw new AggregatorError(`pfedme: beta must be in (0, 2], got ${o.beta}`);
    checkClientSettings(o);
    this.beta = o.beta;
    this.client = { lambda: o.lambda, innerSteps: o.innerSteps, personalLr: o.personalLr };
  }

  override configureRound(round: number, clientIds: readonly string[], rng: Rng): RoundPlan {
    return {
      ...super.configureRound(round, clientIds, rng),
      trainConfig: {
        [PFEDME_LAMBDA]: this.client.lambda,
        [PFEDME_INNER_STEPS]: this.client.innerSteps,
        [PFEDME_PERSONAL_LR]: this.client.personalLr,
      },
    };
  }

  override aggregate(global: NamedTensors, updates: readonly ClientUpdate[]): NamedTensors {
    return pfedmeAggregate(global, updates, this.beta);
  }
}

/** pFedMe's client settings in a round's trainConfig, if the round asks for pFedMe. */
export function pfedmeSettingsOf(trainConfig: { [key: string]: JsonValue } | undefined): PFedMeClientSettings | undefined {
  const lambda = trainConfig?.[PFEDME_LAMBDA];
  if (lambda === undefined) return undefined;
  const innerSteps = trainConfig?.[PFEDME_INNER_STEPS];
  const personalLr = trainConfig?.[PFEDME_PERSONAL_LR];
  if (typeof lambda !== 'number' || typeof innerSteps !== 'number' || typeof personalLr !== 'number')
    throw new AggregatorError(`trainConfig: ${PFEDME_LAMBDA}, ${PFEDME_INNER_STEPS} and ${PFEDME_PERSONAL_LR} must be numbers`);
  const s = { lambda, innerSteps, personalLr };
  checkClientSettings(s);
  return s;
}

export interface PFedMeLocalInput {
  model: LlamaModel;
  /** Holds theta while it trains (its values are overwritten with the global first). */
  adapter: Adapter;
  train: readonly Encoded[];
  global: NamedTensors;
  settings: PFedMeClientSettings;
  /** local_steps (outer steps), batch size, clipping and the inner optimizer; lr is eta, w's rate. */
  t: TrainSettings;
  seed: number;
  padId: number;
  /** This client's stream for this round. */
  rng: Rng;
  meter?: CostMeter;
}

export interface PFedMeLocalResult {
  /** w_i after local_steps. */
  local: NamedTensors;
  /** theta_i: the personalised adapter (the last inner solution). */
  personal: NamedTensors;
  /** Mean training loss of the inner steps. */
  trainLoss: number;
  innerSteps: number;
  diverged: boolean;
}

/** One client's pFedMe round: local_steps x (K inner steps on one minibatch, then the w_i step). */
export async function pfedmeLocalUpdate(i: PFedMeLocalInput): Promise<PFedMeLocalResult> {
  const { t, settings: s } = i;
  loadIntoAdapter(i.adapter, i.global);
  const target = adapterTarget(i.adapter);
  const w = new Map([...i.global].map(([k, v]) => [k, v.data.slice()]));
  const losses: number[] = [];
  let diverged = false;
  const step = t.lr * s.lambda;
  for (let outer = 0; outer < t.local_steps && !diverged; outer++) {
    const rng = i.rng.fork('outer').fork(outer);
    // One minibatch for all K inner steps (the trainer reshuffles the same records each step).
    const batch = rng.shuffle([...i.train]).slice(0, t.batch_size);
    const inner = new LocalTrainer(
      i.model,
      {
        steps: s.innerSteps,
        batchSize: t.batch_size,
        seqLen: t.seq_len,
        lr: s.personalLr,
        optimizer: optimizerOf(t),
        clipNorm: t.clip_norm,
        seed: i.seed,
        padId: i.padId,
      },
      [proximalHook(s.lambda, new Map([...w].map(([k, data]) => [k, { shape: [data.length], data }])))],
    );
    const r = await inner.run(target, batch, [], { rng, ...(i.meter ? { meter: i.meter } : {}) });
    losses.push(...r.history.map((h) => h.loss));
    if (r.status === 'diverged') {
      diverged = true;
      break;
    }
    for (const [k, wk] of w) {
      const theta = target.params[k]!;
      for (let j = 0; j < wk.length; j++) wk[j]! -= step * (wk[j]! - theta[j]!);
    }
  }
  const personal = adapterTensors(i.adapter);
  const local: NamedTensors = new Map([...i.global].map(([k, g]) => [k, { shape: [...g.shape], data: w.get(k)! }]));
  return {
    local,
    personal,
    trainLoss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : Number.NaN,
    innerSteps: losses.length,
    diverged,
  };
}
