// What the scheduler waits for on disk and what it does not (src/hpo/study.ts). A round is answered
// before its journal line is written, and the next in-process trial starts before the last result's
// line is: a process killed right then leaves a journal that resumes and ends like an uninterrupted
// run. A result is on disk before anything reports it (onEvent, summary.json, best.json).
// "Killed right then" is a synchronous copy of the study directory at that instant: what a SIGKILL
// leaves (the page cache survives a killed process; fsync matters only for a power cut).
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';
import { JOURNAL_FILE } from '../../src/hpo/journal.js';
import type { StudyConfig } from '../../src/hpo/study-config.js';
import type { TrialRequest, TrialRunner } from '../../src/hpo/trial-runner.js';
import { completedSet, replayStudy, syntheticStudy, tempDir } from '../helpers/study-fixtures.js';

interface Line {
  readonly kind: string;
  readonly id?: number;
  readonly round?: number;
  readonly status?: string;
}

/** The journal's complete lines as they are in the file right now. */
function linesOnDisk(dir: string): Line[] {
  const text = readFileSync(join(dir, JOURNAL_FILE), 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Line);
}

/** trialRunnerFor(config), with `hooks` called synchronously at a trial's start and after each round's answer. */
function watchedRunner(
  config: StudyConfig,
  hooks: { atStart?: (req: TrialRequest) => void; afterAnswer?: (req: TrialRequest, round: number) => void },
): TrialRunner {
  const inner = trialRunnerFor(config);
  return {
    name: inner.name,
    run: (req) => {
      hooks.atStart?.(req);
      return inner.run({
        ...req,
        onRound: async (round, metrics) => {
          const decision = await req.onRound(round, metrics);
          hooks.afterAnswer?.(req, round);
          return decision;
        },
      });
    },
    exportAdapter: (c, d) => inner.exportAdapter(c, d),
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}

describe('study durability', () => {
  it('answers a round before its line is on disk; killed right then, the study resumes and ends like an uninterrupted run', async () => {
    const root = await tempDir();
    const config = syntheticStudy({
      budget: { trials: 6 },
      parallel: 2,
      fidelity: { rounds: 4 },
      trial: { kind: 'synthetic', noise: 0.01 },
    });
    const dir = join(root, 'study');
    const crashed = join(root, 'crashed');
    let roundOnDisk: boolean | undefined;
    let startedOnDisk: boolean | undefined;
    let finishedAtCrash: Line[] = [];
    await runStudy({
      dir,
      config,
      runnerFor: (c) =>
        watchedRunner(c, {
          afterAnswer: (req, round) => {
            if (req.trialId !== 4 || round !== 2 || existsSync(crashed)) return;
            cpSync(dir, crashed, { recursive: true }); // the directory a SIGKILL here would leave
            // Read from the copy, not the live directory: an earlier batch's write may land in between.
            const lines = linesOnDisk(crashed);
            roundOnDisk = lines.some((l) => l.kind === 'trial.round' && l.id === 4 && l.round === 2);
            // Its start is group-committed too: on disk or not yet, by the machine's timing.
            startedOnDisk = lines.some((l) => l.kind === 'trial.started' && l.id === 4);
            finishedAtCrash = lines.filter((l) => l.kind === 'trial.finished');
          },
        }),
    });
    expect(roundOnDisk, 'the round was answered before its line was written').toBe(false);
    // finishedAtCrash is usually trials 0-2, but may be empty on a slow disk: results are group-committed too.

    expect(await runStudy({ dir: crashed })).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    const resumed = await replayStudy(crashed);
    const lines = linesOnDisk(crashed);
    // Every result journaled before the kill is kept, once; trial 4 ran again from round 1 and completed
    // (recorded as interrupted if its start had reached the disk, else simply started again).
    for (const f of finishedAtCrash) expect(lines.filter((l) => l.kind === 'trial.finished' && l.id === f.id)).toHaveLength(1);
    expect(lines.some((l) => l.kind === 'trial.interrupted' && l.id === 4)).toBe(startedOnDisk);
    expect(resumed.trials[4]!.curve.map((p) => p.round)).toEqual([1, 2, 3, 4]);
    expect(resumed.countByStatus().complete).toBe(6);
    expect(completedSet(resumed)).toEqual(completedSet(await replayStudy(dir)));
  });

  it('reports a result only once it is on disk; killed as a trial starts (the result before it maybe not yet on disk), the study resumes', async () => {
    const root = await tempDir();
    const config = syntheticStudy({
      budget: { trials: 5 },
      parallel: 1,
      fidelity: { rounds: 2 },
      trial: { kind: 'synthetic', noise: 0.01 },
    });
    const dir = join(root, 'study');
    const crashed = join(root, 'crashed');
    const reportedNotOnDisk: string[] = [];
    const finishedOnDisk = (): Line[] => linesOnDisk(dir).filter((l) => l.kind === 'trial.finished');
    /** summary.json and best.json never name more (or other) results than the journal holds. */
    const checkOutputs = (when: string): void => {
      const onDisk = finishedOnDisk();
      if (existsSync(join(dir, 'summary.json'))) {
        const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
          trials: { complete?: number };
          best: { trial: number }[];
        };
        if ((summary.trials.complete ?? 0) > onDisk.filter((l) => l.status === 'complete').length)
          reportedNotOnDisk.push(`${when}: summary.json counts ${summary.trials.complete} complete`);
        for (const b of summary.best)
          if (!onDisk.some((l) => l.id === b.trial)) reportedNotOnDisk.push(`${when}: summary.json's best is trial ${b.trial}`);
      }
    };
    await runStudy({
      dir,
      config,
      onEvent: (e) => {
        if (e.kind === 'trial.finished' && !finishedOnDisk().some((l) => l.id === e.id)) reportedNotOnDisk.push(`onEvent: trial ${e.id}`);
      },
      runnerFor: (c) =>
        watchedRunner(c, {
          atStart: (req) => {
            checkOutputs(`trial ${req.trialId} starts`);
            // In-process, no fsync lies between two trials, so trial 1's result is usually not on disk
            // yet here (whether its write has landed is the machine's timing, so not asserted): a kill
            // then loses it with this trial's ask, and both run again on resume.
            if (req.trialId === 2) cpSync(dir, crashed, { recursive: true });
          },
          afterAnswer: (req, round) => checkOutputs(`trial ${req.trialId} round ${round}`),
        }),
    });
    expect(reportedNotOnDisk).toEqual([]);
    checkOutputs('the end');
    expect(reportedNotOnDisk).toEqual([]);

    expect(await runStudy({ dir: crashed })).toMatchObject({ state: 'finished' });
    const resumed = await replayStudy(crashed);
    expect(resumed.countByStatus().complete).toBe(5);
    expect(completedSet(resumed)).toEqual(completedSet(await replayStudy(dir)));
  });
});
