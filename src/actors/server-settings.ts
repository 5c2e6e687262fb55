// The ServerActor's settings, options, events and result (what its callers build and receive), and
// where a trial starts from those options (fresh, or resumed from a state of this very trial).
import { UserError } from '../engine/errors.js';
import type { Aggregator } from '../fl/aggregator.js';
import type { ResolvedCodecSettings } from '../fl/codec/codec.js';
import type { PeftSection, TrainSettings } from '../fl/fl-config.js';
import { cloneTensors, type NamedTensors } from '../fl/tensors.js';
import type { LoraConfig } from '../peft/lora.js';
import type { ActorSystemRef } from './actor-system.js';
import { decodeGlobal, type FederationState, type RoundRecord } from './federation-state.js';
import type { RejectReason } from './messages.js';
import type { Transport } from './transport.js';
import type { TrialScope } from './transport-subjects.js';

/** A run that cannot go on (no quorum after the retries, no client joined, a broken aggregator). */
export class FederationError extends UserError {
  override name = 'FederationError';
}

export interface ServerSettings {
  scope: TrialScope;
  seed: number;
  rounds: number;
  lora: LoraConfig;
  /** The PEFT method and its settings (absent: LoRA). */
  peft?: PeftSection;
  train: TrainSettings;
  /** How clients encode their deltas. */
  codec: ResolvedCodecSettings;
  round: { deadline_s: number; quorum: number; retries: number; join_timeout_s: number };
  eval: { every: number; batch_size: number };
  /** sha256 of the base model files: a client with another base is refused. */
  modelSha256: string;
  /** Whether the final `stop` tells long-lived client processes to exit (not when they serve further trials). */
  dismissClients?: boolean;
}

export type ServerEvent =
  | { type: 'joined'; clients: string[] }
  | { type: 'round-started'; round: number; attempt: number; selected: string[] }
  | { type: 'evaluating'; round: number; attempt: number }
  | { type: 'round-done'; record: RoundRecord }
  | { type: 'rejected'; reason: RejectReason; message: string; subject: string }
  | { type: 'client-error'; client: string; reason: string; fatal: boolean };

export interface ServerActorOptions {
  system: ActorSystemRef;
  transport: Transport;
  settings: ServerSettings;
  /** The clients of the trial, in a fixed order. */
  clients: readonly string[];
  aggregator: Aggregator;
  /** The adapter round 1 starts from (ignored when resuming). */
  initialGlobal: NamedTensors;
  /** Continue a trial from its state after some round. */
  resume?: FederationState;
  /** Stop after completing this round (default settings.rounds). */
  stopAfterRound?: number;
  onEvent?: (e: ServerEvent) => void;
  log?: (line: string) => void;
}

export interface ServerResult {
  state: FederationState;
  global: NamedTensors;
  history: RoundRecord[];
  /** Rejected messages over the whole run, by reason. */
  rejected: Record<string, number>;
}

/** Where a trial starts: from the initial adapter, or from a resumed state of this very trial (restoring the aggregator). */
export function startingPoint(o: ServerActorOptions): { global: NamedTensors; completed: number; history: RoundRecord[] } {
  const r = o.resume;
  if (!r) return { global: cloneTensors(o.initialGlobal), completed: 0, history: [] };
  const s = o.settings;
  if (r.study !== s.scope.study || r.trial !== s.scope.trial || r.seed !== s.seed)
    throw new FederationError(`server: the state to resume is of ${r.study}/${r.trial} seed ${r.seed}, not this trial`);
  if (r.aggregator.name !== o.aggregator.name)
    throw new FederationError(`server: the state to resume was made with aggregator ${r.aggregator.name}, not ${o.aggregator.name}`);
  o.aggregator.restore(r.aggregator.state);
  return { global: decodeGlobal(r.global), completed: r.round, history: structuredClone(r.history) };
}
