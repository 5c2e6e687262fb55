// Rank analysis of a study: trials ranked by validation loss and by evaluation score (1 = best, ties
// averaged), how well the two rankings agree (Spearman, Kendall tau-b, top-k overlap), and whether a
// cheap fidelity's ranking predicts an expensive one's. Both rankings put the best trial first, so a
// positive correlation means "validation loss is a faithful proxy for the score".
import { averageRanks, kendallTauB, type PValueChoice, type RankCorrelation, spearman } from './rank-stats.js';
import { configKey } from './space.js';
import {
  completeTrials,
  metricByRound,
  metricDirection,
  metricValue,
  SCORE,
  type StudyData,
  type AnalyzedTrial,
  VAL_LOSS,
} from './study-data.js';

/** Ranks (1 = best, ties averaged) of `values` in the direction given. */
export function ranksBy(values: readonly number[], direction: 'minimize' | 'maximize'): number[] {
  return averageRanks(direction === 'minimize' ? values : values.map((v) => -v));
}

export interface RankedTrial {
  readonly trial: AnalyzedTrial;
  readonly valLoss: number;
  readonly score: number;
  readonly valLossRank: number;
  readonly scoreRank: number;
}

/** Complete trials with both a validation loss and a score (optionally only those at one fidelity), ranked both ways, in id order. */
export function rankTrials(study: StudyData, options: { fidelity?: number } = {}): RankedTrial[] {
  const rows = completeTrials(study)
    .filter((t) => options.fidelity === undefined || t.fidelity === options.fidelity)
    .map((trial) => ({ trial, valLoss: metricValue(study, trial, VAL_LOSS), score: metricValue(study, trial, SCORE) }))
    .filter((r): r is { trial: AnalyzedTrial; valLoss: number; score: number } => r.valLoss !== undefined && r.score !== undefined);
  const valLossRanks = ranksBy(
    rows.map((r) => r.valLoss),
    metricDirection(study, VAL_LOSS),
  );
  const scoreRanks = ranksBy(
    rows.map((r) => r.score),
    metricDirection(study, SCORE),
  );
  return rows.map((r, i) => ({ ...r, valLossRank: valLossRanks[i]!, scoreRank: scoreRanks[i]! }));
}

export interface TopKOverlap {
  /** The k asked for: a count, or a fraction of the trials in (0, 1). */
  readonly asked: number;
  /** The count used: a fraction rounded up, at least 1, at most n. */
  readonly k: number;
  /** Trials in both top-k sets. */
  readonly shared: number;
  /** shared / k. */
  readonly overlap: number;
}

/** The top-k count for `k`: a count as is (clamped to n), a fraction of n rounded up. */
export function topKCount(k: number, n: number): number {
  if (!(k > 0)) throw new RangeError(`top-k: k must be positive, got ${k}`);
  return Math.min(n, k < 1 ? Math.ceil(k * n) : Math.floor(k));
}

/** The first `k` items by rank; ties at the cut are broken by position (trial order), so the sets always have k members. */
function topSet(ranks: readonly number[], k: number): Set<number> {
  const order = ranks.map((r, i) => [r, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return new Set(order.slice(0, k).map(([, i]) => i));
}

/** How many of the best k by one ranking are among the best k by the other. */
export function topKOverlap(ranksA: readonly number[], ranksB: readonly number[], k: number): TopKOverlap {
  if (ranksA.length !== ranksB.length) throw new RangeError('top-k overlap needs two rankings of the same items');
  const count = topKCount(k, ranksA.length);
  if (count === 0) return { asked: k, k: 0, shared: 0, overlap: Number.NaN };
  const b = topSet(ranksB, count);
  const shared = [...topSet(ranksA, count)].filter((i) => b.has(i)).length;
  return { asked: k, k: count, shared, overlap: shared / count };
}

export const DEFAULT_TOP_K: readonly number[] = [1, 3, 5];

export interface RankAgreement {
  readonly n: number;
  readonly spearman: RankCorrelation;
  readonly kendall: RankCorrelation;
  readonly topK: readonly TopKOverlap[];
}

export interface AgreementOptions {
  /** Top-k sizes: counts (1, 3, 5) or fractions of the trials (0.1). */
  readonly topK?: readonly number[];
  readonly pValue?: PValueChoice;
}

/** Agreement of two rankings (1 = best) of the same items. */
export function rankAgreement(ranksA: readonly number[], ranksB: readonly number[], options: AgreementOptions = {}): RankAgreement {
  const choice = options.pValue ?? 'auto';
  return {
    n: ranksA.length,
    spearman: spearman(ranksA, ranksB, choice),
    kendall: kendallTauB(ranksA, ranksB, choice),
    topK: (options.topK ?? DEFAULT_TOP_K).filter((k) => topKCount(k, ranksA.length) > 0).map((k) => topKOverlap(ranksA, ranksB, k)),
  };
}

/** Does the validation-loss ranking agree with the score ranking? Over complete trials (optionally at one fidelity). */
export function lossScoreAgreement(study: StudyData, options: AgreementOptions & { fidelity?: number } = {}): RankAgreement {
  const ranked = rankTrials(study, options);
  return rankAgreement(
    ranked.map((r) => r.valLossRank),
    ranked.map((r) => r.scoreRank),
    options,
  );
}

/** Each config's value of `metric` after `round` rounds (the mean over its trials that measured it then), by config key. */
export function observationsAt(study: StudyData, metric: string, round: number): Map<string, number> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const t of study.trials) {
    const p = metricByRound(study, t, metric).find((x) => x.round === round);
    if (!p) continue;
    const key = configKey(study.space, t.config);
    const s = sums.get(key) ?? { sum: 0, count: 0 };
    sums.set(key, { sum: s.sum + p.value, count: s.count + 1 });
  }
  return new Map([...sums].map(([k, s]) => [k, s.sum / s.count]));
}

/** Rounds at which at least `minConfigs` configs measured `metric`, ascending. */
export function observedRounds(study: StudyData, metric: string, minConfigs = 3): number[] {
  const configsByRound = new Map<number, Set<string>>();
  for (const t of study.trials)
    for (const p of metricByRound(study, t, metric)) {
      const s = configsByRound.get(p.round) ?? new Set<string>();
      s.add(configKey(study.space, t.config));
      configsByRound.set(p.round, s);
    }
  return [...configsByRound]
    .filter(([, s]) => s.size >= minConfigs)
    .map(([r]) => r)
    .sort((a, b) => a - b);
}

/** Configs observed in both maps, ranked in each (1 = best), in key order. */
function pairedRanks(
  a: Map<string, number>,
  b: Map<string, number>,
  directions: readonly ['minimize' | 'maximize', 'minimize' | 'maximize'],
): { keys: string[]; ranksA: number[]; ranksB: number[] } {
  const keys = [...a.keys()].filter((k) => b.has(k)).sort();
  return {
    keys,
    ranksA: ranksBy(
      keys.map((k) => a.get(k)!),
      directions[0],
    ),
    ranksB: ranksBy(
      keys.map((k) => b.get(k)!),
      directions[1],
    ),
  };
}

export interface RoundAgreement extends RankAgreement {
  readonly round: number;
}

/**
 * Validation-loss rank vs score rank at every round where both were measured for >= 3 configs (the
 * reference paper's finding: they disagree at low fidelity).
 */
export function lossScoreAgreementByRound(study: StudyData, options: AgreementOptions = {}): RoundAgreement[] {
  const scoreRounds = new Set(observedRounds(study, SCORE));
  const directions = [metricDirection(study, VAL_LOSS), metricDirection(study, SCORE)] as const;
  return observedRounds(study, VAL_LOSS)
    .filter((r) => scoreRounds.has(r))
    .map((round) => {
      const { ranksA, ranksB } = pairedRanks(observationsAt(study, VAL_LOSS, round), observationsAt(study, SCORE, round), directions);
      return { round, ...rankAgreement(ranksA, ranksB, options) };
    })
    .filter((a) => a.n >= 3);
}

export interface FidelityAgreement extends RankAgreement {
  readonly metric: string;
  readonly low: number;
  readonly high: number;
}

/** Does the ranking of configs by `metric` after `low` rounds predict their ranking after `high` rounds? */
export function crossFidelityAgreement(
  study: StudyData,
  metric: string,
  low: number,
  high: number,
  options: AgreementOptions = {},
): FidelityAgreement {
  const d = metricDirection(study, metric);
  const { ranksA, ranksB } = pairedRanks(observationsAt(study, metric, low), observationsAt(study, metric, high), [d, d]);
  return { metric, low, high, ...rankAgreement(ranksA, ranksB, options) };
}

/** Every observed round of `metric` against the highest observed round (round-2 rank vs round-8 rank, and so on). */
export function crossFidelityTable(study: StudyData, metric: string, options: AgreementOptions = {}): FidelityAgreement[] {
  const rounds = observedRounds(study, metric);
  const high = rounds.at(-1);
  if (high === undefined) return [];
  return rounds
    .slice(0, -1)
    .map((low) => crossFidelityAgreement(study, metric, low, high, options))
    .filter((a) => a.n >= 3);
}

/** The best complete trial by `metric` (lowest id among equals), or undefined when none measured it. */
export function bestTrial(study: StudyData, metric: string): AnalyzedTrial | undefined {
  const sign = metricDirection(study, metric) === 'minimize' ? 1 : -1;
  let best: { t: AnalyzedTrial; v: number } | undefined;
  for (const t of completeTrials(study)) {
    const v = metricValue(study, t, metric);
    if (v !== undefined && (!best || sign * v < sign * best.v)) best = { t, v };
  }
  return best?.t;
}

/** One line of an agreement table: what was compared, and how well the two rankings agree. */
export interface AgreementRow {
  readonly label: string;
  readonly agreement: RankAgreement;
}

/**
 * Validation-loss rank vs score rank: over all complete trials, per fidelity when trials ran at
 * several, and per round over configs (rows with fewer than 2 trials left out).
 */
export function lossScoreAgreementRows(study: StudyData, options: AgreementOptions = {}): AgreementRow[] {
  const rows: AgreementRow[] = [{ label: 'all complete trials', agreement: lossScoreAgreement(study, options) }];
  const fidelities = [...new Set(rankTrials(study).map((r) => r.trial.fidelity))].sort((a, b) => a - b);
  if (fidelities.length > 1)
    for (const f of fidelities)
      rows.push({ label: `complete at fidelity ${f}`, agreement: lossScoreAgreement(study, { ...options, fidelity: f }) });
  for (const r of lossScoreAgreementByRound(study, options)) rows.push({ label: `configs after round ${r.round}`, agreement: r });
  return rows.filter((r) => r.agreement.n >= 2);
}

/** Each observed round's ranking vs the highest round's, for val_loss and for the score. */
export function crossFidelityRows(study: StudyData, options: AgreementOptions = {}): AgreementRow[] {
  return [VAL_LOSS, SCORE].flatMap((m) =>
    crossFidelityTable(study, m, options).map((a) => ({ label: `${m}: round ${a.low} vs round ${a.high}`, agreement: a })),
  );
}
