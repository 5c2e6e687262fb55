// FedAvgM (Hsu, Qi, Brown, 2019): server momentum on the pseudo-gradient. With avg the FedAvg of the
// round's updates and w the global adapter:
//   delta = w - avg;   v <- momentum * v + delta;   w <- w - serverLr * v
// serverLr 1 and momentum 0 is FedAvg. v starts at zero and is the state carried across rounds.
import { type ClientUpdate, AggregatorError, type JsonValue } from './aggregator.js';
import { CodecError, decodeTensors, encodeTensors } from './codec/codec.js';
import { FedAvg, type FedAvgOptions, fedAvg, stateOf } from './fedavg.js';
import { checkSameLayout, type NamedTensors, TensorLayoutError } from './tensors.js';

export interface FedAvgMOptions extends FedAvgOptions {
  /** Server learning rate, > 0 (default 1). */
  serverLr?: number;
  /** Momentum beta in [0, 1) (default 0.9). */
  momentum?: number;
}

export class FedAvgM extends FedAvg {
  readonly serverLr: number;
  readonly momentum: number;
  private velocity: NamedTensors | null = null;

  override get name(): string {
    return 'fedavgm';
  }

  constructor(options: FedAvgMOptions = {}) {
    super(options);
    this.serverLr = options.serverLr ?? 1;
    this.momentum = options.momentum ?? 0.9;
    if (!(this.serverLr > 0 && Number.isFinite(this.serverLr)))
      throw new AggregatorError(`${this.name}: server learning rate must be finite and > 0, got ${this.serverLr}`);
    if (!(this.momentum >= 0 && this.momentum < 1))
      throw new AggregatorError(`${this.name}: momentum must be in [0, 1), got ${this.momentum}`);
  }

  override aggregate(global: NamedTensors, updates: readonly ClientUpdate[], _round: number): NamedTensors {
    const avg = fedAvg(global, updates);
    if (this.velocity) {
      try {
        checkSameLayout(global, this.velocity, `${this.name}: momentum buffer`);
      } catch (e) {
        throw e instanceof TensorLayoutError ? new AggregatorError(`${e.message} (the adapter changed since the state was saved)`) : e;
      }
    }
    const velocity: NamedTensors = new Map();
    const next: NamedTensors = new Map();
    for (const [name, g] of global) {
      const w = g.data;
      const a = avg.get(name)!.data;
      const old = this.velocity?.get(name)?.data;
      const v = new Float32Array(w.length);
      const out = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const vi = this.momentum * (old ? old[i]! : 0) + (w[i]! - a[i]!);
        v[i] = vi;
        out[i] = w[i]! - this.serverLr * vi;
      }
      velocity.set(name, { shape: [...g.shape], data: v });
      next.set(name, { shape: [...g.shape], data: out });
    }
    this.velocity = velocity;
    return next;
  }

  /** The momentum buffer as a base64 fp32 codec message (exact, about 4/3 bytes per byte of float32). */
  override state(): JsonValue {
    return {
      aggregator: this.name,
      velocity: this.velocity ? Buffer.from(encodeTensors(this.velocity, { precision: 'fp32' })).toString('base64') : null,
    };
  }

  override restore(state: JsonValue): void {
    const s = stateOf(state, this.name);
    if (s.velocity === null) {
      this.velocity = null;
      return;
    }
    if (typeof s.velocity !== 'string') throw new AggregatorError(`${this.name}: state.velocity must be a base64 string or null`);
    try {
      this.velocity = decodeTensors(Buffer.from(s.velocity, 'base64')).tensors;
    } catch (e) {
      if (e instanceof CodecError) throw new AggregatorError(`${this.name}: cannot restore the momentum buffer: ${e.message}`);
      throw e;
    }
  }
}
