// The federated plug-in point (Flower's Strategy, renamed so it never clashes with the HPO Strategy).
// A server round is: plan = configureRound(round, available clients, rng) -> send the global adapter
// (and plan.trainConfig) to plan.clients -> collect updates -> validate each (validateUpdate) ->
// global = aggregate(global, accepted updates, round). state()/restore() carry whatever the
// aggregator keeps between rounds (server momentum) through a journal as JSON, so a trial resumes.
import { UserError } from '../engine/errors.js';
import type { JsonValue } from '../engine/json.js';

export type { JsonValue };
import type { Rng } from '../engine/rng.js';
import { checkFinite, checkSameLayout, checkWellFormed, type NamedTensors, TensorLayoutError } from './tensors.js';

/** What one client sends back after local training. `tensors` are its full local weights (not a delta). */
export interface ClientUpdate {
  clientId: string;
  /** Training examples behind the update: FedAvg's weight. A positive integer. */
  samples: number;
  tensors: NamedTensors;
  /** Finite numbers (e.g. train loss, steps, seconds). */
  metrics: Readonly<Record<string, number>>;
}

export interface RoundPlan {
  /** Who trains this round: distinct ids, all among those offered. */
  clients: string[];
  /** Sent to every chosen client with the global adapter (e.g. { proximal_mu: 0.01 } for FedProx). */
  trainConfig?: { [key: string]: JsonValue };
}

export interface Aggregator {
  /** Shown in logs and reports. */
  readonly name: string;
  /** Picks the round's clients from those available. `rng` is this round's own stream. */
  configureRound(round: number, clientIds: readonly string[], rng: Rng): RoundPlan;
  /** The next global adapter from the current one and the round's accepted updates (at least one). */
  aggregate(global: NamedTensors, updates: readonly ClientUpdate[], round: number): NamedTensors | Promise<NamedTensors>;
  /** Everything needed to continue after a restart, as JSON. */
  state(): JsonValue;
  restore(state: JsonValue): void;
}

/** A client update the server must not aggregate (wrong layout, non-finite values, bad sample count ...). */
export class InvalidUpdateError extends UserError {
  override name = 'InvalidUpdateError';
}

/** An aggregator that cannot be built, loaded, restored, or that broke its contract. */
export class AggregatorError extends UserError {
  override name = 'AggregatorError';
}

/** Throws InvalidUpdateError naming the client unless `update` can be averaged into `global`. */
export function validateUpdate(global: NamedTensors, update: ClientUpdate): void {
  const who = `update from client '${String(update.clientId)}'`;
  if (typeof update.clientId !== 'string' || !update.clientId) throw new InvalidUpdateError(`${who}: client id must be a non-empty string`);
  if (!Number.isSafeInteger(update.samples) || update.samples < 1)
    throw new InvalidUpdateError(`${who}: sample count must be a positive integer, got ${update.samples}`);
  try {
    checkWellFormed(update.tensors, who);
    checkSameLayout(global, update.tensors, who);
    checkFinite(update.tensors, who);
  } catch (e) {
    if (e instanceof TensorLayoutError) throw new InvalidUpdateError(e.message);
    throw e;
  }
  for (const [k, v] of Object.entries(update.metrics ?? {}))
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidUpdateError(`${who}: metric '${k}' is ${v}, not a finite number`);
}

/** validateUpdate for each, plus: at least one update, no client twice. */
export function validateUpdates(global: NamedTensors, updates: readonly ClientUpdate[]): void {
  if (!updates.length) throw new InvalidUpdateError('no updates to aggregate');
  const seen = new Set<string>();
  for (const u of updates) {
    validateUpdate(global, u);
    if (seen.has(u.clientId)) throw new InvalidUpdateError(`client '${u.clientId}' sent two updates for one round`);
    seen.add(u.clientId);
  }
}

/** Sample-weighted mean of each metric, over the updates that report it. */
export function weightedMetrics(updates: readonly ClientUpdate[]): Record<string, number> {
  const sum = new Map<string, { value: number; weight: number }>();
  for (const u of updates)
    for (const [k, v] of Object.entries(u.metrics)) {
      const s = sum.get(k) ?? { value: 0, weight: 0 };
      s.value += u.samples * v;
      s.weight += u.samples;
      sum.set(k, s);
    }
  return Object.fromEntries([...sum].map(([k, s]) => [k, s.value / s.weight]));
}
