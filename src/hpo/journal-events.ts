// What a study journal holds: one event per line, numbered from 1 (`seq`) and timestamped (`t`). The
// schema is the reader's check that a line is an event; the scheduler writes them, StudyState replays
// them. Field names follow the YAML config (snake_case): the journal is a file format.
import { z } from 'zod';
import type { JsonValue } from '../engine/json.js';

const json: z.ZodType<JsonValue> = z.json();
const id = z.number().int().min(0);
const count = z.number().int().min(1);
/** NaN and infinities are written as null by JSON.stringify; the scheduler journals them as NaN, so null reads back as NaN. */
const number = z
  .number()
  .or(z.null())
  .transform((v) => v ?? Number.NaN);
const metrics = z.record(z.string(), number);
const paramValue = z.union([z.number(), z.string(), z.boolean()]);

export const AskedTrialSchema = z
  .object({
    id,
    config: z.record(z.string(), paramValue),
    fidelity: count,
    parent: z
      .object({ id, round: z.number().int().min(0) })
      .strict()
      .optional(),
    meta: json.optional(),
  })
  .strict();

export const CurvePointSchema = z.object({ round: count, metrics }).strict();

const base = { seq: count, t: z.iso.datetime() };

/** An event schema: its own fields plus the journal's seq and t, nothing else. */
function event<K extends string, S extends z.ZodRawShape>(kind: K, shape: S) {
  return z.object({ kind: z.literal(kind), ...shape, ...base }).strict();
}

export const JournalEventSchema = z.discriminatedUnion('kind', [
  event('study.started', {
    study_id: z.string().min(1),
    /** The validated study config (checked again by parseStudyConfig on replay). */
    config: json,
    version: z.string(),
  }),
  event('session.started', { session: count, mode: z.enum(['in-process', 'workers']), pid: z.number().int(), host: z.string() }),
  /** Suggestions joined the study, with the strategy's state right after it made them (one line: both or neither). */
  event('trials.asked', { source: z.enum(['strategy', 'enqueue']), trials: z.array(AskedTrialSchema).min(1), strategy_state: json }),
  /** `delivery`: which JetStream delivery of the attempt (1 in-process; more when a worker was lost). */
  event('trial.started', { id, attempt: count, delivery: count, worker: z.string() }),
  event('trial.round', { id, attempt: count, round: count, metrics }),
  event('trial.finished', {
    id,
    attempt: count,
    status: z.enum(['complete', 'failed', 'diverged', 'pruned']),
    reason: z.string().optional(),
    /** The objectives in the study's order (null in the file when NaN). */
    values: z.array(number).optional(),
    metrics,
    curve: z.array(CurvePointSchema),
    /** Rounds this trial trained: what it cost the budget. */
    rounds: z.number().int().min(0),
    costs: metrics,
    checkpoint: z.string().optional(),
    worker: z.string().optional(),
  }),
  /** The attempt ended without a result (the study process died or stopped); the trial runs again as attempt + 1. */
  event('trial.interrupted', { id, attempt: count, reason: z.string(), rounds_lost: z.number().int().min(0) }),
  /** A worker stopped heart-beating: JetStream redelivered its trial to another worker. */
  event('worker.lost', { id, attempt: count, delivery: count, worker: z.string(), rounds_lost: z.number().int().min(0) }),
  /** A strategy's client task ran on the clients: their replies (told to the strategy) and the local work charged. */
  event('client-task.finished', {
    task: z.string(),
    args: json,
    replies: z.array(
      z.object({ client: z.string(), result: json, local_steps: z.number().int().min(0), client_rounds: z.number().min(0) }).strict(),
    ),
    /** Local client-rounds over every client (local steps ÷ local steps per round). */
    client_rounds: z.number().min(0),
    /** Clients asked (the charge in rounds is client_rounds ÷ clients: a round of all clients costs that many client-rounds). */
    clients: z.number().int().min(0),
  }),
  event('session.stopped', { reason: z.string() }),
  event('study.finished', { reason: z.string() }),
]);

export type JournalEvent = z.infer<typeof JournalEventSchema>;
export type JournalEventKind = JournalEvent['kind'];
/** An event as the scheduler hands it to the journal (the journal numbers and timestamps it). */
export type NewJournalEvent = JournalEvent extends infer E ? (E extends JournalEvent ? Omit<E, 'seq' | 't'> : never) : never;
export type EventOf<K extends JournalEventKind> = Extract<JournalEvent, { kind: K }>;
export type AskedTrial = z.infer<typeof AskedTrialSchema>;
export type CurvePoint = z.infer<typeof CurvePointSchema>;
