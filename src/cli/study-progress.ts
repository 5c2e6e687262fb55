// Live progress of a study: a bar on a terminal (trials done and running, best so far, ETA), one log
// line per event that matters otherwise (CI logs, files).
import cliProgress from 'cli-progress';
import type { JournalEvent } from '../hpo/journal-events.js';
import { bestTrials } from '../hpo/study-best.js';
import type { StudyState } from '../hpo/study-state.js';

export interface StudyProgress {
  onEvent(e: JournalEvent, state: StudyState): void;
  stop(): void;
}

export function studyProgress(log: (line: string) => void, tty = process.stderr.isTTY === true): StudyProgress {
  return tty ? barProgress() : lineProgress(log);
}

function fmt(v: number | undefined): string {
  return v === undefined ? '-' : Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

function bestText(state: StudyState): string {
  const best = bestTrials(state.objectives, state.trials);
  if (!best.length) return 'best -';
  const o = state.objectives[0]!;
  if (state.objectives.length > 1) return `pareto front ${best.length} (best ${o.name} ${fmt(best[0]!.values![0])})`;
  return `best ${o.name} ${fmt(best[0]!.values![0])} (trial ${best[0]!.id})`;
}

/** The bar's unit: rounds when the budget is in rounds, else trials, else seconds of wall time. */
function budgetOf(state: StudyState): { total: number; value: number; unit: string } {
  const b = state.config.budget;
  if (b.rounds !== undefined) return { total: b.rounds, value: Math.round(state.chargedRounds * 10) / 10, unit: 'rounds' };
  const finished = state.trials.length - state.unfinished.length;
  if (b.trials !== undefined) return { total: b.trials, value: finished, unit: 'trials' };
  return { total: Math.round(b.wall_time ?? 1), value: Math.round(state.elapsedSeconds), unit: 's' };
}

function counts(state: StudyState): string {
  const c = state.countByStatus();
  const done = c.complete + c.failed + c.diverged + c.pruned;
  const bad = c.failed + c.diverged;
  return `${done} done${bad ? ` (${bad} failed)` : ''}${c.pruned ? ` ${c.pruned} pruned` : ''}, ${c.running + c.queued} running`;
}

function barProgress(): StudyProgress {
  let bar: cliProgress.SingleBar | undefined;
  return {
    onEvent(e, state) {
      const b = budgetOf(state);
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: `study |{bar}| {value}/{total} ${b.unit} | {counts} | {best} | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(b.total, b.value, { counts: counts(state), best: bestText(state) });
      }
      if (e.kind === 'trial.finished' || e.kind === 'trial.started' || e.kind === 'trials.asked' || e.kind === 'study.finished')
        bar.update(Math.min(b.value, b.total), { counts: counts(state), best: bestText(state) });
    },
    stop: () => bar?.stop(),
  };
}

/** Round lines at most this often: slow (federated) trials show progress, fast ones do not flood the log. */
const ROUND_LINE_MS = 5000;

function lineProgress(log: (line: string) => void): StudyProgress {
  let lastRoundLine = Number.NEGATIVE_INFINITY;
  return {
    onEvent(e, state) {
      switch (e.kind) {
        case 'session.started':
          log(`study ${state.studyId}: session ${e.session} (${e.mode}), ${state.trials.length} trials so far`);
          break;
        case 'trial.round': {
          // Federated trials take seconds to minutes per round: say where they are.
          if (Date.now() - lastRoundLine < ROUND_LINE_MS) break;
          lastRoundLine = Date.now();
          const t = state.trials[e.id];
          const o = state.objectives[0]!.name;
          log(`trial ${e.id} round ${e.round}/${t?.fidelity ?? '?'}: ${o} ${fmt(e.metrics[o])}`);
          break;
        }
        case 'trial.finished': {
          const o = state.objectives[0]!;
          const score =
            e.status === 'complete' && o.name !== 'score' && e.metrics.score !== undefined ? `, score ${fmt(e.metrics.score)}` : '';
          const value = e.values ? `${o.name} ${fmt(e.values[0])}${score}` : (e.reason ?? '');
          const b = budgetOf(state);
          log(
            `trial ${e.id} ${e.status}: ${value} (${e.rounds} rounds) | ${counts(state)}, ${b.value}/${b.total} ${b.unit} | ${bestText(state)}`,
          );
          break;
        }
        case 'trial.interrupted':
          log(`trial ${e.id} attempt ${e.attempt} ${e.reason}; it runs again`);
          break;
        case 'worker.lost':
          log(`trial ${e.id}: worker ${e.worker} stopped heart-beating; another worker runs it`);
          break;
        case 'study.finished':
          log(`study ${state.studyId} finished (${e.reason}): ${counts(state)} | ${bestText(state)}`);
          break;
        default:
          break;
      }
    },
    stop: () => {},
  };
}
