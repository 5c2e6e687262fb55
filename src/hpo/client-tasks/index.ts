// Client tasks: the code strategies run on clients, by name (see ../client-task.ts for the capability).
export { type FloraLocalHpoArgs, FloraLocalHpoResult, floraLocalHpoTask } from './flora-task.js';
export { FtsWeightsArgs, FtsWeightsResult, ftsWeightsTask, sampleWeights, sharedFeatures, unitPoint } from './fts-task.js';
export {
  CLIENT_TASKS,
  ClientTaskError,
  ClientTaskHost,
  type ClientTaskOutput,
  checkClientTaskResult,
  clientTask,
  planClientTask,
} from './registry.js';
export { type SyntheticClientSettings, SyntheticLocalObjective, syntheticClientLoss } from './synthetic-objective.js';
export type { ClientTask, LocalEvaluation, LocalObjective, LocalTrial, LocalTrialResult } from './task.js';
