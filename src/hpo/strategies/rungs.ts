// What successive halving, Hyperband and ASHA share: reading their tags back from the study view and
// seeing a rung as one entry per config. A trial the study re-ran (its worker died) appears twice in a
// rung; the entry keeps the most telling record: complete, else running, else pruned, else failed.
import type { JsonValue } from '../../engine/json.js';
import { configKey, type SearchSpace } from '../space.js';
import type { Suggestion, TrialRecord, TrialStatus } from '../strategy.js';

/** The tag a SHA-family strategy puts on its suggestions (echoed back in TrialRecord.meta). */
export interface RungTag {
  readonly rung: number;
  readonly bracket?: number;
}

const isCount = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The rung tag of a trial's meta, or undefined for a trial some other party started. */
export function readTag(meta: JsonValue | undefined): RungTag | undefined {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || !isCount(meta.rung)) return undefined;
  if (meta.bracket === undefined) return { rung: meta.rung };
  return isCount(meta.bracket) ? { rung: meta.rung, bracket: meta.bracket } : undefined;
}

const PRECEDENCE: Record<TrialStatus, number> = { complete: 4, running: 3, pruned: 2, failed: 1, diverged: 1 };

/** One record per config of a rung (by configKey, in first-seen order). */
export function rungEntries(space: SearchSpace, trials: Iterable<TrialRecord>): Map<string, TrialRecord> {
  const entries = new Map<string, TrialRecord>();
  for (const t of trials) {
    const key = configKey(space, t.config);
    const seen = entries.get(key);
    if (!seen || PRECEDENCE[t.status] > PRECEDENCE[seen.status]) entries.set(key, t);
  }
  return entries;
}

/** The suggestion that continues `t` (which reached `from` rounds) up to `fidelity`. */
export function continuation(t: TrialRecord, from: number, fidelity: number, meta: JsonValue): Suggestion {
  return { config: t.config, fidelity, parent: { id: t.id, round: from }, meta };
}

/** A stand-in for a suggestion made earlier in the same ask (a running trial the view does not have yet). */
export function pendingRecord(s: Suggestion, id: number): TrialRecord {
  return {
    id,
    config: s.config,
    fidelity: s.fidelity,
    status: 'running',
    rounds: 0,
    ...(s.parent && { parent: s.parent }),
    ...(s.meta !== undefined && { meta: s.meta }),
  };
}
