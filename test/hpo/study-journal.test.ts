import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStudyData } from '../../src/hpo/study-journal.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';
import { writeStudyDir } from '../helpers/study-dir.js';

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fedhpo-journal-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('loadStudyData on a study journal', () => {
  it('replays the journal into the study: space, objectives, trials with their curves and score curves', async () => {
    const study = syntheticStudy({ trials: 12, name: 'rt' });
    const dir = join(await tempDir(), 'study');
    await writeStudyDir(dir, study);
    const back = await loadStudyData(dir);
    expect(back.name).toBe('rt');
    expect(back.strategy).toBe(study.strategy);
    expect([...back.space]).toEqual([...study.space]);
    expect(back.objectives).toEqual(study.objectives);
    expect(back.trials.map((t) => [t.id, t.status, t.fidelity, t.rounds])).toEqual(
      study.trials.map((t) => [t.id, t.status, t.fidelity, t.rounds]),
    );
    for (const [i, t] of back.trials.entries()) {
      const want = study.trials[i]!;
      expect(t.values).toEqual(want.values);
      expect(t.curve).toEqual(want.curve);
      expect(t.scoreCurve).toEqual(want.scoreCurve);
    }
  });

  it('reads a study killed mid-write (torn last line) without touching the file, and names a missing study', async () => {
    const dir = join(await tempDir(), 'torn');
    await writeStudyDir(dir, syntheticStudy({ trials: 3 }));
    await appendFile(join(dir, 'journal.jsonl'), '{"seq":99,"kind":"trial.fin');
    expect((await loadStudyData(dir)).trials).toHaveLength(3);
    const empty = await tempDir();
    await expect(loadStudyData(empty)).rejects.toThrow(`${empty}: no study here (journal.jsonl is missing)`);
  });
});
