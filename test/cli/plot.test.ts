// The plot and report commands on study directories holding real study journals.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStudyDir } from '../helpers/study-dir.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { expectUserError, fedhpo } from './run-cli.js';

let root: string;
let a: string;
let b: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedhpo-cli-plot-'));
  a = join(root, 'random');
  b = join(root, 'bo');
  for (const [dir, seed, strategy] of [
    [a, 1, 'random'],
    [b, 2, 'bo'],
  ] as const) {
    await writeStudyDir(dir, syntheticStudy({ trials: 24, seed, strategy }));
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fedhpo plot / report', () => {
  it('plot landscape writes the PNG into the study directory', async () => {
    const r = await fedhpo('plot', 'landscape', a, '--x', 'train.lr', '--y', 'lora.r', '--format', 'png', '--marginalize', 'mean');
    expect(r.code, r.stderr).toBe(0);
    const path = join(a, 'landscape-train.lr-lora.r.png');
    expect(r.stdout.trim()).toBe(path);
    expect((await readFile(path)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('plot history draws several studies on one chart; plot curves writes SVG and PNG', async () => {
    const out = join(root, 'compare');
    const h = await fedhpo('plot', 'history', a, b, '--format', 'svg', '--out', out);
    expect(h.code, h.stderr).toBe(0);
    const svg = await readFile(join(out, 'history.svg'), 'utf8');
    expect(svg).toMatch(/legend titled 'study' .* 2 values: random, bo/);
    const c = await fedhpo('plot', 'curves', b);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim().split('\n')).toEqual([join(b, 'curves.svg'), join(b, 'curves.png')]);
  });

  it('report writes report.html', async () => {
    const r = await fedhpo('report', a);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(a, 'report.html'));
    expect(await readFile(join(a, 'report.html'), 'utf8')).toContain('<h1>Study report: random</h1>');
  });

  it('a wrong hyperparameter or a directory without a journal is a user error', async () => {
    expectUserError(await fedhpo('plot', 'landscape', a, '--x', 'train.lr', '--y', 'lora.rank'), '--y: lora.rank is not a hyperparameter');
    expectUserError(await fedhpo('report', root), 'no study here (journal.jsonl is missing)');
  });
});
