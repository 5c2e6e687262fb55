// `fedhpo study ...` through the CLI: run with --set and --workers, then the read-only commands, and a
// config error that names its dotted key (exit 2, no stack trace).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticStudyDoc, tempDir, writeStudyYaml } from '../helpers/study-fixtures.js';
import { expectUserError, fedhpo } from './run-cli.js';

describe('fedhpo study', () => {
  it('runs a synthetic study and reads it back: status, best, export; config errors name the key', async () => {
    const root = await tempDir();
    const file = await writeStudyYaml(root, syntheticStudyDoc());
    const dir = join(root, 'out');
    const run = await fedhpo('study', 'run', file, '--out', dir, '--set', 'budget.trials=5', '--set', 'seed=3', '--workers', '2');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/finished \(budget: trials\)/);
    expect(run.stderr).toMatch(/trial \d complete: val_loss/); // log lines when not on a terminal
    // The end of a run: report.html and the default plots beside the journal.
    expect(run.stdout).toMatch(/report {5}.*report\.html and \d+ plot files/);
    const files = await readdir(dir);
    for (const f of ['report.html', 'history.svg', 'history.png', 'curves.svg', 'curves.png', 'landscape-train.lr-lora.r.png'])
      expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('landscape-') && f.endsWith('.svg'))).toHaveLength(3); // every pair of 3 hyperparameters

    const bad = await writeStudyYaml(root, syntheticStudyDoc({ budget: { trials: 0 } }), 'bad.yaml');
    const [status, best, csv, error, missing, again] = await Promise.all([
      fedhpo('study', 'status', dir, '--json'),
      fedhpo('study', 'best', dir, '--json'),
      fedhpo('study', 'export', dir, '--format', 'csv'),
      fedhpo('study', 'run', bad, '--out', join(root, 'bad')),
      fedhpo('study', 'status', join(root, 'nowhere')),
      fedhpo('study', 'run', file, '--out', dir),
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: 'finished',
      trials: { total: 5, complete: 5 },
      budget: { rounds: { spent: 20 } },
    });
    expect(best.code, best.stderr).toBe(0);
    const b = JSON.parse(best.stdout);
    expect(b.best).toHaveLength(1);
    expect(b.config).toMatchObject({ kind: 'synthetic', train: { lr: b.best[0].hyperparameters['train.lr'] } });
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'trial,status,fidelity,rounds,attempts,train.lr,lora.r,train.local_steps,val_loss,cost.bytes_sent,cost.client_rounds,cost.seconds,parent,reason',
    );
    expect(lines).toHaveLength(6);
    expectUserError(error, 'bad.yaml: invalid config', 'budget.trials');
    expectUserError(missing, 'no study here');
    expectUserError(again, `${dir} already holds a study`, `fedhpo study resume ${dir}`, '--out DIR');
  }, 180_000);
});
