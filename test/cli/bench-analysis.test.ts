// The study analysis on a recorded bench table as a user runs it: plot landscape / rank-scatter write
// PNG and SVG (beside the table by default), bench analyze prints the same agreements the library
// computes on the adapted table, and a round without a score or --round on a study is refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { benchStudyData } from '../../src/hpo/bench-study.js';
import { readBenchTable } from '../../src/hpo/bench-table.js';
import { crossFidelityRows, lossScoreAgreementRows } from '../../src/hpo/ranking.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { gridStudy } from '../helpers/bench-fixtures.js';
import { writeStudyDir } from '../helpers/study-dir.js';
import { tempDir } from '../helpers/study-fixtures.js';
import { expectUserError, fedhpo } from './run-cli.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

let root: string;
let table: string;

beforeAll(async () => {
  root = await tempDir('fedhpo-bench-analysis-');
  table = join(root, 'grid.jsonl');
  await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file: table, command: ['test'] });
});

describe('the study analysis on a bench table', () => {
  it('plot landscape writes the PNG into a directory beside the table, at the round asked', async () => {
    const r = await fedhpo('plot', 'landscape', table, '--x', 'train.lr', '--y', 'lora.r', '--round', '2', '--format', 'both');
    expect(r.code, r.stderr).toBe(0);
    const dir = join(root, 'grid');
    expect(r.stdout.trim().split('\n')).toEqual([join(dir, 'landscape-train.lr-lora.r.svg'), join(dir, 'landscape-train.lr-lora.r.png')]);
    expect((await readFile(join(dir, 'landscape-train.lr-lora.r.png'))).subarray(1, 4).toString()).toBe('PNG');
    expect(await readFile(join(dir, 'landscape-train.lr-lora.r.svg'), 'utf8')).toContain('grid, round 2');
  });

  it('plot rank-scatter shows the correlations of the adapted table', async () => {
    const out = join(root, 'plots');
    const r = await fedhpo('plot', 'rank-scatter', table, '--format', 'svg', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'rank-scatter.svg'));
    const rho = lossScoreAgreementRows(benchStudyData(await readBenchTable(table)))[0]!.agreement.spearman.value;
    const svg = await readFile(join(out, 'rank-scatter.svg'), 'utf8');
    expect(svg).toContain('grid, round 4, 12 complete trials');
    expect(svg).toContain(`Spearman rho = ${rho.toFixed(3)}`);
  });

  it('report writes report.html for a table', async () => {
    const out = join(root, 'report');
    const r = await fedhpo('report', table, '--round', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'report.html'));
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<h1>Study report: grid, round 2</h1>');
    expect(html).toContain('val_loss: round 1 vs round 2');
  });

  it('bench analyze prints what the library computes on the adapted table', async () => {
    const r = await fedhpo('bench', 'analyze', table, '--round', '4', '--top-k', '1,0.5', '--json');
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    const study = benchStudyData(await readBenchTable(table), { round: 4 });
    const options = { topK: [1, 0.5] };
    expect(got).toMatchObject({ round: 4, configs: 12, complete: 12 });
    expect(got.loss_score).toEqual(JSON.parse(JSON.stringify(lossScoreAgreementRows(study, options))));
    expect(got.cross_fidelity).toEqual(JSON.parse(JSON.stringify(crossFidelityRows(study, options))));
    expect(got.cross_fidelity.map((x: { label: string }) => x.label)).toContain('val_loss: round 2 vs round 4');

    const text = await fedhpo('bench', 'analyze', table);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/observed at round 4: 12 configs, 12 complete/);
    expect(text.stdout).toMatch(/^ {2}val_loss: round 2 vs round 4 +12 +-?\d\.\d{3} \(p /m);
  });

  it('refuses a round without a score, --round on a study, and a study directory as a table', async () => {
    expectUserError(await fedhpo('plot', 'rank-scatter', table, '--round', '3'), '--round 3:', 'at rounds 1, 2, 4 only');
    const dir = join(root, 'study');
    await writeStudyDir(dir, syntheticStudy({ trials: 6, seed: 1, strategy: 'random' }));
    expectUserError(await fedhpo('plot', 'rank-scatter', dir, '--round', '2'), 'is a study directory');
    expectUserError(await fedhpo('bench', 'analyze', dir), 'a directory, not a bench table');
  });
});
