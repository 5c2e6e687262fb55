// Standard test functions as tabular FedHPO problems: the function on a grid (one grid dim per
// coordinate), observed at a fidelity in rounds with noise that shrinks as rounds grow, as replayed
// benchmarks (FedHPO-Bench) behave. The noise is a seeded deterministic function of (config, round),
// so a "table" lookup returns the same value whenever it is asked. Used by tests and bench/hpo.ts.
import { Rng } from '../engine/rng.js';
import { type Config, configKey, type ParamSpec, paramValues, type SearchSpace } from './space.js';
import type { FidelityRange, Objective } from './strategy.js';

/** A study's problem as a simulation sees it: what a trial of a config reports after some rounds. */
export interface SimulatedProblem {
  readonly name: string;
  readonly space: SearchSpace;
  readonly objectives: readonly Objective[];
  readonly fidelity: FidelityRange;
  /** What a trial of `config` reports after `round` rounds (the first objective; one objective here). */
  value(config: Config, round: number): number;
}

/**
 * A problem over a finite grid whose every value at the maximum round is known, so a run can be scored
 * by normalised regret: a test function on a grid, or a recorded benchmark table (bench-problem.ts).
 * Better is the direction of the first objective.
 */
export interface GridProblem extends SimulatedProblem {
  /** Every config of the grid with its value at the maximum round, and the best and worst of them. */
  table(): TabularSummary;
  /** Rounds to run every config of the grid to the maximum round: the "grid's budget". */
  readonly gridBudget: number;
}

export interface TabularProblem extends GridProblem {
  /** The noise-free function at a config. */
  exact(config: Config): number;
  /** The function's known continuous optimum (the grid's best is `table().best`, noise included). */
  readonly knownOptimum: { readonly value: number; readonly at: readonly number[] };
}

export interface TabularSummary {
  readonly configs: readonly Config[];
  readonly values: Float64Array;
  readonly best: number;
  readonly worst: number;
  readonly bestConfig: Config;
}

/** The summary of `configs` with their max-round `values`: best and worst in `direction`. */
export function tabularSummary(configs: readonly Config[], values: Float64Array, direction: Objective['direction']): TabularSummary {
  const sign = direction === 'minimize' ? 1 : -1;
  let best = 0;
  let worst = 0;
  values.forEach((v, i) => {
    if (sign * v < sign * values[best]!) best = i;
    if (sign * v > sign * values[worst]!) worst = i;
  });
  return { configs, values, best: values[best]!, worst: values[worst]!, bestConfig: configs[best]! };
}

export interface TabularOptions {
  /** Grid points per coordinate. */
  readonly levels?: number;
  /** Seeds the noise table. */
  readonly seed?: number;
  /** Noise sd at the minimum fidelity, in units of the function's sd over the grid; it falls as min/round. */
  readonly noise?: number;
  readonly fidelity?: FidelityRange;
}

/** Every config of a finite space, in space order. */
export function gridConfigs(space: SearchSpace): Config[] {
  let configs: Record<string, number | string | boolean>[] = [{}];
  for (const [name, p] of space) {
    const values = paramValues(p);
    if (!values) throw new RangeError(`gridConfigs: ${name} is continuous`);
    configs = configs.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return configs;
}

/** Seeded noise with sd `noiseAtMin * scale * fidelity.min / round`, a deterministic function of (config, round). */
function shrinkingNoise(name: string, space: SearchSpace, fidelity: FidelityRange, opts: TabularOptions, scale: number) {
  const noiseAtMin = opts.noise ?? 0.5;
  const rng = new Rng(opts.seed ?? 0).fork(`tabular-${name}`);
  return (config: Config, round: number) => {
    const r = Math.max(fidelity.min, round);
    return noiseAtMin * scale * (fidelity.min / r) * rng.fork(configKey(space, config)).fork(r).normal();
  };
}

function tabular(
  name: string,
  space: SearchSpace,
  coords: (config: Config) => number[],
  f: (x: readonly number[]) => number,
  knownOptimum: TabularProblem['knownOptimum'],
  opts: TabularOptions,
): TabularProblem {
  const fidelity = opts.fidelity ?? { min: 1, max: 27 };
  const exact = (config: Config) => f(coords(config));
  const configs = gridConfigs(space);
  const exacts = configs.map(exact);
  const mean = exacts.reduce((a, b) => a + b, 0) / exacts.length;
  const sd = Math.sqrt(exacts.reduce((a, b) => a + (b - mean) ** 2, 0) / exacts.length);
  const noise = shrinkingNoise(name, space, fidelity, opts, sd);
  const value = (config: Config, round: number) => exact(config) + noise(config, round);
  let summary: TabularSummary | undefined;
  const table = (): TabularSummary => {
    summary ??= tabularSummary(
      configs,
      Float64Array.from(configs, (c) => value(c, fidelity.max)),
      'minimize',
    );
    return summary;
  };
  return {
    name,
    space,
    objectives: [{ name: 'value', direction: 'minimize' }],
    fidelity,
    exact,
    value,
    knownOptimum,
    table,
    gridBudget: configs.length * fidelity.max,
  };
}

/** Cell centres of `levels` equal cells over [low, high]. */
const cellCentres = (low: number, high: number, levels: number) =>
  Array.from({ length: levels }, (_, i) => low + ((high - low) * (i + 0.5)) / levels);

/** Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475). */
export function braninFunction(x: readonly number[]): number {
  const [x1, x2] = [x[0]!, x[1]!];
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

/** Branin on a grid of float dims `x1`, `x2` (explicit grid values, `levels` per coordinate; default 20). */
export function braninGrid(opts: TabularOptions = {}): TabularProblem {
  const levels = opts.levels ?? 20;
  const dim = (low: number, high: number): ParamSpec => ({ type: 'float', low, high, grid: cellCentres(low, high, levels) });
  const space: SearchSpace = new Map([
    ['x1', dim(-5, 10)],
    ['x2', dim(0, 15)],
  ]);
  return tabular('branin', space, (c) => [c.x1 as number, c.x2 as number], braninFunction, { value: 0.397887, at: [Math.PI, 2.275] }, opts);
}

// Hartmann-6 (Dixon & Szegő 1978): four Gaussian bumps on [0, 1]^6.
const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((v) => v * 1e-4));

/** Hartmann-6 on [0, 1]^6; minimum -3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). */
export function hartmann6Function(x: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let e = 0;
    for (let j = 0; j < 6; j++) e += H6_A[i]![j]! * (x[j]! - H6_P[i]![j]!) ** 2;
    s -= H6_ALPHA[i]! * Math.exp(-e);
  }
  return s;
}

/** Hartmann-6 on a grid of int dims `x1`..`x6` in 0..levels-1, the cell centres of [0, 1] (default 3 levels). */
export function hartmann6Grid(opts: TabularOptions = {}): TabularProblem {
  const levels = opts.levels ?? 3;
  const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
  const space: SearchSpace = new Map(names.map((n) => [n, { type: 'int', low: 0, high: levels - 1 } satisfies ParamSpec]));
  const coords = (c: Config) => names.map((n) => ((c[n] as number) + 0.5) / levels);
  return tabular(
    'hartmann6',
    space,
    coords,
    hartmann6Function,
    { value: -3.32237, at: [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573] },
    opts,
  );
}

/**
 * Hartmann-6 on the continuous unit cube (float dims x1..x6), with the same shrinking noise (scale:
 * the function's sd over the 3-level grid): a problem for timing strategies on a space no table covers.
 */
export function hartmann6Continuous(opts: TabularOptions = {}): SimulatedProblem {
  const fidelity = opts.fidelity ?? { min: 1, max: 27 };
  const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
  const space: SearchSpace = new Map(names.map((n) => [n, { type: 'float', low: 0, high: 1 } satisfies ParamSpec]));
  const grid = hartmann6Grid({ levels: 3 });
  const exacts = gridConfigs(grid.space).map((c) => grid.exact(c));
  const mean = exacts.reduce((a, b) => a + b, 0) / exacts.length;
  const sd = Math.sqrt(exacts.reduce((a, b) => a + (b - mean) ** 2, 0) / exacts.length);
  const noise = shrinkingNoise('hartmann6-continuous', space, fidelity, opts, sd);
  return {
    name: 'hartmann6-continuous',
    space,
    objectives: [{ name: 'value', direction: 'minimize' }],
    fidelity,
    value: (config, round) => hartmann6Function(names.map((n) => config[n] as number)) + noise(config, round),
  };
}
