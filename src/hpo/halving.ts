// The arithmetic of successive halving and Hyperband over federated rounds (Jamieson & Talwalkar
// 2016; Li et al. 2018), apart from any strategy: rung fidelities, bracket sizes, promotion counts.
// Fidelities are whole rounds; a promoted trial continues from its parent's checkpoint, so reaching
// rung k+1 from rung k costs fidelity[k+1] - fidelity[k] rounds.

/** Rung fidelities min·eta^k capped at max, for k = 0..K where K is the first with min·eta^K >= max. */
export function rungFidelities(min: number, max: number, eta: number): number[] {
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && min <= max))
    throw new RangeError(`rungFidelities: bad range [${min}, ${max}]`);
  if (!(Number.isInteger(eta) && eta >= 2)) throw new RangeError(`rungFidelities: eta must be an integer >= 2, got ${eta}`);
  const rungs = [min];
  while (rungs[rungs.length - 1]! < max) rungs.push(Math.min(rungs[rungs.length - 1]! * eta, max));
  return rungs;
}

/** A successive-halving bracket: `n` configs start at `rungs[0]` and the best 1/eta climb each rung. */
export interface BracketPlan {
  /** Hyperband's bracket index: the number of halvings (rungs.length - 1). */
  readonly s: number;
  /** Configs started at the bottom rung. */
  readonly n: number;
  /** The bracket's rung fidelities, bottom first. */
  readonly rungs: readonly number[];
}

/** Configs promoted out of a rung of `size`: floor(size / eta), at least one (so the best always climbs). */
export function promotionCount(size: number, eta: number): number {
  return size > 0 ? Math.max(1, Math.floor(size / eta)) : 0;
}

/** Planned rung sizes of a bracket when every trial completes: n, then promotionCount of the rung below. */
export function rungSizes(plan: BracketPlan, eta: number): number[] {
  const sizes = [plan.n];
  while (sizes.length < plan.rungs.length) sizes.push(promotionCount(sizes[sizes.length - 1]!, eta));
  return sizes;
}

/**
 * Hyperband's brackets over the rungs min·eta^k (k = 0..K): bracket s = K, K-1, ..., 0 starts
 * n_s = ceil((K+1)/(s+1) · eta^s) configs at rung K-s, so every bracket spends about the same rounds
 * and trades many cheap starts against few expensive ones.
 */
export function hyperbandBrackets(min: number, max: number, eta: number): BracketPlan[] {
  const all = rungFidelities(min, max, eta);
  const K = all.length - 1;
  const plans: BracketPlan[] = [];
  for (let s = K; s >= 0; s--) plans.push({ s, n: Math.ceil(((K + 1) / (s + 1)) * eta ** s), rungs: all.slice(K - s) });
  return plans;
}

/** One successive-halving bracket over all rungs: `n` configs (default eta^K, so one config reaches max). */
export function halvingBracket(min: number, max: number, eta: number, n?: number): BracketPlan {
  const rungs = rungFidelities(min, max, eta);
  return { s: rungs.length - 1, n: n ?? eta ** (rungs.length - 1), rungs };
}

/** Rounds a bracket charges when every trial completes: each rung's trials pay only their new rounds. */
export function bracketRounds(plan: BracketPlan, eta: number): number {
  const sizes = rungSizes(plan, eta);
  return sizes.reduce((sum, size, k) => sum + size * (plan.rungs[k]! - (k ? plan.rungs[k - 1]! : 0)), 0);
}
