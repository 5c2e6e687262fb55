// Small hand-made studies for the rank-analysis and plot tests: every number is chosen so the
// expected ranks, correlations and cells can be worked out by hand.
import { parseSpace } from '../../src/hpo/space.js';
import type { Config } from '../../src/hpo/space.js';
import type { TrialStatus } from '../../src/hpo/strategy.js';
import type { RoundValue, StudyData, AnalyzedTrial } from '../../src/hpo/study-data.js';

export const OBJECTIVES = [
  { name: 'val_loss', direction: 'minimize' },
  { name: 'score', direction: 'maximize' },
] as const;

export interface TrialSpec {
  config: Config;
  loss?: number;
  score?: number;
  status?: TrialStatus;
  fidelity?: number;
  rounds?: number;
  curve?: RoundValue[];
  scoreCurve?: RoundValue[];
  bytes?: number;
}

/** A trial record with val_loss/score as both objective values and metrics. */
export function trial(id: number, s: TrialSpec): AnalyzedTrial {
  const fidelity = s.fidelity ?? 4;
  const metrics: Record<string, number> = {};
  if (s.loss !== undefined) metrics.val_loss = s.loss;
  if (s.score !== undefined) metrics.score = s.score;
  if (s.bytes !== undefined) metrics.bytes_sent = s.bytes;
  return {
    id,
    config: s.config,
    fidelity,
    status: s.status ?? 'complete',
    rounds: s.rounds ?? fidelity,
    ...(s.loss !== undefined && s.score !== undefined ? { values: [s.loss, s.score] } : {}),
    metrics,
    ...(s.curve ? { curve: s.curve } : {}),
    ...(s.scoreCurve ? { scoreCurve: s.scoreCurve } : {}),
  };
}

export const TINY_SPACE = parseSpace({
  'train.lr': { type: 'float', low: 0.001, high: 0.1, log: true, grid: [0.001, 0.01, 0.1] },
  'lora.r': { type: 'int', low: 4, high: 8, grid: [4, 8] },
  'train.local_steps': { type: 'int', low: 1, high: 2 },
});

export function study(trials: AnalyzedTrial[], name?: string, strategy = 'grid'): StudyData {
  return { name, strategy, space: TINY_SPACE, objectives: OBJECTIVES, trials };
}

/** A curve falling from `start` by `step` per round, for `rounds` rounds. */
export function curve(start: number, step: number, rounds: number): RoundValue[] {
  return Array.from({ length: rounds }, (_, i) => ({ round: i + 1, value: start - step * (i + 1) }));
}
