// writeReport's page, read as text: self-contained, the numbers it states equal the analysis, one
// figure per listed plot; and the plot files it can write beside it.
import { readdir, readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lossScoreAgreement } from '../../src/hpo/ranking.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { writeReport, type WrittenReport } from '../../src/plot/report.js';
import { escapeHtml, formatNumber } from '../../src/plot/report-html.js';
import { landscapePairs } from '../../src/plot/study-charts.js';

const STUDY = syntheticStudy({ trials: 30, name: 'report <test>' });
let dir: string;
let report: WrittenReport;
let html: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-report-'));
  report = await writeReport(dir, STUDY, { chartFiles: ['svg'] });
  html = await readFile(report.path, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('lists every plot once and shows each as an inline PNG', () => {
    // history, rank scatter, 6 landscapes (4 hyperparameters), curves, importance, Pareto.
    expect(report.plots.length).toBe(11);
    expect(report.plots.filter((p) => p.startsWith('landscape-')).length).toBe(landscapePairs(STUDY).length);
    expect(html.match(/<li><a href="#plot-/g)?.length).toBe(11);
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBe(11);
  });

  it('needs no network: no external src, href or url()', () => {
    const refs = [...html.matchAll(/(?:src|href)="([^"]*)"|url\(([^)]*)\)/g)].map((m) => m[1] ?? m[2]!);
    expect(refs.length).toBeGreaterThan(11);
    expect(refs.filter((r) => !r.startsWith('data:') && !r.startsWith('#'))).toEqual([]);
  });

  it('states the correlations the analysis computes, and escapes names', () => {
    const a = lossScoreAgreement(STUDY);
    const row = /<tr><td>all complete trials<\/td>(.*?)<\/tr>/.exec(html)![1]!;
    const cells = [...row.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(0, 2)).toEqual([String(a.n), formatNumber(a.spearman.value)]);
    expect(cells[2]).toContain(`(${a.spearman.method})`);
    expect(cells[3]).toBe(formatNumber(a.kendall.value));
    expect(cells.slice(5)).toEqual(a.topK.map((t) => `${t.shared}/${t.k}`));
    expect(html).toContain(`<h1>Study report: ${escapeHtml('report <test>')}</h1>`);
    expect(html).toMatch(/best by val_loss: trial \d+/);
  });

  it('has one sortable table row per trial', () => {
    const body = /<table id="trials">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
    expect(body.match(/<tr>/g)?.length).toBe(STUDY.trials.length);
    expect(html).toContain('<th data-type="number" title="click to sort">val_loss</th>');
  });

  it('writes the plots beside the report when asked', async () => {
    expect((await readdir(dir)).sort()).toEqual(['report.html', ...report.plots.map((p) => `${p}.svg`)].sort());
  });
});
