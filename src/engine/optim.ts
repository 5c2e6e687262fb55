// Optimizers over named parameters, updated in place, with torch.optim semantics (AdamW, SGD).
// Arithmetic is float64 per element; parameters and moment buffers are stored as float32.
// A parameter with no entry in `grads` is skipped (like torch's p.grad is None) and its state
// (step count, moments) is left untouched.

/** Named tensors: trainable parameters, or their gradients under the same names. */
export type Params = Record<string, Float32Array>;

export type OptimizerKind = 'adamw' | 'sgd';

/** JSON-serialisable optimizer state (hyperparameters are not part of it: they come from the constructor). */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Per parameter: number of steps taken and named buffers (AdamW: m, v; SGD: momentum). */
  slots: Record<string, { step: number; buffers: Record<string, number[]> }>;
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  step(params: Params, grads: Params, lr: number): void;
  state(): OptimizerState;
  /** Replace all state with `s` (from state() of an optimizer of the same kind). */
  restore(s: OptimizerState): void;
}

interface Slot {
  step: number;
  buffers: Record<string, Float32Array>;
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: OptimizerKind;
  private slots = new Map<string, Slot>();

  /** Update one parameter; `slot.step` already counts this step (1 on the first). */
  protected abstract update(p: Float32Array, g: Float32Array, slot: Slot, lr: number): void;

  step(params: Params, grads: Params, lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`${this.kind}: lr must be finite and >= 0, got ${lr}`);
    const names = Object.keys(grads);
    for (const name of names) {
      const p = params[name];
      if (!p) throw new Error(`${this.kind}: gradient for unknown parameter "${name}"`);
      if (p.length !== grads[name]!.length)
        throw new Error(`${this.kind}: "${name}" has ${p.length} values but its gradient ${grads[name]!.length}`);
    }
    for (const name of names) {
      let slot = this.slots.get(name);
      if (!slot) this.slots.set(name, (slot = { step: 0, buffers: {} }));
      slot.step++;
      this.update(params[name]!, grads[name]!, slot, lr);
    }
  }

  /** The named buffer of a slot, created as zeros on first use. */
  protected buffer(slot: Slot, name: string, length: number): Float32Array {
    const buf = (slot.buffers[name] ??= new Float32Array(length));
    if (buf.length !== length) throw new Error(`${this.kind}: state buffer "${name}" has ${buf.length} values, parameter ${length}`);
    return buf;
  }

  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, slot] of this.slots) {
      const buffers: Record<string, number[]> = {};
      for (const [b, arr] of Object.entries(slot.buffers)) buffers[b] = Array.from(arr);
      slots[name] = { step: slot.step, buffers };
    }
    return { kind: this.kind, slots };
  }

  restore(s: OptimizerState): void {
    if (s?.kind !== this.kind) throw new Error(`${this.kind}: cannot restore state of kind "${s?.kind}"`);
    const slots = new Map<string, Slot>();
    for (const [name, { step, buffers }] of Object.entries(s.slots)) {
      if (!Number.isInteger(step) || step < 0) throw new Error(`${this.kind}: bad step count for "${name}"`);
      const bufs: Record<string, Float32Array> = {};
      for (const [b, arr] of Object.entries(buffers)) bufs[b] = Float32Array.from(arr);
      slots.set(name, { step, buffers: bufs });
    }
    this.slots = slots;
  }
}

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.01 (torch.optim.AdamW default)
}

/**
 * torch.optim.AdamW: p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), t = this parameter's step count.
 */
export class AdamW extends BaseOptimizer {
  readonly kind = 'adamw' as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(opts: AdamWOptions = {}) {
    super();
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) throw new RangeError('AdamW: betas must be in [0, 1)');
    if (!(this.eps >= 0 && this.weightDecay >= 0)) throw new RangeError('AdamW: eps and weightDecay must be >= 0');
  }

  protected update(p: Float32Array, g: Float32Array, slot: Slot, lr: number): void {
    const { beta1: b1, beta2: b2, eps } = this;
    const m = this.buffer(slot, 'm', p.length);
    const v = this.buffer(slot, 'v', p.length);
    const stepSize = lr / (1 - b1 ** slot.step);
    const sqrtBc2 = Math.sqrt(1 - b2 ** slot.step);
    const decay = 1 - lr * this.weightDecay;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      const mi = b1 * m[i]! + (1 - b1) * gi;
      const vi = b2 * v[i]! + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    }
  }
}

export interface SgdOptions {
  momentum?: number; // default 0
  dampening?: number; // default 0
  weightDecay?: number; // default 0 (L2: added to the gradient)
  nesterov?: boolean; // default false; needs momentum > 0 and dampening 0
}

/**
 * torch.optim.SGD: d = g + wd*p; buf = d on the first step, else momentum*buf + (1-dampening)*d;
 * d = nesterov ? d + momentum*buf : buf; p -= lr*d. Gradients are not modified.
 */
export class SgdMomentum extends BaseOptimizer {
  readonly kind = 'sgd' as const;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(opts: SgdOptions = {}) {
    super();
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.momentum >= 0 && this.weightDecay >= 0)) throw new RangeError('SGD: momentum and weightDecay must be >= 0');
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new RangeError('SGD: nesterov needs momentum > 0 and dampening 0');
  }

  protected update(p: Float32Array, g: Float32Array, slot: Slot, lr: number): void {
    const { momentum: mu, weightDecay: wd, nesterov } = this;
    if (mu === 0) {
      for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
      return;
    }
    const first = !('momentum' in slot.buffers);
    const buf = this.buffer(slot, 'momentum', p.length);
    const keep = first ? 0 : mu;
    const take = first ? 1 : 1 - this.dampening;
    for (let i = 0; i < p.length; i++) {
      const d = g[i]! + wd * p[i]!;
      const b = keep * buf[i]! + take * d;
      buf[i] = b;
      p[i] = p[i]! - lr * (nesterov ? d + mu * b : b);
    }
  }
}

export type OptimizerConfig = ({ kind: 'adamw' } & AdamWOptions) | ({ kind: 'sgd' } & SgdOptions);

export function createOptimizer(cfg: OptimizerConfig): Optimizer {
  switch (cfg.kind) {
    case 'adamw':
      return new AdamW(cfg);
    case 'sgd':
      return new SgdMomentum(cfg);
    default:
      throw new Error(`unknown optimizer kind "${(cfg as { kind: unknown }).kind}"`);
  }
}

/**
 * Global L2 norm over all gradients; if it exceeds maxNorm, scale every gradient in place by
 * maxNorm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns the pre-clip norm. A NaN or
 * infinite norm is returned as is and nothing is scaled (check gradsFinite / skip the step).
 */
export function clipGradNorm(grads: Params, maxNorm: number): number {
  if (!(maxNorm >= 0)) throw new RangeError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  let sq = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return norm;
}

/** True when no gradient holds a NaN or an infinity. */
export function gradsFinite(grads: Params): boolean {
  for (const g of Object.values(grads)) {
    let acc = 0;
    for (let i = 0; i < g.length; i++) acc += g[i]! * 0; // NaN for NaN/±Inf, else 0
    if (acc !== 0) return false;
  }
  return true;
}
