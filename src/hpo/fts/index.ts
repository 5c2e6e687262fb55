// Federated Thompson sampling: the math (features, regression, the acting rule), apart from the
// strategy adapter (strategies/fts.ts) and the client task (client-tasks/fts-task.ts).
export { type FtsSource, chooseSource, ownSurrogateProbability } from './acquisition.js';
export { BayesianLinearRegression } from './blr.js';
export { RandomFourierFeatures, type RffSpec } from './rff.js';
