// Limited-memory BFGS (Nocedal & Wright 2006, alg. 7.4/7.5) with a backtracking Armijo line search:
// small, dependency-free, good enough for the few smooth parameters of a kernel.

export type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

export interface LbfgsOptions {
  /** Iterations (each one line search). */
  readonly maxIterations?: number;
  /** Stop when the largest gradient component falls below this. */
  readonly gradTolerance?: number;
  /** Stop when an iteration improves the value by less than this, relatively. */
  readonly valueTolerance?: number;
  /** Correction pairs kept. */
  readonly memory?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly evaluations: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Float64Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export function minimizeLbfgs(f: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const maxIterations = opts.maxIterations ?? 100;
  const gradTolerance = opts.gradTolerance ?? 1e-5;
  const valueTolerance = opts.valueTolerance ?? 1e-10;
  const memory = opts.memory ?? 6;
  let x = Float64Array.from(x0);
  let cur = f(x);
  let evaluations = 1;
  if (!Number.isFinite(cur.value)) return { x, value: cur.value, iterations: 0, evaluations };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let iterations = 0;
  while (iterations < maxIterations && maxAbs(cur.grad) > gradTolerance) {
    iterations++;
    // Two-loop recursion: direction = -H grad.
    const q = Float64Array.from(cur.grad);
    const rho = S.map((s, i) => 1 / dot(Y[i]!, s));
    const a = new Float64Array(S.length);
    for (let i = S.length - 1; i >= 0; i--) {
      a[i] = rho[i]! * dot(S[i]!, q);
      for (let k = 0; k < q.length; k++) q[k] = q[k]! - a[i]! * Y[i]![k]!;
    }
    const gamma = S.length ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!) : 1 / Math.max(1, maxAbs(cur.grad));
    for (let k = 0; k < q.length; k++) q[k] = q[k]! * gamma;
    for (let i = 0; i < S.length; i++) {
      const b = rho[i]! * dot(Y[i]!, q);
      for (let k = 0; k < q.length; k++) q[k] = q[k]! + (a[i]! - b) * S[i]![k]!;
    }
    let dir = q.map((v) => -v);
    let slope = dot(dir, cur.grad);
    if (!(slope < 0)) {
      // Not a descent direction (curvature lost): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      dir = cur.grad.map((g) => -g / Math.max(1, maxAbs(cur.grad)));
      slope = dot(dir, cur.grad);
    }
    // Backtracking until the Armijo condition holds.
    let step = 1;
    let next: { value: number; grad: Float64Array } | undefined;
    let xNext = x;
    for (let tries = 0; tries < 30; tries++) {
      xNext = x.map((v, k) => v + step * dir[k]!);
      const trial = f(xNext);
      evaluations++;
      if (Number.isFinite(trial.value) && trial.value <= cur.value + 1e-4 * step * slope) {
        next = trial;
        break;
      }
      step *= 0.5;
    }
    if (!next) break;
    const s = xNext.map((v, k) => v - x[k]!);
    const yv = next.grad.map((g, k) => g - cur.grad[k]!);
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
    const improvement = cur.value - next.value;
    x = xNext;
    cur = next;
    if (improvement <= valueTolerance * Math.max(1, Math.abs(cur.value))) break;
  }
  return { x, value: cur.value, iterations, evaluations };
}
