// What a federated trial reports, read off the server's round records: per round the validation
// loss and the bytes sent so far (the lineage's, so a continued trial's curve carries on from its
// parent's), and for the whole run the costs of the rounds this run trained.
import type { Metrics } from '../hpo/trial-runner.js';
import type { RoundRecord } from './federation-state.js';

/** Envelope bytes of a round: uploads (client -> server) and downloads (server -> client). */
export function roundBytes(rec: RoundRecord): { up: number; down: number } {
  let up = 0;
  let down = 0;
  for (const c of Object.values(rec.clients)) {
    up += c.uploadBytes;
    down += c.downloadBytes;
  }
  return { up, down };
}

/** The metrics reported after `rec`: its losses, and bytes sent over `history` (every round up to and including rec). */
export function roundMetrics(history: readonly RoundRecord[], rec: RoundRecord): Metrics {
  let up = 0;
  let down = 0;
  for (const r of history) {
    if (r.round > rec.round) break;
    const b = roundBytes(r);
    up += b.up;
    down += b.down;
  }
  return {
    ...(rec.valLoss !== null ? { val_loss: rec.valLoss } : {}),
    ...(rec.trainLoss !== null ? { train_loss: rec.trainLoss } : {}),
    bytes_sent: up + down,
    bytes_up: up,
    bytes_down: down,
    clients: rec.accepted.length,
  };
}

/** Why round `rec` diverged (a non-finite validation loss, a client whose local training hit NaN/inf), or undefined. */
export function divergenceOf(rec: RoundRecord): string | undefined {
  if (rec.valLoss !== null && !Number.isFinite(rec.valLoss)) return `val_loss is ${rec.valLoss} at round ${rec.round}`;
  const diverged = rec.accepted.filter((c) => rec.clients[c]?.trained?.metrics.diverged === 1);
  if (diverged.length)
    return `local training diverged (non-finite loss or gradient) on client${diverged.length > 1 ? 's' : ''} ${diverged.join(', ')} at round ${rec.round}`;
  return undefined;
}

/** Costs of the rounds in `trained` (the ones this run trained, not its parent's). */
export function runCosts(trained: readonly RoundRecord[]): Record<string, number> {
  let up = 0;
  let down = 0;
  let clientRounds = 0;
  let flops = 0;
  let tokens = 0;
  let compute = 0;
  for (const r of trained) {
    const b = roundBytes(r);
    up += b.up;
    down += b.down;
    clientRounds += r.accepted.length;
    for (const c of r.accepted) {
      const m = r.clients[c]?.trained?.metrics;
      flops += m?.flops ?? 0;
      tokens += m?.tokens ?? 0;
      compute += m?.compute_s ?? 0;
    }
  }
  return {
    client_rounds: clientRounds,
    bytes_sent: up + down,
    bytes_up: up,
    bytes_down: down,
    train_flops: flops,
    train_tokens: tokens,
    compute_seconds: compute,
  };
}
