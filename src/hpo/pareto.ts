// Ranking trials by several objectives: non-dominated sorting (NSGA-II's fronts), ties within a front
// broken by crowding distance (spread-out points first), then by trial id (earlier first). With one
// objective this is simply "best value first, earlier trial on ties". Successive halving, Hyperband
// and ASHA promote by this order, so they accept multi-objective studies.
import { minimizedValues, type Objective, type TrialRecord } from './strategy.js';

/** Whether `a` dominates `b` (all objectives minimized): nowhere worse, somewhere better. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) return false;
    if (a[i]! < b[i]!) better = true;
  }
  return better;
}

/** Indices of `points` per non-dominated front, the first front first (O(n² m): rungs are small). */
export function nonDominatedFronts(points: readonly (readonly number[])[]): number[][] {
  const dominatedBy = points.map(() => 0);
  const dominating = points.map(() => [] as number[]);
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      if (dominates(points[i]!, points[j]!)) {
        dominating[i]!.push(j);
        dominatedBy[j]!++;
      } else if (dominates(points[j]!, points[i]!)) {
        dominating[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  const fronts: number[][] = [];
  let front = points.flatMap((_, i) => (dominatedBy[i] === 0 ? [i] : []));
  while (front.length) {
    fronts.push(front);
    const next: number[] = [];
    for (const i of front) for (const j of dominating[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    front = next.sort((a, b) => a - b);
  }
  return fronts;
}

/** NSGA-II crowding distance of each member of `front` (Infinity at the extremes of any objective). */
export function crowdingDistances(points: readonly (readonly number[])[], front: readonly number[]): Map<number, number> {
  const distance = new Map(front.map((i) => [i, 0]));
  const m = points[front[0]!]?.length ?? 0;
  for (let o = 0; o < m; o++) {
    const sorted = [...front].sort((a, b) => points[a]![o]! - points[b]![o]! || a - b);
    const lo = points[sorted[0]!]![o]!;
    const hi = points[sorted[sorted.length - 1]!]![o]!;
    distance.set(sorted[0]!, Number.POSITIVE_INFINITY);
    distance.set(sorted[sorted.length - 1]!, Number.POSITIVE_INFINITY);
    if (hi === lo) continue;
    for (let k = 1; k < sorted.length - 1; k++)
      distance.set(sorted[k]!, distance.get(sorted[k]!)! + (points[sorted[k + 1]!]![o]! - points[sorted[k - 1]!]![o]!) / (hi - lo));
  }
  return distance;
}

/**
 * Trials with finite values for every objective, best first: by front, then crowding distance
 * (larger first), then id. Trials without usable values (failed, diverged, NaN) are left out.
 */
export function paretoOrder(objectives: readonly Objective[], trials: readonly TrialRecord[]): TrialRecord[] {
  const usable = trials.flatMap((t) => {
    const v = minimizedValues(objectives, t);
    return v?.length === objectives.length && v.every(Number.isFinite) ? [{ t, v }] : [];
  });
  if (objectives.length === 1) return usable.sort((a, b) => a.v[0]! - b.v[0]! || a.t.id - b.t.id).map((u) => u.t);
  const points = usable.map((u) => u.v);
  return nonDominatedFronts(points).flatMap((front) => {
    const crowding = crowdingDistances(points, front);
    const order = [...front].sort((a, b) => crowding.get(b)! - crowding.get(a)! || usable[a]!.t.id - usable[b]!.t.id);
    return order.map((i) => usable[i]!.t);
  });
}

/** Indices of the non-dominated points, in input order, each metric minimized or maximized as `directions` says. */
export function paretoFront(points: readonly (readonly number[])[], directions: readonly Objective['direction'][]): number[] {
  const minimized = points.map((p) => directions.map((d, i) => (d === 'minimize' ? p[i]! : -p[i]!)));
  return (nonDominatedFronts(minimized)[0] ?? []).sort((a, b) => a - b);
}
