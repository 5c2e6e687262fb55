// The federation's messages: a typed, versioned (`v: 1`) discriminated union with one zod schema per
// kind, validated on receipt. On the wire each is an envelope (envelope.ts): the JSON header below
// plus, for kinds that carry tensors, a codec payload.
//   server -> clients (broadcast):     join, evaluate, stop, task
//   server -> one client (direct):     round (only the selected clients download the global), refuse, task (a retry)
//   client -> server (its own subject): hello, update, eval-result, error, task-result, task-error
// `task` asks a client to run a client task of src/hpo/client-tasks by name (a strategy's local work:
// FTS's weight sample, FLoRA's local search); its result is checked again against the task's own
// schema by whoever asked (checkClientTaskResult).
import { z } from 'zod';
import { nestedDeeperThan } from '../engine/json.js';
import { MAX_BATCH_SIZE, PeftSectionSchema, TrainSettingsSchema } from '../fl/fl-config.js';
import { PROJECTIONS } from '../model/llama.js';
import { decodeEnvelope, EnvelopeError, encodeEnvelope } from './envelope.js';

export const MESSAGE_VERSION = 1;

const v = z.literal(MESSAGE_VERSION);
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/);
const round = z.number().int().min(0).max(1e9);
const attempt = z.number().int().min(0).max(1e6);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const finite = z.number().refine(Number.isFinite, 'must be finite');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const jsonObject = z.record(z.string().max(128), z.json());
/** The adapter's shape travels with it, so a client needs no config of its own. */
const LoraSchema = z
  .object({
    r: z.number().int().min(1).max(4096),
    alpha: z.number().positive(),
    dropout: z.number().min(0).lt(1),
    targets: z.array(z.enum(PROJECTIONS)).min(1).max(PROJECTIONS.length),
  })
  .strict();

export const JoinSchema = z.object({ v, kind: z.literal('join'), study: id, trial: id, modelSha256: sha256, round: round }).strict();

export const RoundSchema = z
  .object({
    v,
    kind: z.literal('round'),
    round,
    attempt,
    selected: z.array(id).min(1).max(100_000),
    /** The trial seed: a client's stream of the round forks from it. */
    seed: z.number().int().refine(Number.isSafeInteger, 'must be a safe integer'),
    lora: LoraSchema,
    /** The PEFT method and its settings (absent: LoRA, as before there were others). */
    peft: PeftSectionSchema.optional(),
    train: TrainSettingsSchema,
    /** The aggregator's wishes for local training (FedProx's proximal_mu ...). */
    aggregatorConfig: jsonObject,
    /** How the client must encode its delta. */
    codec: z
      .object({
        precision: z.enum(['fp32', 'fp16', 'int8']),
        granularity: z.enum(['tensor', 'channel']).optional(),
        compression: z.enum(['none', 'deflate']),
        level: z.number().int().min(1).max(9),
      })
      .strict(),
  })
  .strict();

export const EvaluateSchema = z
  .object({
    v,
    kind: z.literal('evaluate'),
    round,
    attempt,
    lora: LoraSchema,
    peft: PeftSectionSchema.optional(),
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE),
    seqLen: z.number().int().min(1),
  })
  .strict();

/** A registered client task's name (`fts.weights`). */
const taskName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9.-]*$/);
const taskId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const TaskSchema = z.object({ v, kind: z.literal('task'), taskId, attempt, task: taskName, args: jsonObject }).strict();

export const TaskResultSchema = z
  .object({
    v,
    kind: z.literal('task-result'),
    from: id,
    taskId,
    task: taskName,
    /** Validated against the task's result schema by the receiver. */
    result: z.json(),
    localSteps: count,
    clientRounds: finite.refine((x) => x >= 0, 'must be >= 0'),
  })
  .strict();

/** The client could not run the task (unknown name, bad args, its local training failed). */
export const TaskErrorSchema = z
  .object({ v, kind: z.literal('task-error'), from: id, taskId, task: taskName, error: z.string().max(2000) })
  .strict();

/** The trial is over; with `exit`, long-lived client processes (`fl client`) exit too instead of waiting for the next trial. */
export const StopSchema = z.object({ v, kind: z.literal('stop'), reason: z.string().max(2000), exit: z.boolean().optional() }).strict();

/** Why the server will not work with this client: a base model of another sha256 (fatal), or an id not in the trial. */
export const REFUSE_CODES = ['model-mismatch', 'not-in-trial'] as const;
export const RefuseSchema = z.object({ v, kind: z.literal('refuse'), code: z.enum(REFUSE_CODES), reason: z.string().max(2000) }).strict();

export const HelloSchema = z
  .object({ v, kind: z.literal('hello'), from: id, modelSha256: sha256, trainSamples: count, validSamples: count })
  .strict();

export const UpdateSchema = z
  .object({
    v,
    kind: z.literal('update'),
    from: id,
    round,
    attempt,
    samples: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    metrics: z.record(z.string().max(64), finite),
  })
  .strict();

export const EvalResultSchema = z
  .object({
    v,
    kind: z.literal('eval-result'),
    from: id,
    round,
    attempt,
    lossSum: finite.refine((x) => x >= 0, 'must be >= 0'),
    tokens: count,
    samples: count,
    seconds: finite,
  })
  .strict();

/** A client that cannot take part (its data file is bad, a round failed): said instead of silently dying. */
export const ErrorSchema = z
  .object({ v, kind: z.literal('error'), from: id, round: round.optional(), fatal: z.boolean(), reason: z.string().min(1).max(2000) })
  .strict();

export type JoinMsg = z.infer<typeof JoinSchema>;
export type RoundMsg = z.infer<typeof RoundSchema>;
export type EvaluateMsg = z.infer<typeof EvaluateSchema>;
export type StopMsg = z.infer<typeof StopSchema>;
export type RefuseMsg = z.infer<typeof RefuseSchema>;
export type ErrorMsg = z.infer<typeof ErrorSchema>;
export type HelloMsg = z.infer<typeof HelloSchema>;
export type UpdateMsg = z.infer<typeof UpdateSchema>;
export type EvalResultMsg = z.infer<typeof EvalResultSchema>;
export type TaskMsg = z.infer<typeof TaskSchema>;
export type TaskResultMsg = z.infer<typeof TaskResultSchema>;
export type TaskErrorMsg = z.infer<typeof TaskErrorSchema>;

export type ServerMessage = JoinMsg | RoundMsg | EvaluateMsg | StopMsg | RefuseMsg | TaskMsg;
export type ClientMessage = HelloMsg | UpdateMsg | EvalResultMsg | ErrorMsg | TaskResultMsg | TaskErrorMsg;
export type FederationMessage = ServerMessage | ClientMessage;

const SERVER_SCHEMAS = {
  join: JoinSchema,
  round: RoundSchema,
  evaluate: EvaluateSchema,
  stop: StopSchema,
  refuse: RefuseSchema,
  task: TaskSchema,
} as const;
const CLIENT_SCHEMAS = {
  hello: HelloSchema,
  update: UpdateSchema,
  'eval-result': EvalResultSchema,
  error: ErrorSchema,
  'task-result': TaskResultSchema,
  'task-error': TaskErrorSchema,
} as const;

/** Kinds that carry a tensor payload (and must). */
const WITH_TENSORS = new Set(['round', 'evaluate', 'update']);

/** Why a received message was refused: a short stable code (counted) and one line (logged). */
export class MessageRejected extends Error {
  override name = 'MessageRejected';
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

export type RejectReason =
  | 'undecodable'
  | 'bad-version'
  | 'schema'
  | 'wrong-direction'
  | 'bad-subject'
  | 'impersonation'
  | 'unknown-sender'
  | 'model-mismatch'
  | 'stale-round'
  | 'future-round'
  | 'stale-attempt'
  | 'future-attempt'
  | 'not-selected'
  | 'unexpected'
  | 'duplicate'
  | 'oversized'
  | 'bad-tensors'
  | 'bad-shape'
  | 'non-finite'
  /** A bug in handling the message (logged with its stack); the message is not used. */
  | 'internal';

export function encodeMessage(msg: FederationMessage, payload?: Uint8Array): Uint8Array {
  return encodeEnvelope(msg, payload);
}

export interface Received<M> {
  msg: M;
  payload: Uint8Array;
}

/** Header nesting allowed (a message is flat; hostile depth would overflow a recursive validator). */
const MAX_HEADER_DEPTH = 16;

function decodeWith<M>(bytes: Uint8Array, schemas: Record<string, z.ZodType>, side: string): Received<M> {
  let env: ReturnType<typeof decodeEnvelope>;
  try {
    env = decodeEnvelope(bytes);
  } catch (e) {
    throw new MessageRejected('undecodable', e instanceof EnvelopeError ? e.message : String(e));
  }
  const h = env.header;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new MessageRejected('schema', 'header is not a JSON object');
  const rec = h as Record<string, unknown>;
  if (rec.v !== MESSAGE_VERSION)
    throw new MessageRejected('bad-version', `version ${JSON.stringify(rec.v)?.slice(0, 20)} (want ${MESSAGE_VERSION})`);
  if (nestedDeeperThan(h, MAX_HEADER_DEPTH)) throw new MessageRejected('schema', `header nests deeper than ${MAX_HEADER_DEPTH}`);
  const kind = typeof rec.kind === 'string' ? rec.kind : '';
  const schema = Object.hasOwn(schemas, kind) ? schemas[kind] : undefined;
  if (!schema) throw new MessageRejected('wrong-direction', `kind ${JSON.stringify(kind).slice(0, 40)} is not a ${side} message`);
  const parsed = schema.safeParse(h);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MessageRejected('schema', `${kind}: ${issue.path.map(String).join('.') || '(header)'}: ${issue.message}`);
  }
  if (WITH_TENSORS.has(kind) !== env.payload.byteLength > 0)
    throw new MessageRejected('schema', `${kind}: ${env.payload.byteLength ? 'unexpected' : 'missing'} tensor payload`);
  return { msg: parsed.data as M, payload: env.payload };
}

/** A client's message as the server receives it; MessageRejected for anything else. */
export function decodeClientMessage(bytes: Uint8Array): Received<ClientMessage> {
  return decodeWith<ClientMessage>(bytes, CLIENT_SCHEMAS, 'client');
}

/** A server's message as a client receives it; MessageRejected for anything else. */
export function decodeServerMessage(bytes: Uint8Array): Received<ServerMessage> {
  return decodeWith<ServerMessage>(bytes, SERVER_SCHEMAS, 'server');
}
