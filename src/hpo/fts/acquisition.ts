// The FTS decision of the acting agent (the server) at iteration t (Dai, Low & Jaillet, NeurIPS 2020):
// with probability p_t it Thompson-samples its own surrogate, otherwise it takes the weight sample
// shared by one other agent chosen uniformly; then it evaluates the argmax of the chosen function.
// p_t rises towards 1, so the other agents' knowledge helps early and the own data decides late.

/** p_t = 1 − 1/(t+1)², t = 1, 2, ... (0.75, 0.89, 0.94, ...): the chance the server uses its own surrogate. */
export function ownSurrogateProbability(t: number): number {
  if (!(t >= 1)) throw new RangeError(`FTS: iteration must be >= 1, got ${t}`);
  return 1 - 1 / (t + 1) ** 2;
}

export type FtsSource = { readonly kind: 'own' } | { readonly kind: 'client'; readonly index: number };

/**
 * Which function the server maximises this iteration, from two uniforms in [0, 1): `coin` against
 * p_t, `pick` choosing among `clients` shared samples. Without shared samples it is always its own.
 */
export function chooseSource(t: number, clients: number, coin: number, pick: number): FtsSource {
  if (clients === 0 || coin < ownSurrogateProbability(t)) return { kind: 'own' };
  return { kind: 'client', index: Math.min(clients - 1, Math.floor(pick * clients)) };
}
