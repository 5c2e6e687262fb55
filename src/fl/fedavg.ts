// FedAvg (McMahan et al., 2017): the new global adapter is the average of the clients' local
// adapters weighted by their sample counts. Sums run in float64, results are float32.
import type { Rng } from '../engine/rng.js';
import { type Aggregator, AggregatorError, type ClientUpdate, type JsonValue, type RoundPlan, validateUpdates } from './aggregator.js';
import { sampleClients } from './sampling.js';
import type { NamedTensors } from './tensors.js';

/** sum_k n_k x_k / sum_k n_k for every tensor. Validates the updates against `global` first. */
export function fedAvg(global: NamedTensors, updates: readonly ClientUpdate[]): NamedTensors {
  validateUpdates(global, updates);
  let total = 0;
  for (const u of updates) total += u.samples;
  const out: NamedTensors = new Map();
  for (const [name, g] of global) {
    const acc = new Float64Array(g.data.length);
    for (const u of updates) {
      const x = u.tensors.get(name)!.data;
      for (let i = 0; i < acc.length; i++) acc[i]! += u.samples * x[i]!;
    }
    const mean = new Float32Array(acc.length);
    for (let i = 0; i < acc.length; i++) mean[i] = acc[i]! / total;
    out.set(name, { shape: [...g.shape], data: mean });
  }
  return out;
}

export interface FedAvgOptions {
  /** Fraction of the available clients sampled each round, in (0, 1] (default 1: all). */
  sampleRate?: number;
}

export function checkSampleRate(rate: number, who: string): number {
  if (!(rate > 0 && rate <= 1)) throw new AggregatorError(`${who}: sample rate must be in (0, 1], got ${rate}`);
  return rate;
}

/** Checks that a state came from the same kind of aggregator; returns it as an object. */
export function stateOf(state: JsonValue, name: string): { [key: string]: JsonValue } {
  if (state === null || typeof state !== 'object' || Array.isArray(state) || state.aggregator !== name)
    throw new AggregatorError(`${name}: cannot restore a state that is not a ${name} state: ${JSON.stringify(state)?.slice(0, 80)}`);
  return state;
}

export class FedAvg implements Aggregator {
  readonly sampleRate: number;

  /** A getter, so subclasses' names are already in place while this constructor validates. */
  get name(): string {
    return 'fedavg';
  }

  constructor(options: FedAvgOptions = {}) {
    this.sampleRate = checkSampleRate(options.sampleRate ?? 1, this.name);
  }

  configureRound(_round: number, clientIds: readonly string[], rng: Rng): RoundPlan {
    return { clients: sampleClients(clientIds, this.sampleRate, rng) };
  }

  aggregate(global: NamedTensors, updates: readonly ClientUpdate[], _round: number): NamedTensors {
    return fedAvg(global, updates);
  }

  /** FedAvg keeps nothing between rounds. */
  state(): JsonValue {
    return { aggregator: this.name };
  }

  restore(state: JsonValue): void {
    stateOf(state, this.name);
  }
}
