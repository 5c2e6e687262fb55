// Rank landscapes (the reference paper's Figure 5): over two hyperparameters, one heatmap of the
// validation-loss rank and one of the score rank, side by side. The other hyperparameters are
// marginalised per cell (the best trial in the cell, or the mean of its trials), then the cells are
// ranked: 1 = the best cell. Continuous dims are binned (hpo/param-bins).
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../engine/errors.js';
import { binParam, DEFAULT_MAX_BINS } from '../hpo/param-bins.js';
import { ranksBy } from '../hpo/ranking.js';
import { completeTrials, metricDirection, metricValue, SCORE, type StudyData, studyLabel, VAL_LOSS } from '../hpo/study-data.js';
import { CHART_CONFIG, type Chart } from './chart.js';
import type { Marginalize } from './chart-options.js';

export type { Marginalize } from './chart-options.js';

export interface LandscapeOptions {
  readonly x: string;
  readonly y: string;
  /** How trials that differ in the other hyperparameters make one cell's value (default best). */
  readonly marginalize?: Marginalize;
  /** Bins for continuous or many-valued dims (default 8). */
  readonly maxBins?: number;
  /** Only complete trials at this fidelity (default all complete trials). */
  readonly fidelity?: number;
}

export interface LandscapeCell {
  readonly metric: string;
  readonly xBin: number;
  readonly yBin: number;
  readonly x: string;
  readonly y: string;
  /** The cell's metric value (best or mean over its trials). */
  readonly value: number;
  /** The cell's rank among the cells with a value (1 = best, ties averaged). */
  readonly rank: number;
  readonly trials: number;
}

export interface Landscape {
  readonly xLabels: readonly string[];
  readonly yLabels: readonly string[];
  readonly cells: readonly LandscapeCell[];
}

export const LANDSCAPE_METRICS = [VAL_LOSS, SCORE] as const;

function checkDims(study: StudyData, o: LandscapeOptions): void {
  const known = [...study.space.keys()].join(', ');
  for (const [flag, name] of [
    ['--x', o.x],
    ['--y', o.y],
  ] as const)
    if (!study.space.has(name)) throw new UserError(`${flag}: ${name} is not a hyperparameter of the study (known: ${known})`);
  if (o.x === o.y) throw new UserError(`--x and --y name the same hyperparameter (${o.x})`);
}

export function landscapeCells(study: StudyData, o: LandscapeOptions): Landscape {
  checkDims(study, o);
  const trials = completeTrials(study).filter((t) => o.fidelity === undefined || t.fidelity === o.fidelity);
  const bin = (name: string) =>
    binParam(
      name,
      study.space.get(name)!,
      trials.map((t) => t.config[name]!),
      o.maxBins ?? DEFAULT_MAX_BINS,
    );
  const bx = bin(o.x);
  const by = bin(o.y);
  const cells: LandscapeCell[] = [];
  for (const metric of LANDSCAPE_METRICS) {
    const direction = metricDirection(study, metric);
    const groups = new Map<string, { xBin: number; yBin: number; values: number[] }>();
    for (const t of trials) {
      const v = metricValue(study, t, metric);
      const xBin = bx.binOf(t.config[o.x]!);
      const yBin = by.binOf(t.config[o.y]!);
      if (v === undefined || xBin < 0 || yBin < 0) continue;
      const g = groups.get(`${xBin},${yBin}`) ?? { xBin, yBin, values: [] };
      g.values.push(v);
      groups.set(`${xBin},${yBin}`, g);
    }
    const list = [...groups.values()].sort((a, b) => a.yBin - b.yBin || a.xBin - b.xBin);
    const values = list.map((g) =>
      o.marginalize === 'mean'
        ? g.values.reduce((s, v) => s + v, 0) / g.values.length
        : direction === 'minimize'
          ? Math.min(...g.values)
          : Math.max(...g.values),
    );
    const ranks = ranksBy(values, direction);
    for (const [i, g] of list.entries())
      cells.push({
        metric,
        xBin: g.xBin,
        yBin: g.yBin,
        x: bx.labels[g.xBin]!,
        y: by.labels[g.yBin]!,
        value: values[i]!,
        rank: ranks[i]!,
        trials: g.values.length,
      });
  }
  return { xLabels: bx.labels, yLabels: by.labels, cells };
}

const PANEL_TITLES: Readonly<Record<string, string>> = { [VAL_LOSS]: 'rank by validation loss', [SCORE]: 'rank by score' };

export function landscapeChart(study: StudyData, o: LandscapeOptions): Chart {
  const { xLabels, yLabels, cells } = landscapeCells(study, o);
  const how = o.marginalize ?? 'best';
  const maxRank = Math.max(1, ...cells.map((c) => c.rank));
  const values = cells.map((c) => ({
    ...c,
    panel: PANEL_TITLES[c.metric] ?? c.metric,
    label: Number.isInteger(c.rank) ? String(c.rank) : c.rank.toFixed(1),
    // White text on the dark (good) end of the colour scale.
    dark: c.rank <= maxRank / 2,
  }));
  const side = (n: number) => Math.max(120, Math.min(420, 44 * n));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Rank landscape: ${o.x} × ${o.y}`,
      // Two lines: Vega sizes the chart by an estimate of the text width (no canvas), which overshoots on one long line.
      subtitle: [studyLabel(study), `other hyperparameters marginalised by ${how}; 1 = best cell`],
    },
    config: CHART_CONFIG,
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: Object.values(PANEL_TITLES) } },
    spec: {
      width: side(xLabels.length),
      height: side(yLabels.length),
      encoding: {
        x: { field: 'x', type: 'ordinal', title: o.x, scale: { domain: [...xLabels] }, sort: null, axis: { labelAngle: -30 } },
        y: { field: 'y', type: 'ordinal', title: o.y, scale: { domain: [...yLabels].reverse() }, sort: null },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
          encoding: {
            color: { field: 'rank', type: 'quantitative', title: 'rank', scale: { scheme: 'blues', reverse: true } },
            tooltip: [
              { field: 'value', type: 'quantitative', format: '.4g' },
              { field: 'trials', type: 'quantitative' },
            ],
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.dark', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  };
  return {
    name: `landscape-${o.x}-${o.y}`,
    title: `Rank landscape ${o.x} × ${o.y}`,
    description: `Cells over ${o.x} and ${o.y}; each cell takes the ${how === 'best' ? 'best trial' : 'mean of the trials'} among the other hyperparameters, then cells are ranked by validation loss (left) and by score (right), 1 = best.`,
    spec,
  };
}
