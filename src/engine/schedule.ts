// Learning-rate schedules: linear warmup, then constant, linear or cosine decay.
//
// `step` is the 0-based index of the optimizer step about to be taken (lrAt(0, cfg) is the lr of
// the first update), w = warmupSteps, T = totalSteps, r = minRatio:
//   step <  w: base * (step + 1) / w          first step base/w, step w-1 reaches base
//   step >= w: base * (r + (1 - r) * f(p)),   p = min(1, (step - w) / max(1, T - w))
//              f = 1 (constant), 1 - p (linear), (1 + cos(pi p)) / 2 (cosine)
// The decay is HF transformers' get_{constant,linear,cosine}_schedule_with_warmup lambda (with
// get_cosine_with_min_lr_schedule_with_warmup's min_lr_rate = r). The warmup deliberately differs:
// HF uses step / w, which with LambdaLR makes the first optimizer step run at lr 0; here warmup
// uses (step + 1) / w so no step is wasted, which means steps w-1 and w both run at base.
// The lr reaches base*r at step T (one past the last of T steps, so every step has lr > 0 even with
// r = 0) and stays there for step > T (HF's cosine would rise again). Constant ignores T and r.

export type ScheduleKind = 'constant' | 'cosine' | 'linear';

export interface ScheduleConfig {
  base: number;
  warmupSteps: number;
  totalSteps: number;
  kind: ScheduleKind;
  /** Final lr as a fraction of base (default 0). */
  minRatio?: number;
}

export function lrAt(step: number, cfg: ScheduleConfig): number {
  const { base, warmupSteps: w, totalSteps: T, kind } = cfg;
  const r = cfg.minRatio ?? 0;
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`lrAt: step must be an integer >= 0, got ${step}`);
  if (!(Number.isFinite(base) && base >= 0)) throw new RangeError(`lrAt: base must be finite and >= 0, got ${base}`);
  if (!(Number.isInteger(w) && w >= 0 && Number.isInteger(T) && T >= 0))
    throw new RangeError('lrAt: warmupSteps and totalSteps must be integers >= 0');
  if (!(r >= 0 && r <= 1)) throw new RangeError(`lrAt: minRatio must be in [0, 1], got ${r}`);

  if (step < w) return (base * (step + 1)) / w;
  const p = Math.min(1, (step - w) / Math.max(1, T - w));
  switch (kind) {
    case 'constant':
      return base;
    case 'linear':
      return base * (r + (1 - r) * (1 - p));
    case 'cosine':
      return base * (r + (1 - r) * 0.5 * (1 + Math.cos(Math.PI * p)));
    default:
      throw new RangeError(`lrAt: unknown schedule kind "${kind as string}"`);
  }
}
