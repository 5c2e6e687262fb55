// The font the rasteriser draws text with. resvg has no fonts of its own and a fresh machine may
// have none installed, so the project ships DejaVu Sans through the npm package `dejavu-fonts-ttf`
// (free licence, TTF files resvg reads); the system's DejaVu (Debian's fonts-dejavu-core) is the
// fallback for an install that pruned the package.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The family every chart names (Vega-Lite config) and the rasteriser maps sans-serif to. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

const FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];
const SYSTEM_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF'];

function packageFontDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  } catch {
    return undefined;
  }
}

let cached: string[] | undefined;

/** Font files for the rasteriser: the shipped DejaVu Sans, else the system's; empty when neither exists (text would not render). */
export function chartFontFiles(): string[] {
  if (cached) return cached;
  for (const dir of [packageFontDir(), ...SYSTEM_DIRS]) {
    if (!dir) continue;
    const found = FILES.map((f) => join(dir, f)).filter((f) => existsSync(f));
    if (found.length) return (cached = found);
  }
  return (cached = []);
}
