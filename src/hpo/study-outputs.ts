// What a study leaves beside its journal: summary.json (counts, budget, best so far), best.json (one
// objective: the best trial's full trial config, ready for `fedhpo fl run --config`; several: the
// Pareto front, each with its full config) and best/ (the best trial's adapter, written by the runner).
// All are derived from the journal and rewritten whole (write, then rename), never appended.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from '../engine/json.js';
import type { JsonObject } from './config-paths.js';
import { lossScoreAgreement } from './ranking.js';
import { bestTrials } from './study-best.js';
import { studyDataOf } from './study-journal.js';
import type { StudyState, StudyTrial } from './study-state.js';
import { trialConfigOf } from './trial-config.js';
import type { TrialRunner } from './trial-runner.js';

export interface BestEntry {
  readonly trial: number;
  readonly fidelity: number;
  readonly values: Record<string, number>;
  /** The trial's evaluation score (pass@1, accuracy) when it reported one, objective or not. */
  readonly score: number | null;
  readonly hyperparameters: Record<string, JsonValue>;
}

export interface StudySummary {
  readonly study_id: string;
  readonly name: string | null;
  readonly state: 'finished' | 'stopped' | 'running or interrupted';
  readonly finish_reason: string | null;
  readonly strategy: string;
  readonly objectives: { name: string; direction: string }[];
  readonly trials: Record<string, number> & { total: number };
  readonly budget: {
    readonly rounds: {
      spent: number;
      limit: number | null;
      lost: number;
      client_rounds: number;
      local_client_rounds: number;
      local_rounds: number;
    };
    readonly trials: { asked: number; limit: number | null };
    readonly wall_time: { seconds: number; limit: number | null };
  };
  /** One entry for a single objective; the Pareto front for several. */
  readonly best: BestEntry[];
  /** Validation-loss rank vs score rank over the complete trials that measured both (null below 2). */
  readonly rank_agreement: RankAgreementSummary | null;
}

export interface RankAgreementSummary {
  readonly n: number;
  readonly spearman: number;
  readonly spearman_p: number;
  readonly kendall: number;
  readonly kendall_p: number;
}

function rankAgreementOf(state: StudyState): RankAgreementSummary | null {
  const a = lossScoreAgreement(studyDataOf(state));
  if (a.n < 2) return null;
  return { n: a.n, spearman: a.spearman.value, spearman_p: a.spearman.p, kendall: a.kendall.value, kendall_p: a.kendall.p };
}

export function bestEntry(state: StudyState, t: StudyTrial): BestEntry {
  return {
    trial: t.id,
    fidelity: t.fidelity,
    values: Object.fromEntries(state.objectives.map((o, i) => [o.name, t.values![i]!])),
    score: t.metrics?.score ?? null,
    hyperparameters: { ...t.config },
  };
}

export function studySummary(state: StudyState): StudySummary {
  const { budget } = state.config;
  return {
    study_id: state.studyId,
    name: state.config.name ?? null,
    state: state.finished ? 'finished' : state.stopped ? 'stopped' : 'running or interrupted',
    finish_reason: state.finished?.reason ?? null,
    strategy: state.config.strategy.name,
    objectives: state.objectives.map((o) => ({ name: o.name, direction: o.direction })),
    trials: { total: state.trials.length, ...state.countByStatus() },
    budget: {
      rounds: {
        spent: state.spentRounds,
        limit: budget.rounds ?? null,
        lost: state.lostRounds,
        client_rounds: state.trials.reduce((s, t) => s + (t.costs?.client_rounds ?? 0), 0),
        /** Clients' local work for client tasks (FTS, FLoRA), charged to the budget as local_rounds. */
        local_client_rounds: state.localClientRounds,
        local_rounds: state.localRounds,
      },
      trials: { asked: state.trials.length, limit: budget.trials ?? null },
      wall_time: { seconds: Math.round(state.elapsedSeconds * 10) / 10, limit: budget.wall_time ?? null },
    },
    best: bestTrials(state.objectives, state.trials).map((t) => bestEntry(state, t)),
    rank_agreement: rankAgreementOf(state),
  };
}

/** best.json's content: the best full trial config, or for several objectives the front with full configs; undefined before any trial completes. */
export function bestDocument(state: StudyState): JsonObject | { pareto_front: JsonValue[] } | undefined {
  const best = bestTrials(state.objectives, state.trials);
  if (!best.length) return undefined;
  if (state.objectives.length === 1) return bestConfig(state, best[0]!);
  return {
    pareto_front: best.map((t) => {
      const e = bestEntry(state, t);
      return { trial: e.trial, values: e.values, config: bestConfig(state, t) };
    }),
  };
}

/** A trial's full config with `rounds` set to the rounds it was trained to: what `fl run --config` reproduces. */
function bestConfig(state: StudyState, t: StudyTrial): JsonObject {
  return { ...trialConfigOf(state.config, t.config), rounds: t.fidelity };
}

/** What summary.json, best.json and best/ hold for a state: computed at once, since the state moves on while they are written. */
export interface StudyOutputs {
  readonly summary: StudySummary;
  readonly best: JsonObject | { pareto_front: JsonValue[] } | undefined;
  /** The best trial's checkpoint, which best/ is exported from. */
  readonly bestCheckpoint: string | undefined;
}

export function studyOutputsOf(state: StudyState): StudyOutputs {
  return {
    summary: studySummary(state),
    best: bestDocument(state),
    bestCheckpoint: bestTrials(state.objectives, state.trials)[0]?.checkpoint,
  };
}

/** Rewrites summary.json and best.json, and asks the runner for the best trial's adapter in best/. */
export async function writeStudyOutputs(dir: string, state: StudyState, runner: TrialRunner | undefined): Promise<void> {
  await saveStudyOutputs(dir, studyOutputsOf(state), runner);
}

/** Rewrites summary.json and best.json of `out`; with a runner, exports the best trial's adapter to best/. */
export async function saveStudyOutputs(dir: string, out: StudyOutputs, runner: TrialRunner | undefined): Promise<void> {
  await writeJsonAtomic(join(dir, 'summary.json'), out.summary);
  if (!out.best) return;
  await writeJsonAtomic(join(dir, 'best.json'), out.best);
  if (!runner || out.bestCheckpoint === undefined) return;
  const tmp = join(dir, 'best.tmp');
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await runner.exportAdapter(out.bestCheckpoint, tmp);
  await rm(join(dir, 'best'), { recursive: true, force: true });
  await rename(tmp, join(dir, 'best'));
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}
