// Vega-Lite spec -> SVG (Vega's headless view: no canvas, no browser) -> PNG (resvg, a prebuilt
// rasteriser inside its npm package). Nothing here draws pixels by hand.
import { Resvg } from '@resvg/resvg-js';
import { Error as LOG_ERRORS_ONLY, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CHART_FONT_FAMILY, chartFontFiles } from './fonts.js';

export type { ChartFormat } from './chart-options.js';

/** PNGs are drawn at twice the SVG's size: sharp in a report and on a high-density screen. */
export const PNG_SCALE = 2;

export class PlotError extends Error {
  override name = 'PlotError';
}

/** The chart as a standalone SVG document. */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none', logLevel: LOG_ERRORS_ONLY });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG rasterised to PNG bytes on white, text in the shipped font. */
export function svgToPng(svg: string, scale = PNG_SCALE): Buffer {
  const fontFiles = chartFontFiles();
  if (!fontFiles.length) throw new PlotError('no font for PNG text: reinstall the dejavu-fonts-ttf package or install fonts-dejavu-core');
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: false,
      fontFiles,
      defaultFontFamily: CHART_FONT_FAMILY,
      sansSerifFamily: CHART_FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}
