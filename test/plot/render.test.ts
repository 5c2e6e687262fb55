// SVG -> PNG: the PNG decodes, has the SVG's size times the scale, and its text is drawn (resvg has
// no font of its own: without the shipped DejaVu Sans the title band would be blank white).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { writeChart } from '../../src/plot/chart.js';
import { chartFontFiles } from '../../src/plot/fonts.js';
import { historyChart } from '../../src/plot/history.js';
import { PNG_SCALE, specToSvg, svgToPng } from '../../src/plot/render.js';

/** Pixels darker than mid-grey in rows [y0, y1) of an RGBA image. */
function darkPixels(png: PNG, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++)
    for (let x = 0; x < png.width; x++) {
      const i = 4 * (y * png.width + x);
      if (png.data[i]! + png.data[i + 1]! + png.data[i + 2]! < 3 * 128) n++;
    }
  return n;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('PNG rendering', () => {
  it('uses the DejaVu Sans shipped through npm', () => {
    expect(chartFontFiles()[0]).toMatch(/node_modules\/dejavu-fonts-ttf\/ttf\/DejaVuSans\.ttf$/);
  });

  it('draws the title and the axis title (text pixels present where only text is)', async () => {
    const svg = await specToSvg(historyChart([syntheticStudy({ trials: 20 })]).spec);
    const size = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    const png = PNG.sync.read(svgToPng(svg));
    expect([png.width, png.height]).toEqual([Number(size[1]) * PNG_SCALE, Number(size[2]) * PNG_SCALE]);
    // The title sits in the top 20 px of the chart, the x-axis title in the bottom 16 px: nothing but text there.
    const title = darkPixels(png, 0, 20 * PNG_SCALE);
    const axisTitle = darkPixels(png, png.height - 16 * PNG_SCALE, png.height);
    expect(title).toBeGreaterThan(500);
    expect(axisTitle).toBeGreaterThan(300);
    // The same SVG rasterised without any font: those bands are blank, so the counts above are text.
    const fontless = PNG.sync.read(
      new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: PNG_SCALE }, font: { loadSystemFonts: false } }).render().asPng(),
    );
    expect(darkPixels(fontless, 0, 20 * PNG_SCALE)).toBe(0);
    expect(darkPixels(fontless, png.height - 16 * PNG_SCALE, png.height)).toBe(0);
  });

  it('writes NAME.svg and NAME.png', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-plot-'));
    dirs.push(dir);
    const paths = await writeChart(dir, historyChart([syntheticStudy({ trials: 10 })]));
    expect(paths).toEqual([join(dir, 'history.svg'), join(dir, 'history.png')]);
    expect((await readFile(paths[0]!, 'utf8')).startsWith('<svg')).toBe(true);
    expect((await readFile(paths[1]!)).subarray(1, 4).toString()).toBe('PNG');
  });
});
