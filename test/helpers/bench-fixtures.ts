// A small grid study of the synthetic test objective for bench record/replay tests: 3 x 2 x 2 = 12
// configs, 4 rounds, so a whole table records in well under a second (without delay).
import { parseStudyConfig, type StudyConfig } from '../../src/hpo/study-config.js';
import { syntheticStudyDoc } from './study-fixtures.js';

export function gridStudyDoc(trial: Record<string, unknown> = {}): Record<string, unknown> {
  return syntheticStudyDoc({
    name: 'bench grid',
    seed: 5,
    space: {
      'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true, grid: [1e-4, 1e-3, 1e-2] },
      'lora.r': { type: 'categorical', choices: [4, 16] },
      'train.local_steps': { type: 'int', low: 2, high: 8, step: 6 },
    },
    fidelity: { min_rounds: 1, max_rounds: 4 },
    budget: { rounds: 100 },
    strategy: 'grid',
    parallel: 1,
    trial: { kind: 'synthetic', noise: 0.05, ...trial },
  });
}

export function gridStudy(trial: Record<string, unknown> = {}): StudyConfig {
  return parseStudyConfig(gridStudyDoc(trial), 'bench grid study');
}
