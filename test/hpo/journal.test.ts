import { readFileSync } from 'node:fs';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { JOURNAL_FILE, Journal, JournalError, readJournal } from '../../src/hpo/journal.js';
import type { Study } from '../../src/hpo/study.js';
import { StudyState } from '../../src/hpo/study-state.js';
import { syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

/** A journal with a started study and `n` session.stopped events after it. */
async function smallJournal(n: number): Promise<string> {
  const dir = await tempDir();
  const j = await Journal.create(dir);
  await j.append({ kind: 'study.started', study_id: 'abc', config: syntheticStudy() as never, version: 'test' });
  await Promise.all(Array.from({ length: n }, (_, i) => j.append({ kind: 'session.stopped', reason: `r${i}` })));
  await j.close();
  return dir;
}

describe('Journal', () => {
  it('appends concurrently in order, one line per event, numbered', async () => {
    const dir = await smallJournal(50);
    const { events, torn } = await readJournal(dir);
    expect(torn).toBeUndefined();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(events.slice(1).map((e) => (e as { reason: string }).reason)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
  });

  it('write() numbers an event at once and puts it on disk later, in order; flushed() waits for every line so far', async () => {
    const dir = await tempDir();
    const j = await Journal.create(dir);
    const file = join(dir, JOURNAL_FILE);
    const first = j.write({ kind: 'study.started', study_id: 'abc', config: syntheticStudy() as never, version: 'test' });
    const writes = Array.from({ length: 20 }, (_, i) => j.write({ kind: 'session.stopped', reason: `r${i}` }));
    expect([first, ...writes].map((w) => w.event.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    // Written in this turn of the event loop: nothing is in the file yet.
    expect(readFileSync(file, 'utf8')).toBe('');
    await writes[4]!.durable;
    expect(readFileSync(file, 'utf8').split('\n').length - 1).toBeGreaterThanOrEqual(6);
    const late = j.write({ kind: 'session.stopped', reason: 'late' });
    await j.flushed();
    const { events } = await readJournal(dir);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    expect(events.at(-1)).toEqual(late.event);
    await j.close();
  });

  it('after a failed write, every later write and flushed() fails, naming the journal', async () => {
    const dir = await tempDir();
    const j = await Journal.create(dir);
    await j.append({ kind: 'study.started', study_id: 'abc', config: syntheticStudy() as never, version: 'test' });
    // The file handle closed under the journal: its next append fails as a full disk would.
    await (j as unknown as { fh: { close(): Promise<void> } }).fh.close();
    const lost = j.write({ kind: 'session.stopped', reason: 'lost' });
    await expect(lost.durable).rejects.toThrow(JournalError);
    await expect(j.flushed()).rejects.toThrow(/journal\.jsonl: write failed/);
    expect(() => j.write({ kind: 'session.stopped', reason: 'after' })).toThrow(/journal\.jsonl: write failed/);
    expect((await readJournal(dir)).events).toHaveLength(1);
  });

  it('refuses to start a second study in the same directory', async () => {
    const dir = await smallJournal(0);
    await expect(Journal.create(dir)).rejects.toThrow(/already holds a study .*fedhpo study resume/);
  });

  it('drops a torn last line (kill -9 mid-write) and, when repairing, truncates the file to the last complete line', async () => {
    const dir = await smallJournal(3);
    const file = join(dir, JOURNAL_FILE);
    const size = (await stat(file)).size;
    await appendFile(file, '{"seq":5,"t":"2026-01-01T00:00:00.000Z","kind":"session.st');
    const read = await readJournal(dir);
    expect(read.events).toHaveLength(4);
    expect(read.torn).toEqual({ line: 5, bytes: 58 });
    expect((await stat(file)).size).toBe(size + 58); // a read-only look leaves the file alone
    await readJournal(dir, { repair: true });
    expect((await stat(file)).size).toBe(size);
    const j = await Journal.reopen(dir, read.events);
    await j.append({ kind: 'session.stopped', reason: 'after repair' });
    await j.close();
    const again = await readJournal(dir);
    expect(again.torn).toBeUndefined();
    expect(again.events.at(-1)).toMatchObject({ seq: 5, reason: 'after repair' });
  });

  it('refuses a corrupt line before the last one, naming the line', async () => {
    const dir = await smallJournal(4);
    const file = join(dir, JOURNAL_FILE);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[2] = lines[2]!.slice(0, 20);
    await writeFile(file, lines.join('\n'));
    await expect(readJournal(dir)).rejects.toThrow(JournalError);
    await expect(readJournal(dir)).rejects.toThrow(/journal\.jsonl line 3: corrupt/);
    lines[2] = '{"seq":3,"t":"2026-01-01T00:00:00.000Z","kind":"trial.teleported"}';
    await writeFile(file, lines.join('\n'));
    await expect(readJournal(dir)).rejects.toThrow(/line 3: not a journal event/);
    lines[2] = lines[3]!;
    await writeFile(file, lines.join('\n'));
    await expect(readJournal(dir)).rejects.toThrow(/line 3: event number 4 out of order/);
  });

  it('replays into exactly the state the scheduler held', async () => {
    const dir = join(await tempDir(), 'study');
    let live: Study | undefined;
    const config = syntheticStudy({
      budget: { trials: 9 },
      parallel: 3,
      trial: { kind: 'synthetic', noise: 0.05, fail_rate: 0.2, diverge_rate: 0.2 },
    });
    await runStudy({ dir, config, onOpen: (s) => (live = s) });
    const replayed = StudyState.replay((await readJournal(dir)).events);
    const view = (s: StudyState) => ({
      trials: s.trials,
      spent: s.spentRounds,
      lost: s.lostRounds,
      finished: s.finished,
      lastAsk: s.lastAsk,
    });
    expect(view(replayed)).toEqual(view(live!.state));
    expect(replayed.elapsedSeconds).toBeCloseTo(live!.state.elapsedSeconds, 6);
    expect(replayed.countByStatus()).toMatchObject({ queued: 0, running: 0 });
  });
});
