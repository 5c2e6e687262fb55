import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatStudyJournal, loadStudyData, parseStudyJournal } from '../../src/hpo/study-journal.js';
import { syntheticStudy } from '../../src/hpo/synthetic-study.js';

const HEADER = JSON.stringify({
  type: 'study',
  strategy: 'random',
  space: { 'train.lr': { type: 'float', low: 0.001, high: 0.1, log: true } },
  objectives: [{ name: 'val_loss', direction: 'minimize' }],
});
const trialLine = (id: number, status: string, extra: object = {}) =>
  JSON.stringify({ type: 'trial', trial: { id, config: { 'train.lr': 0.01 }, fidelity: 4, status, rounds: 4, ...extra } });

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('study journal', () => {
  it('round-trips a study through formatStudyJournal and loadStudyData', async () => {
    const study = syntheticStudy({ trials: 12, name: 'rt' });
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-journal-'));
    dirs.push(dir);
    await writeFile(join(dir, 'journal.jsonl'), formatStudyJournal(study));
    const back = await loadStudyData(dir);
    expect(back.name).toBe('rt');
    expect([...back.space]).toEqual([...study.space]);
    expect(back.objectives).toEqual(study.objectives);
    expect(back.trials).toEqual(JSON.parse(JSON.stringify(study.trials)));
  });

  it('keeps the last event per trial, skips other events and a torn last line; reads null as NaN', () => {
    const s = parseStudyJournal(
      [
        trialLine(1, 'running'),
        HEADER,
        JSON.stringify({ type: 'round', trial: 1, round: 1 }),
        trialLine(0, 'diverged', { values: [null], metrics: { val_loss: null } }),
        trialLine(1, 'complete', { values: [1.5] }),
        '{"type":"trial","trial":{"id":2,',
      ].join('\n'),
    );
    expect(s.trials.map((t) => [t.id, t.status])).toEqual([
      [0, 'diverged'],
      [1, 'complete'],
    ]);
    expect(s.trials[0]!.values).toEqual([Number.NaN]);
  });

  it('names the line and the problem', async () => {
    expect(() => parseStudyJournal(`${HEADER}\nnot json\n${trialLine(0, 'complete')}`, 'j')).toThrow(/^j:2: not JSON/);
    expect(() => parseStudyJournal(`${HEADER}\n${trialLine(0, 'finished')}`, 'j')).toThrow(/^j:2: trial: trial\.status/);
    expect(() => parseStudyJournal(trialLine(0, 'complete'), 'j')).toThrow(/j: no study header/);
    expect(() => parseStudyJournal(`${HEADER}\n${HEADER}`, 'j')).toThrow(/j:2: a second study header/);
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-journal-'));
    dirs.push(dir);
    await expect(loadStudyData(dir)).rejects.toThrow(`${dir}: no journal.jsonl (is this a study directory?)`);
  });
});
