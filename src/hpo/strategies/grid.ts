// Grid search: every combination of each dimension's grid values, at the full fidelity. A finite
// dimension contributes all its values (choices, `grid:` values, int steps); a continuous one
// `pointsPerDim` evenly spaced points (log dims in log space). Lexicographic order (last dimension
// fastest), or shuffled by the seed; a config the study already has is skipped, so nothing runs twice.
import { z } from 'zod';
import { UserError } from '../../engine/errors.js';
import type { JsonValue } from '../../engine/json.js';
import { Rng } from '../../engine/rng.js';
import { parseOptions } from '../options.js';
import { triedKeys } from '../sampling.js';
import { type Config, configKey, fromUnit, type ParamSpec, type ParamValue, paramValues, type SearchSpace } from '../space.js';
import type { Strategy, StrategyContext, StrategyFactory, StudyView, Suggestion } from '../strategy.js';
import { readCount, readState } from './state.js';

export const gridOptions = z.object({
  pointsPerDim: z.number().int().min(1).max(1000).default(5).describe('points on each continuous dimension'),
  shuffle: z.boolean().default(false).describe('visit the grid in an order shuffled by the seed'),
});

/** Grids larger than this are refused: a grid search that could never finish is a mistake. */
export const MAX_GRID_POINTS = 1_000_000;

/** A dimension's grid values: its own values when finite, else `points` evenly spaced in the unit cube (deduplicated). */
export function gridValues(p: ParamSpec, points: number): ParamValue[] {
  const own = paramValues(p);
  if (own) return [...own];
  const us = points === 1 ? [0.5] : Array.from({ length: points }, (_, i) => i / (points - 1));
  return [...new Set(us.map((u) => fromUnit(p, u)))];
}

/** The grid of a space: per dimension (in space order) its values, and the number of points. */
export function spaceGrid(space: SearchSpace, points: number): { dims: [string, ParamValue[]][]; size: number } {
  const dims = [...space].map(([name, p]) => [name, gridValues(p, points)] as [string, ParamValue[]]);
  return { dims, size: dims.reduce((n, [, v]) => n * v.length, 1) };
}

export class GridSearch implements Strategy {
  readonly name = 'grid';
  readonly multiObjective = true;
  private readonly dims: [string, ParamValue[]][];
  private readonly size: number;
  /** Visiting order of grid indices when shuffled. */
  private readonly order?: Uint32Array;
  /** Position in the visiting order of the next point to consider. */
  private cursor = 0;

  constructor(private readonly ctx: StrategyContext) {
    const options = parseOptions(gridOptions, ctx.options, 'strategy grid');
    ({ dims: this.dims, size: this.size } = spaceGrid(ctx.space, options.pointsPerDim));
    if (this.size > MAX_GRID_POINTS)
      throw new UserError(
        `strategy grid: the grid has ${this.size} points (more than ${MAX_GRID_POINTS}); lower option pointsPerDim or give dimensions grid: values`,
      );
    if (options.shuffle)
      this.order = Uint32Array.from(new Rng(ctx.seed).fork('grid').shuffle(Array.from({ length: this.size }, (_, i) => i)));
  }

  /** The grid point at position `i` of the visiting order. */
  private at(i: number): Config {
    let rest = this.order ? this.order[i]! : i;
    const picked: ParamValue[] = [];
    for (let d = this.dims.length - 1; d >= 0; d--) {
      const values = this.dims[d]![1];
      picked[d] = values[rest % values.length]!;
      rest = Math.floor(rest / values.length);
    }
    return Object.fromEntries(this.dims.map(([name], d) => [name, picked[d]!]));
  }

  /** The position of the next point at or after `from` that the study has not tried, or the grid size. */
  private nextUntried(from: number, taken: ReadonlySet<string>): number {
    let i = from;
    while (i < this.size && taken.has(configKey(this.ctx.space, this.at(i)))) i++;
    return i;
  }

  ask(study: StudyView, n: number): Suggestion[] {
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity);
    const out: Suggestion[] = [];
    while (out.length < n) {
      this.cursor = this.nextUntried(this.cursor, taken);
      if (this.cursor >= this.size) break;
      out.push({ config: this.at(this.cursor++), fidelity });
    }
    return out;
  }

  tell(): void {}

  isDone(study: StudyView): boolean {
    return this.nextUntried(this.cursor, triedKeys(study, this.ctx.fidelity.max)) >= this.size;
  }

  state(): JsonValue {
    return { cursor: this.cursor };
  }

  restore(state: JsonValue): void {
    this.cursor = readCount(readState(state, 'grid').cursor, 'grid', 'cursor');
  }
}

export const gridSearch: StrategyFactory = (ctx) => new GridSearch(ctx);
