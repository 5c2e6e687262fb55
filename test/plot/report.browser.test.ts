// The report as a person meets it: opened from disk in Debian's headless chromium (driven by
// playwright-core), with every network request refused. Checks: no console errors, every image
// decoded, as many plots as the report lists, and the trial table re-sorts on a header click.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { writeReport, type WrittenReport } from '../../src/plot/report.js';

const CHROMIUM = '/usr/bin/chromium';

let browser: Browser;
let dir: string;
let report: WrittenReport;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run apt-get install -y chromium (.ci/run does)`);
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-report-'));
  report = await writeReport(dir, syntheticStudy({ trials: 40, name: 'browser test' }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('report.html in chromium', () => {
  it('loads offline with no console error, every plot decoded, the table sortable', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // Anything but the file itself and inline data would be a network dependency: refuse and record it.
    await page.route(/^(?!file:|data:)/, (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    await page.goto(pathToFileURL(report.path).href, { waitUntil: 'load' });

    const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight })));
    const listed = await page.$$eval('#plot-list li', (li) => li.length);
    expect(listed).toBe(report.plots.length);
    expect(images.length).toBe(listed);
    expect(await page.$$eval('figure.plot img', (i) => i.length)).toBe(listed);
    for (const img of images) {
      expect(img.complete).toBe(true);
      expect(img.w).toBeGreaterThan(0);
      expect(img.h).toBeGreaterThan(0);
    }

    // Sort by the val_loss column: ascending, then descending on a second click; blanks (failed trials) last.
    const column = await page.$$eval('#trials th', (ths) => ths.findIndex((th) => th.textContent === 'val_loss'));
    expect(column).toBeGreaterThan(0);
    const values = () =>
      page.$$eval(
        '#trials tbody tr',
        (rows, c) => rows.map((r) => r.cells[c]!.dataset.sort ?? null).map((v) => (v === null ? null : Number(v))),
        column,
      );
    const before = await values();
    const header = page.locator('#trials th').nth(column);
    await header.click();
    const up = await values();
    await header.click();
    const down = await values();
    const numbers = (v: (number | null)[]) => v.filter((x): x is number => x !== null);
    expect(numbers(before)).not.toEqual([...numbers(before)].sort((a, b) => a - b));
    expect(numbers(up)).toEqual([...numbers(before)].sort((a, b) => a - b));
    expect(numbers(down)).toEqual([...numbers(before)].sort((a, b) => b - a));
    expect(up.slice(numbers(up).length).every((v) => v === null)).toBe(true);
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    // And back by trial id, a text column to numbers again.
    await page.locator('#trials th').first().click();
    expect(await page.$$eval('#trials tbody tr', (rows) => rows.map((r) => Number(r.cells[0]!.textContent)))).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
