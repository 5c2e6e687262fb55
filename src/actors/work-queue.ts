// The trial work queue over NATS JetStream, shared by the scheduler and trial workers.
//
// Per study one stream, FEDHPO_STUDY_<id>, with work-queue retention (a message lives until it is
// removed) and two subject families, each read by one durable pull consumer:
//   fedhpo.study.<id>.trial.<trial>   what to run      -> consumer `workers` (all workers share it)
//   fedhpo.study.<id>.result.<trial>  what came out    -> consumer `scheduler`
// A worker keeps its trial alive with in-progress acks (heartbeats) every ack_wait / 3; a worker that
// dies stops them, and after ack_wait JetStream redelivers the trial to another worker (up to
// workers.max_deliveries, then the scheduler fails it from the max-deliveries advisory). Workers never
// ack: the scheduler removes a trial's message only after its result is in the journal, so a result
// lost anywhere on the way means a re-run, never a lost trial. Results are idempotent by trial id +
// attempt (+ delivery): duplicates are journaled once. Progress goes over core NATS: `started` (a
// later delivery there is how the journal learns a worker was lost) and `round` (a request; the reply
// is the pruning decision). The KV bucket fedhpo_studies lists open studies (id -> config), so a
// worker started with nothing but --nats finds every study and builds its TrialRunner from the config.
import { z } from 'zod';
import type { JsonValue } from '../engine/json.js';
import type { TrialOutcome } from '../hpo/trial-runner.js';

export const STUDIES_BUCKET = 'fedhpo_studies';
export const WORKERS_CONSUMER = 'workers';
export const SCHEDULER_CONSUMER = 'scheduler';

export interface WorkQueueNames {
  readonly stream: string;
  trial(id: number): string;
  result(id: number): string;
  readonly trials: string;
  readonly results: string;
  readonly started: string;
  readonly round: string;
  /** Where JetStream announces a trial it stopped redelivering. */
  readonly maxDeliveries: string;
}

export function workQueueNames(studyId: string): WorkQueueNames {
  if (!/^[A-Za-z0-9_-]+$/.test(studyId)) throw new Error(`study id ${JSON.stringify(studyId)} cannot name a stream`);
  const base = `fedhpo.study.${studyId}`;
  const stream = `FEDHPO_STUDY_${studyId}`;
  return {
    stream,
    trial: (id) => `${base}.trial.${id}`,
    result: (id) => `${base}.result.${id}`,
    trials: `${base}.trial.*`,
    results: `${base}.result.*`,
    started: `${base}.started`,
    round: `${base}.round`,
    maxDeliveries: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${WORKERS_CONSUMER}`,
  };
}

const json: z.ZodType<JsonValue> = z.json();
const count = z.number().int().min(1);
const id = z.number().int().min(0);
const number = z
  .number()
  .or(z.null())
  .transform((v) => v ?? Number.NaN);
const metrics = z.record(z.string(), number);

/** An open study as the registry lists it. */
export const StudyEntrySchema = z
  .object({ study_id: z.string(), stream: z.string(), config: json, ack_wait_ms: z.number().positive() })
  .strict();

export const TrialMessageSchema = z
  .object({
    study_id: z.string(),
    trial_id: id,
    attempt: count,
    config: z.record(z.string(), json),
    fidelity: count,
    parent: z
      .object({ trialId: id, round: z.number().int().min(0), checkpoint: z.string() })
      .strict()
      .optional(),
    dir: z.string(),
  })
  .strict();

const attemptFields = { study_id: z.string(), trial_id: id, attempt: count, delivery: count, worker: z.string().min(1).max(200) };

export const StartedMessageSchema = z.object(attemptFields).strict();
export const RoundMessageSchema = z.object({ ...attemptFields, round: count, metrics }).strict();
export const RoundReplySchema = z.object({ decision: z.enum(['continue', 'prune']) }).strict();

export const OutcomeSchema: z.ZodType<TrialOutcome, unknown> = z
  .object({
    status: z.enum(['complete', 'failed', 'diverged', 'pruned']),
    reason: z.string().optional(),
    metrics,
    curve: z.array(z.object({ round: count, metrics }).strict()),
    rounds: z.number().min(0),
    costs: metrics,
    checkpoint: z.string().optional(),
  })
  .strict();

export const ResultMessageSchema = z.object({ ...attemptFields, outcome: OutcomeSchema }).strict();

export type StudyEntry = z.infer<typeof StudyEntrySchema>;
export type TrialMessage = z.infer<typeof TrialMessageSchema>;
export type StartedMessage = z.infer<typeof StartedMessageSchema>;
export type RoundMessage = z.infer<typeof RoundMessageSchema>;
export type ResultMessage = z.infer<typeof ResultMessageSchema>;

export function encodeMessage(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Parses and checks a message from the network: a parsed value, or a one-line reason it was refused. */
export function decodeMessage<T>(schema: z.ZodType<T, unknown>, bytes: Uint8Array): T | string {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  return `${issue.path.join('.') || 'message'}: ${issue.message}`;
}
