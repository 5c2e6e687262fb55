// A chart: a Vega-Lite spec with the name its files get and the title a report shows. Chart
// builders are pure (study in, spec out); rendering and files happen here, once for every kind.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, TopLevelSpec } from 'vega-lite';
import { CHART_FONT_FAMILY } from './fonts.js';
import type { ChartFormat } from './chart-options.js';
import { specToSvg, svgToPng } from './render.js';
import { checkOutputPath } from '../engine/files.js';

export interface Chart {
  /** File stem: `landscape-train.lr-lora.r` -> landscape-train.lr-lora.r.svg / .png. */
  readonly name: string;
  readonly title: string;
  /** One or two sentences for the report: what the chart shows and how it was computed. */
  readonly description: string;
  readonly spec: TopLevelSpec;
}

/** Shared look: the shipped font everywhere, a white background, readable sizes. */
export const CHART_CONFIG: Config = {
  font: CHART_FONT_FAMILY,
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
};

export interface RenderedChart {
  readonly chart: Chart;
  readonly svg: string;
  readonly png: Buffer;
}

export async function renderChart(chart: Chart): Promise<RenderedChart> {
  const svg = await specToSvg(chart.spec);
  return { chart, svg, png: svgToPng(svg) };
}

/** Writes the chart as DIR/NAME.svg and/or DIR/NAME.png; returns the paths written. */
export async function writeChart(dir: string, chart: Chart, formats: readonly ChartFormat[] = ['svg', 'png']): Promise<string[]> {
  await checkOutputPath(dir, 'directory', 'output directory');
  await mkdir(dir, { recursive: true });
  const svg = await specToSvg(chart.spec);
  const paths: string[] = [];
  for (const f of formats) {
    const path = join(dir, `${chart.name}.${f}`);
    await writeFile(path, f === 'svg' ? svg : svgToPng(svg));
    paths.push(path);
  }
  return paths;
}
