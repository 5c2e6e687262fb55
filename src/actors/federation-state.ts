// Everything a federated trial is, between two rounds: clients are stateless, so the server's state
// alone continues a trial bit-identically (client sampling and every client's stream fork from the
// seed and the round number; the aggregator's own state, e.g. FedAvgM's momentum, is carried).
// JSON-serialisable: tensors are base64 of the lossless fp32 codec format.
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import type { JsonValue } from '../engine/json.js';
import { CodecError, decodeTensors, encodeTensors } from '../fl/codec/codec.js';
import type { NamedTensors } from '../fl/tensors.js';

/** What one client did in one round, as the server saw it. */
export interface ClientRoundRecord {
  /** Envelope bytes the server sent to this client (its round message, every attempt, and evaluations). */
  downloadBytes: number;
  /** Envelope bytes of this client's accepted messages. */
  uploadBytes: number;
  /** Training: whether its update was aggregated, its sample count and metrics (train_loss, compute_s, flops ...). */
  trained?: { samples: number; metrics: Record<string, number> };
  /** Its loss of the round's new global on its own validation split. */
  validation?: { loss: number; tokens: number; samples: number };
}

export interface RoundRecord {
  /** 0 is the evaluation of the initial adapter, before any training. */
  round: number;
  selected: string[];
  accepted: string[];
  attempts: number;
  /** Sample-weighted mean of the clients' validation losses (null when not evaluated). */
  valLoss: number | null;
  /** Sample-weighted mean train loss of the accepted updates. */
  trainLoss: number | null;
  /** Rejected messages by reason, with a few of their log lines. */
  rejected: Record<string, number>;
  rejectedLog: string[];
  seconds: number;
  clients: Record<string, ClientRoundRecord>;
}

export interface FederationState {
  v: 1;
  study: string;
  trial: string;
  seed: number;
  /** Rounds completed (0: none; round 0's evaluation may be in history). */
  round: number;
  /** The global adapter after `round`, base64 of its fp32 codec encoding. */
  global: string;
  aggregator: { name: string; state: JsonValue };
  history: RoundRecord[];
}

const StateSchema = z
  .object({
    v: z.literal(1),
    study: z.string(),
    trial: z.string(),
    seed: z.number().int(),
    round: z.number().int().min(0),
    global: z.string().min(1),
    aggregator: z.object({ name: z.string(), state: z.json() }).strict(),
    history: z.array(z.any()),
  })
  .strict();

export class FederationStateError extends UserError {
  override name = 'FederationStateError';
}

export function encodeGlobal(t: NamedTensors): string {
  return Buffer.from(encodeTensors(t, { precision: 'fp32' })).toString('base64');
}

export function decodeGlobal(b64: string): NamedTensors {
  try {
    return decodeTensors(Buffer.from(b64, 'base64')).tensors;
  } catch (e) {
    if (e instanceof CodecError) throw new FederationStateError(`federation state: global adapter: ${e.message}`);
    throw e;
  }
}

/** Checks a parsed state (e.g. read from a journal) and returns it typed. */
export function parseFederationState(raw: unknown): FederationState {
  const r = StateSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new FederationStateError(`federation state: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  }
  return r.data as FederationState;
}
