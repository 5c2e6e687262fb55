// A study process killed with SIGKILL at random points, resumed each time: no completed trial lost or
// counted twice, the budget equals the rounds of the journaled trials, and the study ends with the
// same completed configs as one uninterrupted run of the same seed.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { readJournal } from '../../src/hpo/journal.js';
import type { JournalEvent } from '../../src/hpo/journal-events.js';
import { parseStudyConfig } from '../../src/hpo/study-config.js';
import { type CliProcess, spawnFedhpo } from '../helpers/cli-process.js';
import { completedSet, replayStudy, syntheticStudyDoc, tempDir, writeStudyYaml } from '../helpers/study-fixtures.js';

async function journalEvents(dir: string): Promise<JournalEvent[]> {
  try {
    return (await readJournal(dir)).events; // read-only: a torn last line is tolerated, not repaired
  } catch {
    return [];
  }
}

/** Waits until the journal shows session `n` started, or the process exits. */
async function sessionStarted(dir: string, n: number, p: CliProcess): Promise<void> {
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (const deadline = Date.now() + 90_000; Date.now() < deadline && !exited; await sleep(25))
    if ((await journalEvents(dir)).some((e) => e.kind === 'session.started' && e.session >= n)) return;
  if (!exited) throw new Error(`session ${n} did not start; output:\n${p.output()}`);
}

describe('study resume after kill -9', () => {
  it('loses no completed trial, counts none twice, and ends like an uninterrupted run', async () => {
    const root = await tempDir();
    const doc = syntheticStudyDoc({
      seed: 11,
      fidelity: { rounds: 3 },
      budget: { rounds: 36 },
      parallel: 2,
      trial: { kind: 'synthetic', noise: 0.02, delay_ms: 40 },
    });
    const file = await writeStudyYaml(root, doc);
    const dir = join(root, 'killed');

    // Kill points from a fixed seed, so a failure can be replayed.
    let word = 12345;
    const random = (): number => (word = (Math.imul(word, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const completed = new Map<number, string>();
    const kills: number[] = [];
    let p = spawnFedhpo(['study', 'run', file, '--out', dir]);
    for (let session = 1; ; session++) {
      await sessionStarted(dir, session, p);
      let killed = false;
      if (kills.length < 3) {
        const ms = Math.round(30 + random() * 450);
        await sleep(ms);
        if (p.proc.exitCode === null) kills.push(ms);
        p.kill('SIGKILL');
        killed = true;
      }
      const exit = await p.exited;
      const events = await journalEvents(dir);
      for (const e of events)
        if (e.kind === 'trial.finished' && e.status === 'complete') {
          const values = JSON.stringify(e.values);
          expect(completed.get(e.id) ?? values, `trial ${e.id} changed its result`).toBe(values);
          completed.set(e.id, values);
        }
      if (events.some((e) => e.kind === 'study.finished')) {
        // A kill may land between the journal's last line and the process's exit: the study is
        // finished all the same. Without a kill, it must have exited cleanly.
        if (!killed) expect(exit, p.output()).toEqual({ code: 0, signal: null });
        break;
      }
      expect(session, 'too many sessions').toBeLessThan(10);
      p = spawnFedhpo(['study', 'resume', dir]);
    }
    expect(kills.length, `kills landed at ${kills.join(', ')} ms`).toBeGreaterThanOrEqual(2);

    const { events } = await readJournal(dir);
    const state = await replayStudy(dir);
    expect(state.finished).toBeDefined();
    // Every trial that had completed at any kill is in the final journal, once, with the same values.
    const finishedIds = events.filter((e) => e.kind === 'trial.finished').map((e) => (e as { id: number }).id);
    expect(new Set(finishedIds).size).toBe(finishedIds.length);
    for (const [id, values] of completed) expect(JSON.stringify(state.trials[id]!.values)).toBe(values);
    // The budget is the rounds of the journaled trials, no more (interrupted attempts are counted apart).
    const journaledRounds = events.reduce((s, e) => s + (e.kind === 'trial.finished' ? e.rounds : 0), 0);
    expect(state.spentRounds).toBe(journaledRounds);
    expect(state.spentRounds).toBe(36);
    expect(state.unfinished).toEqual([]);
    // The kills hit running trials: they were marked interrupted and ran again.
    expect(events.some((e) => e.kind === 'trial.interrupted')).toBe(true);

    // The same seed without interruptions: the same completed configs and results.
    const clean = join(root, 'clean');
    const config = parseStudyConfig({ ...doc, trial: { kind: 'synthetic', noise: 0.02 } }, 'clean');
    await runStudy({ dir: clean, config });
    expect(completedSet(state)).toEqual(completedSet(await replayStudy(clean)));
  }, 180_000);
});
