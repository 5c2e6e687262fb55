// Bins of one hyperparameter for landscapes and importance: a finite dimension keeps its values
// (categorical choices in their order, grids, a few observed numbers), a continuous one is cut into
// equal-width bins in its own scale (log dims in log space, so 1e-4..1e-1 gets one bin per decade
// or so rather than one bin holding everything below 0.0125).
import { fromUnit, type ParamSpec, type ParamValue, toUnit } from './space.js';

export interface ParamBinning {
  readonly name: string;
  /** Bin labels in axis order. */
  readonly labels: readonly string[];
  /** The bin of a value (its index into labels), or -1 for a value outside every bin. */
  binOf(value: ParamValue): number;
}

/** Continuous or many-valued dims get this many bins unless asked otherwise. */
export const DEFAULT_MAX_BINS = 8;

/** A short label: numbers to `digits` significant digits, small and large ones as 2.4e-4. */
export function formatParamValue(v: ParamValue, digits = 3): string {
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5))
    return v
      .toExponential(digits - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

export function binParam(name: string, spec: ParamSpec, observed: readonly ParamValue[], maxBins = DEFAULT_MAX_BINS): ParamBinning {
  if (spec.type === 'categorical') {
    const keys = spec.choices.map((c) => JSON.stringify(c));
    return { name, labels: spec.choices.map((c) => formatParamValue(c)), binOf: (v) => keys.indexOf(JSON.stringify(v)) };
  }
  const distinct = [...new Set(observed.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b);
  if (distinct.length <= maxBins)
    return { name, labels: distinct.map((v) => formatParamValue(v)), binOf: (v) => distinct.indexOf(v as number) };
  const edges = Array.from({ length: maxBins + 1 }, (_, i) =>
    spec.type === 'int' && !spec.log ? spec.low + ((spec.high - spec.low) * i) / maxBins : fromUnit(spec, i / maxBins),
  );
  const labels = edges.slice(0, -1).map((lo, i) => `${formatParamValue(lo, 2)}–${formatParamValue(edges[i + 1]!, 2)}`);
  return {
    name,
    labels,
    binOf: (v) => (typeof v === 'number' ? Math.min(maxBins - 1, Math.max(0, Math.floor(toUnit(spec, v) * maxBins))) : -1),
  };
}
