// FedProx (Li et al., 2020): each client minimises its loss plus mu/2 ||w - w_global||^2. The server
// side is FedAvg; the client side is a trainer hook that adds the proximal term's gradient
// mu (w - w_global) to the averaged gradients before every optimizer step (before clipping, since
// it is part of the objective). The server tells clients mu through the round's trainConfig.
import type { Params } from '../engine/optim.js';
import type { Rng } from '../engine/rng.js';
import { AggregatorError, type JsonValue, type RoundPlan } from './aggregator.js';
import { FedAvg, type FedAvgOptions } from './fedavg.js';
import type { TrainerHooks } from './local-trainer.js';
import type { NamedTensors } from './tensors.js';

/** The trainConfig key that carries mu to clients. */
export const PROXIMAL_MU = 'proximal_mu';

export interface FedProxOptions extends FedAvgOptions {
  /** Proximal coefficient mu >= 0 (0 is FedAvg). */
  mu: number;
}

export class FedProx extends FedAvg {
  readonly mu: number;

  override get name(): string {
    return 'fedprox';
  }

  constructor(options: FedProxOptions) {
    super(options);
    this.mu = options.mu;
    if (!(this.mu >= 0 && Number.isFinite(this.mu))) throw new AggregatorError(`${this.name}: mu must be finite and >= 0, got ${this.mu}`);
  }

  override configureRound(round: number, clientIds: readonly string[], rng: Rng): RoundPlan {
    return { ...super.configureRound(round, clientIds, rng), trainConfig: { [PROXIMAL_MU]: this.mu } };
  }
}

/**
 * The client-side proximal term as a trainer hook. The anchor w_global is `anchor` when given, else
 * a copy of the trained parameters taken in beforeRun (a client starts local training from the
 * global adapter, so that copy is w_global).
 */
export function proximalHook(mu: number, anchor?: NamedTensors | Params): TrainerHooks {
  if (!(mu >= 0 && Number.isFinite(mu))) throw new AggregatorError(`fedprox: mu must be finite and >= 0, got ${mu}`);
  let w0: Map<string, Float32Array> | undefined = anchor
    ? new Map(
        anchor instanceof Map ? [...anchor].map(([k, t]) => [k, t.data.slice()]) : Object.entries(anchor).map(([k, v]) => [k, v.slice()]),
      )
    : undefined;
  return {
    beforeRun(ctx) {
      if (!anchor) w0 = new Map(Object.entries(ctx.target.params).map(([k, v]) => [k, v.slice()]));
    },
    beforeStep(ctx, grads) {
      if (mu === 0) return;
      for (const [name, g] of Object.entries(grads)) {
        const w = ctx.target.params[name];
        const a = w0?.get(name);
        if (!w || !a || a.length !== g.length || w.length !== g.length)
          throw new AggregatorError(`fedprox: no anchor of the right size for parameter '${name}'`);
        for (let i = 0; i < g.length; i++) g[i]! += mu * (w[i]! - a[i]!);
      }
    },
  };
}

/** The trainer hooks a round's trainConfig asks a client for (FedProx's proximal term so far). */
export function hooksForTrainConfig(trainConfig: { [key: string]: JsonValue } | undefined): TrainerHooks[] {
  const mu = trainConfig?.[PROXIMAL_MU];
  if (mu === undefined) return [];
  if (typeof mu !== 'number') throw new AggregatorError(`trainConfig.${PROXIMAL_MU} must be a number, got ${JSON.stringify(mu)}`);
  return mu === 0 ? [] : [proximalHook(mu)]; // proximalHook refuses a negative or non-finite mu
}
