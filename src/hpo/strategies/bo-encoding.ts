// How BO sees a search space: every hyperparameter as one GP input in the unit cube (toUnit: log dims
// in log space), ordinal values (ints, grids) as the levels they may take there, categories as
// indices compared by 0/1 mismatch. Decoding snaps back to a legal value (fromUnit).
import type { GpInputSpec, SearchDim } from '../gp/index.js';
import { type Config, fromUnit, type ParamSpec, type ParamValue, paramValues, type SearchSpace, spaceSize, toUnit } from '../space.js';

export class UnitEncoding {
  readonly names: readonly string[];
  readonly specs: readonly ParamSpec[];
  readonly dims: readonly SearchDim[];
  readonly gpInputs: GpInputSpec;
  /** Number of distinct configs (Infinity when a dim is continuous). */
  readonly size: number;

  constructor(readonly space: SearchSpace) {
    this.names = [...space.keys()];
    this.specs = [...space.values()];
    this.dims = this.specs.map((p): SearchDim => {
      if (p.type === 'categorical') return { kind: 'categorical', count: p.choices.length };
      const values = paramValues(p);
      if (!values) return { kind: 'continuous' };
      const levels = [...new Set(values.map((v) => toUnit(p, v)))].sort((a, b) => a - b);
      return { kind: 'discrete', levels: Float64Array.from(levels) };
    });
    this.gpInputs = { categorical: this.specs.map((p) => p.type === 'categorical') };
    this.size = spaceSize(space);
  }

  get dimension(): number {
    return this.names.length;
  }

  /** The GP input of a config. */
  encode(config: Config): Float64Array {
    return Float64Array.from(this.specs, (p, d) => {
      const v = config[this.names[d]!]!;
      return p.type === 'categorical' ? p.choices.indexOf(v) : toUnit(p, v);
    });
  }

  /** The legal config nearest to a GP input. */
  decode(x: ArrayLike<number>): Config {
    const config: Record<string, ParamValue> = {};
    this.specs.forEach((p, d) => {
      config[this.names[d]!] = p.type === 'categorical' ? p.choices[Math.round(x[d]!)]! : fromUnit(p, x[d]!);
    });
    return config;
  }

  /** Every GP input of a finite space (callers keep `size` small). */
  enumerate(): Float64Array[] {
    const axes = this.dims.map((dim) => {
      if (dim.kind === 'categorical') return Array.from({ length: dim.count }, (_, i) => i);
      if (dim.kind === 'discrete') return [...dim.levels];
      throw new RangeError('enumerate: the space has a continuous dimension');
    });
    let points: number[][] = [[]];
    for (const axis of axes) points = points.flatMap((prefix) => axis.map((v) => [...prefix, v]));
    return points.map((p) => Float64Array.from(p));
  }
}
