// Gaussian-process regression and expected improvement for Bayesian optimisation: the numerical
// part only (no spaces, trials or strategies), usable by any model-based strategy.
export { expectedImprovement, logExpectedImprovement } from './acquisition.js';
export { type CholeskyFactor, cholesky, NotPositiveDefiniteError } from './cholesky.js';
export { type FitOptions, type FitResult, fitHyperparams, priorCentre } from './fit.js';
export { type GpHyperparams, type GpInputSpec, matern52 } from './kernel.js';
export { minimizeLbfgs } from './lbfgs.js';
export { DEFAULT_PRIORS, FitData, type HyperPriors, logMarginalLikelihood } from './likelihood.js';
export { type AcquisitionMaximum, type AcquisitionSearch, maximizeAcquisition, type SearchDim, snapDim } from './maximize-acquisition.js';
export { GpPosterior, type Prediction } from './posterior.js';
export { type Standardized, standardize } from './standardize.js';
