// A round's record (federation-state.ts's RoundRecord) as the server fills it: empty when the round
// begins, then the accepted updates (train loss: their sample-weighted mean) and the evaluations
// (validation loss: the sample-weighted mean of the clients' own losses). Pure functions.
import type { ClientRoundRecord, RoundRecord } from './federation-state.js';

export function emptyRoundRecord(round: number, selected: readonly string[], clients: readonly string[]): RoundRecord {
  const byClient: Record<string, ClientRoundRecord> = {};
  for (const c of clients) byClient[c] = { downloadBytes: 0, uploadBytes: 0 };
  return {
    round,
    selected: [...selected],
    accepted: [],
    attempts: 0,
    valLoss: null,
    trainLoss: null,
    rejected: {},
    rejectedLog: [],
    seconds: 0,
    clients: byClient,
  };
}

export interface TrainedReply {
  samples: number;
  metrics: Record<string, number>;
}

export function recordTraining(rec: RoundRecord, accepted: readonly { from: string; reply: TrainedReply }[], attempts: number): void {
  rec.accepted = accepted.map((a) => a.from);
  rec.attempts = attempts;
  let samples = 0;
  let loss = 0;
  for (const { from, reply } of accepted) {
    rec.clients[from]!.trained = { samples: reply.samples, metrics: reply.metrics };
    if (reply.metrics.train_loss !== undefined) {
      samples += reply.samples;
      loss += reply.samples * reply.metrics.train_loss;
    }
  }
  rec.trainLoss = samples ? loss / samples : null;
}

export interface EvalReply {
  lossSum: number;
  tokens: number;
  samples: number;
}

export function recordValidation(rec: RoundRecord, accepted: readonly { from: string; reply: EvalReply }[]): void {
  let weight = 0;
  let sum = 0;
  for (const { from, reply } of accepted) {
    if (!reply.tokens) continue;
    const loss = reply.lossSum / reply.tokens;
    rec.clients[from]!.validation = { loss, tokens: reply.tokens, samples: reply.samples };
    weight += reply.samples;
    sum += reply.samples * loss;
  }
  rec.valLoss = weight ? sum / weight : null;
}

/** Whether round `round` is evaluated: round 0, every `every` rounds, and the last. */
export function evalDue(round: number, every: number, rounds: number): boolean {
  return round === 0 || round % every === 0 || round === rounds;
}
