import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { completedSet, replayStudy, syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

describe('a study in one process', () => {
  it('runs parallel synthetic trials to its budget and writes journal, best.json, best/ and summary.json', async () => {
    const dir = join(await tempDir(), 'study');
    const config = syntheticStudy({ budget: { trials: 10 }, parallel: 3, trial: { kind: 'synthetic', noise: 0.01, delay_ms: 5 } });
    const result = await runStudy({ dir, config });
    expect(result).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    const state = await replayStudy(dir);
    expect(state.trials).toHaveLength(10);
    expect(state.countByStatus().complete).toBe(10);
    expect(state.spentRounds).toBe(40);
    const best = JSON.parse(await readFile(join(dir, 'best.json'), 'utf8'));
    expect(best).toMatchObject({ kind: 'synthetic', clients: { sample_rate: 0.33 } });
    expect(typeof best.train.lr).toBe('number');
    expect(await readdir(join(dir, 'best'))).toEqual(['synthetic-adapter-stub.json']);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ state: 'finished', trials: { total: 10, complete: 10 }, budget: { rounds: { spent: 40 } } });
    expect(completedSet(state)).toHaveLength(10);
  });
});
