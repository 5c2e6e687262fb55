// Pareto fronts of two or more metrics: the trials no other trial beats on every metric at once.
export type Direction = 'minimize' | 'maximize';

/** Whether a is at least as good as b everywhere and better somewhere. */
export function dominates(a: readonly number[], b: readonly number[], directions: readonly Direction[]): boolean {
  let better = false;
  for (let i = 0; i < directions.length; i++) {
    const d = directions[i] === 'minimize' ? b[i]! - a[i]! : a[i]! - b[i]!;
    if (d < 0) return false;
    if (d > 0) better = true;
  }
  return better;
}

/** Indices of the non-dominated points, in input order (n^2: a study's trials, not a population of millions). */
export function paretoFront(points: readonly (readonly number[])[], directions: readonly Direction[]): number[] {
  return points.flatMap((p, i) => (points.some((q, j) => j !== i && dominates(q, p, directions)) ? [] : [i]));
}
