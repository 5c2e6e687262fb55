// A study directory as the analysis reads it: DIR/journal.jsonl replayed (the same StudyState the
// scheduler and `study resume` build) and mapped onto StudyData. Read-only: a torn last line (a
// study killed mid-write, or one still running) is left alone, not repaired.
import { readJournal } from './journal.js';
import type { StudyData, AnalyzedTrial, RoundValue } from './study-data.js';
import { SCORE } from './study-data.js';
import { FINISHED, StudyState, type StudyTrial } from './study-state.js';

/** The study in DIR, from its journal: every trial that has started (queued ones are not results yet). */
export async function loadStudyData(dir: string): Promise<StudyData> {
  const { events } = await readJournal(dir);
  return studyDataOf(StudyState.replay(events, `${dir}/journal.jsonl`));
}

/** StudyData of a replayed (or live) study. */
export function studyDataOf(state: StudyState): StudyData {
  const trials: AnalyzedTrial[] = state.trials
    .filter((t) => t.status !== 'queued')
    .map((t) => ({ ...state.record(t), ...scoreCurveOf(t) }));
  return {
    ...(state.config.name !== undefined ? { name: state.config.name } : {}),
    strategy: state.config.strategy.name,
    space: state.space,
    objectives: state.objectives,
    trials,
  };
}

/** The evaluation score at the rounds where a trial measured it (its per-round metrics carry `score`). */
function scoreCurveOf(t: StudyTrial): { scoreCurve?: RoundValue[] } {
  const points = t.curve.flatMap((p) => (SCORE in p.metrics ? [{ round: p.round, value: p.metrics[SCORE]! }] : []));
  return points.length || FINISHED.has(t.status) ? { scoreCurve: points } : {};
}
