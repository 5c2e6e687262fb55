// Resume is exact: cut a finished study's journal at any line (a crash there, maybe mid-write) and
// resume it; with a strategy that learns from results it asks exactly what the uninterrupted study asked.
import { cp, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { JOURNAL_FILE } from '../../src/hpo/journal.js';
import type { StudyState } from '../../src/hpo/study-state.js';
import { replayStudy, syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

const HILL_CLIMB = resolve(dirname(fileURLToPath(import.meta.url)), '../helpers/hill-climb-strategy.ts');

const asked = (s: StudyState) => s.trials.map((t) => ({ config: t.config, meta: t.meta, status: t.status, values: t.values }));

describe('study resume', () => {
  it('asks what the uninterrupted study asked, from any cut of its journal', async () => {
    const root = await tempDir();
    const full = join(root, 'full');
    const config = syntheticStudy({
      strategy: { name: HILL_CLIMB },
      budget: { trials: 7 },
      parallel: 1,
      trial: { kind: 'synthetic', noise: 0.05, fail_rate: 0.15 },
    });
    await runStudy({ dir: full, config });
    const reference = await replayStudy(full);
    const lines = (await readFile(join(full, JOURNAL_FILE), 'utf8')).split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThan(40);

    const cuts = [2, 3, 4, 9, 13, 17, 22, 30, lines.length - 3, lines.length - 1];
    for (const [i, cut] of cuts.entries()) {
      const dir = join(root, `cut-${cut}`);
      await cp(full, dir, { recursive: true });
      const torn = i % 2 ? lines[cut]!.slice(0, 17) : ''; // every other cut ends mid-write
      await writeFile(join(dir, JOURNAL_FILE), `${lines.slice(0, cut).join('\n')}\n${torn}`);
      const result = await runStudy({ dir });
      expect(result.state, `cut at line ${cut}`).toBe('finished');
      const resumed = await replayStudy(dir);
      expect(asked(resumed), `cut at line ${cut}`).toEqual(asked(reference));
      expect(resumed.spentRounds).toBe(reference.spentRounds);
    }
  });

  it('continues a stopped study and does nothing more to a finished one', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({ budget: { trials: 6 }, parallel: 2, trial: { kind: 'synthetic', delay_ms: 30 } });
    const stop = new AbortController();
    let finishedTrials = 0;
    const first = await runStudy({
      dir,
      config,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.kind === 'trial.finished' && ++finishedTrials === 2) stop.abort('test stop');
      },
    });
    expect(first).toMatchObject({ state: 'stopped', reason: 'test stop' });
    const stopped = await replayStudy(dir);
    expect(stopped.stopped).toEqual({ reason: 'test stop' });
    expect(stopped.unfinished.every((t) => t.status === 'queued' && t.attempt === 2)).toBe(true);
    expect(await runStudy({ dir })).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    const done = await replayStudy(dir);
    expect(done.countByStatus().complete).toBe(6);
    const lines = (await readFile(join(dir, JOURNAL_FILE), 'utf8')).length;
    expect(await runStudy({ dir })).toMatchObject({ state: 'finished' });
    expect((await readFile(join(dir, JOURNAL_FILE), 'utf8')).length).toBe(lines);
  });
});
