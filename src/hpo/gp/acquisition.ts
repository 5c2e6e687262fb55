// Expected improvement for minimisation, in log space (LogEI, Ament et al., NeurIPS 2023): EI
// underflows to exactly 0 far from the incumbent, which leaves a maximiser without a gradient or
// ranking; log EI stays finite and ordered there.
import { logH, normalCdf, normalPdf } from './normal.js';

/** log EI of a normal N(mean, variance) below `best` (minimisation); -Infinity only when variance is 0 and mean >= best. */
export function logExpectedImprovement(mean: number, variance: number, best: number): number {
  if (!(variance > 0)) return best > mean ? Math.log(best - mean) : Number.NEGATIVE_INFINITY;
  const sigma = Math.sqrt(variance);
  return Math.log(sigma) + logH((best - mean) / sigma);
}

/** Textbook EI = sigma (z Phi(z) + phi(z)), z = (best - mean)/sigma: cancels and underflows to 0 in the far tail. */
export function expectedImprovement(mean: number, variance: number, best: number): number {
  if (!(variance > 0)) return Math.max(best - mean, 0);
  const sigma = Math.sqrt(variance);
  const z = (best - mean) / sigma;
  return sigma * (z * normalCdf(z) + normalPdf(z));
}
