// fedhpo bench record / replay / export as a user runs them: a recording killed with SIGKILL and run
// again ends equal to an uninterrupted one; replay prints regret (JSON or text) and draws the plot;
// export round-trips the table as CSV and JSON.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { readBenchTable } from '../../src/hpo/bench-table.js';
import { gridStudyDoc } from '../helpers/bench-fixtures.js';
import { spawnFedhpo } from '../helpers/cli-process.js';
import { gridStudy } from '../helpers/bench-fixtures.js';
import { tempDir, writeStudyYaml } from '../helpers/study-fixtures.js';
import { expectUserError, fedhpo, fedhpoWithin } from './run-cli.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

let root: string;
let table: string;

beforeAll(async () => {
  root = await tempDir('fedhpo-bench-cli-');
  table = join(root, 'grid.jsonl');
  await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file: table, command: ['test'] });
});

/** RFC 4180 lines without quoted commas (the table's cells are numbers and words). */
const parseCsv = (text: string) => {
  const [head, ...lines] = text.trimEnd().split('\n');
  const columns = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i]!, v])));
};

describe('fedhpo bench record', () => {
  it('killed with SIGKILL mid-recording and run again, ends equal to an uninterrupted recording', async () => {
    const file = await writeStudyYaml(root, gridStudyDoc({ delay_ms: 60 }), 'slow.yaml');
    const out = join(root, 'killed.jsonl');
    const p = spawnFedhpo(['bench', 'record', file, '--out', out]);
    await p.waitFor(/^\[3\/12\]/);
    p.kill('SIGKILL');
    await p.exited;
    const partial = await readBenchTable(out);
    expect(partial.rows.length).toBeGreaterThanOrEqual(3);
    expect(partial.rows.length).toBeLessThan(12);
    await appendFile(out, '{"index":11,"config":{"train.lr":'); // as if killed mid-append
    const again = await fedhpoWithin(120_000, 'bench', 'record', file, '--out', out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`${partial.rows.length} recorded, ${12 - partial.rows.length} to go \\(cut a torn last line`));
    expect(again.stdout).toMatch(/12\/12 configs recorded/);

    const straight = join(root, 'straight.jsonl');
    const r = await fedhpoWithin(120_000, 'bench', 'record', file, '--out', straight);
    expect(r.code, r.stderr).toBe(0);
    const a = await readBenchTable(out);
    const b = await readBenchTable(straight);
    const byIndex = (t: typeof a) => [...t.rows].sort((x, y) => x.index - y.index).map(({ seconds: _s, costs: _c, ...rest }) => rest);
    expect(byIndex(a)).toEqual(byIndex(b));
    expect(a.header.command).toEqual(['fedhpo', 'bench', 'record', file, '--out', out]);
  }, 240_000);

  it('refuses a config whose space is not a grid', async () => {
    const file = await writeStudyYaml(
      root,
      { ...gridStudyDoc(), space: { 'train.lr': { type: 'float', low: 0.001, high: 0.1 } } },
      'cont.yaml',
    );
    expectUserError(await fedhpo('bench', 'record', file, '--out', join(root, 'x.jsonl')), 'space.train.lr: a bench table records a grid');
  });
});

describe('fedhpo bench replay', () => {
  it('prints regret and rank per strategy and budget as JSON, and draws regret vs budget', async () => {
    const png = join(root, 'regret.png');
    const r = await fedhpo(
      'bench',
      'replay',
      table,
      '--strategy',
      'random',
      '--strategy',
      'sha,hyperband',
      '--seeds',
      '5',
      '--budget',
      '0.25,0.5',
      '--json',
      '--plot',
      png,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { seeds: number; rows: { strategy: string; fraction: number; regret: { mean: number } }[] };
    expect(out.seeds).toBe(5);
    expect(out.rows.map((x) => `${x.fraction} ${x.strategy}`)).toEqual([
      '0.25 random',
      '0.25 sha',
      '0.25 hyperband',
      '0.5 random',
      '0.5 sha',
      '0.5 hyperband',
    ]);
    for (const x of out.rows) expect(x.regret.mean).toBeGreaterThanOrEqual(0);
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('prints a text table by default', async () => {
    const r = await fedhpo('bench', 'replay', table, '--strategy', 'random,bo', '--seeds', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/12 configs x 4 rounds \(grid budget 48 rounds\)/);
    expect(r.stdout).toMatch(/budget 0\.25 of the grid \(12 rounds\), 3 seeds/);
    expect(r.stdout).toMatch(/^ {2}bo +\d\.\d{4} {2}\[/m);
  });

  it('names an unknown strategy and a bad plot file', async () => {
    expectUserError(await fedhpo('bench', 'replay', table, '--strategy', 'nope'), "unknown strategy 'nope'");
    expectUserError(await fedhpo('bench', 'replay', table, '--strategy', 'random', '--plot', 'x.pdf'), '--plot x.pdf');
  });
});

describe('fedhpo bench export', () => {
  it('writes one row per (config, round) that round-trips the table, as CSV and as JSON', async () => {
    const t = await readBenchTable(table);
    const csv = await fedhpo('bench', 'export', table, '--format', 'csv');
    expect(csv.code, csv.stderr).toBe(0);
    const rows = parseCsv(csv.stdout);
    expect(Object.keys(rows[0]!)).toEqual(['train.lr', 'lora.r', 'train.local_steps', 'round', 'val_loss', 'score', 'status']);
    expect(rows.length).toBe(12 * 4);
    const json = await fedhpo('bench', 'export', table, '--format', 'json');
    const objs = JSON.parse(json.stdout) as Record<string, number | string | null>[];
    expect(objs.length).toBe(rows.length);
    let i = 0;
    for (const row of [...t.rows].sort((a, b) => a.index - b.index))
      for (const x of row.rounds) {
        const c = rows[i]!;
        const o = objs[i++]!;
        for (const [k, v] of Object.entries(row.config)) {
          expect(Number(c[k])).toBe(v);
          expect(o[k]).toBe(v);
        }
        expect([Number(c.round), Number(c.val_loss)]).toEqual([x.round, x.val_loss]);
        expect(c.score).toBe(x.score === undefined ? '' : String(x.score));
        expect(o).toMatchObject({ round: x.round, val_loss: x.val_loss, score: x.score ?? null, status: row.status });
      }
  });
});
