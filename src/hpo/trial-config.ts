// A trial's full config: the study's base trial config, then the fixed values, then the trial's
// hyperparameters, each set by its dotted path. This document is what a TrialRunner receives and
// what best.json holds (ready for `fedhpo fl run --config`).
import { cloneJson, type JsonObject, setPath } from './config-paths.js';
import type { Config } from './space.js';
import type { StudyConfig } from './study-config.js';

export function trialConfigOf(study: StudyConfig, hyperparameters: Config): JsonObject {
  const doc = cloneJson(study.trial);
  for (const [path, value] of Object.entries(study.fixed)) setPath(doc, path, value, 'fixed');
  for (const [path, value] of Object.entries(hyperparameters)) setPath(doc, path, value, 'space');
  return doc;
}
