// bench record with the synthetic runner: every grid config once, val_loss at every round and the
// score at the log-spaced rounds (from runs continued from checkpoints, equal to one straight run),
// the recipe frozen in the header, and resuming (partial runs, a torn last line, another recipe).
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchGrid, logSpacedRounds, recordBenchTable } from '../../src/hpo/bench-record.js';
import { readBenchTable } from '../../src/hpo/bench-table.js';
import { studySpace } from '../../src/hpo/study-config.js';
import { SyntheticTrialRunner, SyntheticTrialSchema } from '../../src/hpo/synthetic-runner.js';
import { trialConfigOf } from '../../src/hpo/trial-config.js';
import { gridStudy } from '../helpers/bench-fixtures.js';
import { syntheticStudy, tempDir } from '../helpers/study-fixtures.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

const command = ['fedhpo', 'bench', 'record', 'grid.yaml'];

describe('bench record', () => {
  it('scores at 1, 2, 4, ... and the max round', () => {
    expect(logSpacedRounds(8)).toEqual([1, 2, 4, 8]);
    expect(logSpacedRounds(6)).toEqual([1, 2, 4, 6]);
    expect(logSpacedRounds(1)).toEqual([1]);
  });

  it('records every grid config once with its curve, scores at the scored rounds, and the recipe', async () => {
    const config = gridStudy();
    const file = join(await tempDir('fedhpo-bench-'), 'grid.jsonl');
    const r = await recordBenchTable({ runnerFor: trialRunnerFor, config, file, command });
    expect(r).toMatchObject({ total: 12, skipped: 0, recorded: 12, tornBytes: 0 });
    const table = await readBenchTable(file);
    expect(table.header).toMatchObject({
      runner: 'synthetic',
      seed: 5,
      max_round: 4,
      score_rounds: [1, 2, 4],
      command,
      model_sha256: null,
      configs: 12,
      base_trial: trialConfigOf(config, {}),
    });
    expect(table.header.fedhpo_version).toMatch(/^fedhpo \d/);
    expect(table.header.study.space).toEqual(config.space);
    expect(table.rows.map((row) => row.config)).toEqual(benchGrid(config));

    // The same numbers as one straight run of each config to the max round, scored at its end.
    const runner = new SyntheticTrialRunner(studySpace(config), config.seed, SyntheticTrialSchema.parse(config.trial));
    for (const row of table.rows) {
      const straight = await runner.run({
        trialId: 0,
        attempt: 1,
        config: trialConfigOf(config, row.config),
        fidelity: 4,
        dir: '/nonexistent',
        onRound: () => 'continue',
        signal: new AbortController().signal,
      });
      expect(row.status).toBe('complete');
      expect(row.rounds.map((x) => x.round)).toEqual([1, 2, 3, 4]);
      expect(row.rounds.map((x) => x.val_loss)).toEqual(straight.curve.map((c) => c.metrics.val_loss));
      for (const x of row.rounds) {
        if ([1, 2, 4].includes(x.round)) expect(x.score).toBe(straight.curve[x.round - 1]!.metrics.score);
        else expect(x.score).toBeUndefined();
      }
      expect(row.costs.client_rounds).toBe(4 * 3);
    }
  });

  it('refuses a space with a continuous dimension, naming it', async () => {
    const file = join(await tempDir('fedhpo-bench-'), 't.jsonl');
    await expect(recordBenchTable({ runnerFor: trialRunnerFor, config: syntheticStudy(), file, command })).rejects.toThrow(
      /space\.train\.lr: a bench table records a grid/,
    );
  });

  it('resumes: skips recorded configs, cuts a torn last line, ends equal to an uninterrupted recording', async () => {
    const dir = await tempDir('fedhpo-bench-');
    const config = gridStudy();
    const whole = join(dir, 'whole.jsonl');
    await recordBenchTable({ runnerFor: trialRunnerFor, config, file: whole, command });

    const parts = join(dir, 'parts.jsonl');
    const first = await recordBenchTable({ runnerFor: trialRunnerFor, config, file: parts, command, limit: 5 });
    expect(first).toMatchObject({ skipped: 0, recorded: 5 });
    // A recorder killed while appending leaves half a line.
    const wholeLines = (await readFile(whole, 'utf8')).split('\n');
    await appendFile(parts, wholeLines[6]!.slice(0, 40));
    expect((await readBenchTable(parts)).torn?.bytes).toBe(40);
    const logs: string[] = [];
    const second = await recordBenchTable({ runnerFor: trialRunnerFor, config, file: parts, command, limit: 4, log: (l) => logs.push(l) });
    expect(second).toMatchObject({ skipped: 5, recorded: 4, tornBytes: 40 });
    expect(logs[0]).toMatch(/cut a torn last line of 40 bytes/);
    const third = await recordBenchTable({ runnerFor: trialRunnerFor, config, file: parts, command });
    expect(third).toMatchObject({ skipped: 9, recorded: 3, tornBytes: 0 });
    const again = await recordBenchTable({ runnerFor: trialRunnerFor, config, file: parts, command });
    expect(again).toMatchObject({ skipped: 12, recorded: 0 });

    const a = await readBenchTable(whole);
    const b = await readBenchTable(parts);
    expect(b.torn).toBeUndefined();
    const strip = (rows: typeof a.rows) => rows.map(({ seconds: _s, costs: _c, ...rest }) => rest);
    expect(strip(b.rows)).toEqual(strip(a.rows));
  });

  it('refuses to continue a table recorded with another recipe', async () => {
    const file = join(await tempDir('fedhpo-bench-'), 't.jsonl');
    await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file, command, limit: 2 });
    await expect(recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy({ noise: 0.2 }), file, command })).rejects.toThrow(
      /another recipe/,
    );
    await expect(recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file, command, scoreRounds: [2, 4] })).rejects.toThrow(
      /another recipe/,
    );
  });

  it('records failed and diverged configs with the rounds they reached', async () => {
    const file = join(await tempDir('fedhpo-bench-'), 't.jsonl');
    await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy({ fail_rate: 0.25, diverge_rate: 0.25 }), file, command });
    const { rows } = await readBenchTable(file);
    const bad = rows.filter((r) => r.status !== 'complete');
    expect(bad.length).toBeGreaterThan(0);
    for (const r of bad) {
      expect(r.reason).toBeTruthy();
      expect(r.rounds.length).toBeLessThan(4);
      if (r.status === 'diverged') expect(r.rounds.at(-1)!.val_loss).toBeNull();
    }
  });

  it('refuses a damaged line before the last one, naming it', async () => {
    const file = join(await tempDir('fedhpo-bench-'), 't.jsonl');
    await recordBenchTable({ runnerFor: trialRunnerFor, config: gridStudy(), file, command, limit: 3 });
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[2] = '{"index": 1, "oops"';
    await writeFile(file, lines.join('\n'));
    await expect(readBenchTable(file)).rejects.toThrow(/line 3: not JSON/);
  });
});
