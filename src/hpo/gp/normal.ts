// Standard normal density and tails, accurate in the far tail: expected improvement needs the upper
// tail to full relative precision where 1 - Phi would round to 0.

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
/** Below this, erf's Taylor series is accurate; above, Laplace's continued fraction converges fast. */
const SERIES_LIMIT = 2.5;
const CF_TERMS = 80;

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

export function logNormalPdf(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

/** erf(x) by its Maclaurin series; used only for |x| < 1.8, where it keeps ~14 digits. */
function erfSeries(x: number): number {
  // erf(x) = 2/sqrt(pi) * sum_k (-1)^k x^(2k+1) / (k! (2k+1))
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let k = 1; k < 60; k++) {
    term *= -x2 / k;
    const add = term / (2 * k + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * The tail of Laplace's continued fraction for the Mills ratio, for t >= SERIES_LIMIT:
 * R(t) = Q(t)/phi(t) = 1/(t + c(t)) with c(t) = 1/(t + 2/(t + 3/(t + ...))), evaluated backwards.
 */
export function millsTail(t: number): number {
  let v = t;
  for (let k = CF_TERMS; k >= 2; k--) v = t + k / v;
  return 1 / v;
}

/** Upper tail Q(t) = 1 - Phi(t), to full relative precision for every t. */
export function normalSf(t: number): number {
  if (t < 0) return 1 - normalSf(-t);
  if (t < SERIES_LIMIT) return 0.5 - 0.5 * erfSeries(t / Math.SQRT2);
  return normalPdf(t) / (t + millsTail(t));
}

export function normalCdf(z: number): number {
  return normalSf(-z);
}

/**
 * log h(z) with h(z) = phi(z) + z Phi(z), the expected improvement of a unit normal over its mean
 * by z standard deviations: EI = sigma h((best - mu)/sigma). Finite for every finite z: in the lower
 * tail h = phi(z) c/(t + c) (t = -z, c from the Mills-ratio fraction) has no cancellation, where the
 * direct sum would underflow to 0 (the idea of LogEI, Ament et al., NeurIPS 2023).
 */
export function logH(z: number): number {
  if (z > -SERIES_LIMIT) return Math.log(normalPdf(z) + z * normalCdf(z));
  const t = -z;
  const c = millsTail(t);
  return logNormalPdf(z) + Math.log(c) - Math.log(t + c);
}
