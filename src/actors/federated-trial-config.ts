// A study's `trial` document for federated trials: an FL config (the schema of `fedhpo fl run`'s
// config, src/fl/fl-config.ts) with an optional `kind: federated` (absent means federated too).
// `rounds` is not the document's to choose: every trial trains to the fidelity the strategy asked
// for, so the runner sets it (best.json then holds the rounds the best trial reached, so
// `fedhpo fl run --config best.json` runs it again). The `local` scenario (N separate federations) has no single adapter
// to continue or export, so studies run `fed` or `global` trials only.
import { UserError } from '../engine/errors.js';
import { federatedData } from '../fl/client-files.js';
import { type FlConfig, parseFlConfig } from '../fl/fl-config.js';
import { cloneJson, type JsonObject } from '../hpo/config-paths.js';
import { fromUnit } from '../hpo/space.js';
import { type StudyConfig, studySpace } from '../hpo/study-config.js';
import { trialConfigOf } from '../hpo/trial-config.js';

export const FEDERATED_KIND = 'federated';

/** Whether a study's trial document is a federated one (`kind: federated`, or no kind at all). */
export function isFederatedTrial(trial: JsonObject): boolean {
  return trial.kind === undefined || trial.kind === FEDERATED_KIND;
}

/** A trial's full config document -> the validated FL config of one federation trained to `rounds`. */
export function federatedTrialConfig(doc: JsonObject, rounds: number, where: string): FlConfig {
  const config = parseFlConfig({ ...cloneJson(doc), rounds }, where);
  if (config.scenario === 'local')
    throw new UserError(
      `${where}: scenario: local runs one federation per client (no single adapter to continue or export); a study's trials are fed or global`,
    );
  return config;
}

/**
 * Checks the study's trial document before anything runs, with every hyperparameter at the middle
 * of its range: a misspelt key or a bad value fails the study at once with the key named, instead
 * of failing every trial one by one.
 */
export function checkFederatedStudy(study: StudyConfig, where: string): FlConfig {
  const middle = Object.fromEntries([...studySpace(study)].map(([name, spec]) => [name, fromUnit(spec, 0.5)]));
  return federatedTrialConfig(trialConfigOf(study, middle), 1, `${where}: trial`);
}

/**
 * As checkFederatedStudy, and when the trials train on a user's files, reads them once (split.json,
 * formats, metric) so a wrong path or a bad file stops the study at once, naming the key and the file.
 */
export async function checkFederatedStudyData(study: StudyConfig, where: string): Promise<void> {
  const config = checkFederatedStudy(study, where);
  if (config.data.clients === undefined) return;
  try {
    await federatedData(config.data);
  } catch (e) {
    // The key as the study config spells it (trial.data.clients), after the study config's path.
    if (e instanceof UserError) throw new UserError(`${where}: trial.${e.message.startsWith('data.') ? '' : 'data: '}${e.message}`);
    throw e;
  }
}
