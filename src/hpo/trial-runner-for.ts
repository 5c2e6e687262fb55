// The one place that chooses a study's TrialRunner from its config. `trial.kind: synthetic` is the test
// objective (see synthetic-runner.ts); the federated LoRA runner plugs in here (an FL config document
// as `trial`, validated by that runner) once it exists. The scheduler and trial workers both call this,
// so a worker builds exactly the runner the study's config describes.
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import { parseWithSchema } from '../fl/pretrain-config.js';
import { type StudyConfig, studySpace } from './study-config.js';
import { SyntheticTrialRunner, SyntheticTrialSchema } from './synthetic-runner.js';
import type { TrialRunner } from './trial-runner.js';

export function trialRunnerFor(config: StudyConfig, where = 'study config'): TrialRunner {
  const kind = config.trial.kind;
  if (kind === 'synthetic') {
    const { trial } = parseWithSchema(z.object({ trial: SyntheticTrialSchema }), { trial: config.trial }, where);
    return new SyntheticTrialRunner(studySpace(config), config.seed, trial);
  }
  throw new UserError(
    `${where}: trial.kind ${kind === undefined ? 'is missing' : `${JSON.stringify(kind)} is unknown`}: ` +
      'study trials are synthetic (kind: synthetic, a test objective) until the federated trial runner is plugged in',
  );
}
