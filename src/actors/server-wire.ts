// What the server puts on the wire and how it takes a client's message off it: the typed messages
// it builds from its settings, and the checks every inbound message passes before the actor looks at
// its content (a client-update subject of this trial, a valid envelope, the sender named by the subject).
import type { Aggregator } from '../fl/aggregator.js';
import {
  type ClientMessage,
  decodeClientMessage,
  type EvaluateMsg,
  type JoinMsg,
  MESSAGE_VERSION,
  MessageRejected,
  type Received,
  type RefuseMsg,
  type RoundMsg,
  type StopMsg,
} from './messages.js';
import type { ServerSettings } from './server-settings.js';
import { parseSubject } from './transport-subjects.js';

export type AggregatorTrainConfig = NonNullable<ReturnType<Aggregator['configureRound']>['trainConfig']>;

const loraOf = (s: ServerSettings): RoundMsg['lora'] => ({
  r: s.lora.r,
  alpha: s.lora.alpha,
  dropout: s.lora.dropout,
  targets: [...s.lora.targets],
});

export function joinMessage(s: ServerSettings, completed: number): JoinMsg {
  return { v: MESSAGE_VERSION, kind: 'join', study: s.scope.study, trial: s.scope.trial, modelSha256: s.modelSha256, round: completed };
}

export function stopMessage(reason: string, dismissClients: boolean): StopMsg {
  return { v: MESSAGE_VERSION, kind: 'stop', reason: reason.slice(0, 2000), ...(dismissClients ? { exit: true } : {}) };
}

export function refuseMessage(code: RefuseMsg['code'], reason: string): RefuseMsg {
  return { v: MESSAGE_VERSION, kind: 'refuse', code, reason: reason.slice(0, 2000) };
}

export function roundMessage(
  s: ServerSettings,
  r: { round: number; attempt: number; selected: readonly string[] },
  aggregatorConfig: AggregatorTrainConfig,
): RoundMsg {
  return {
    v: MESSAGE_VERSION,
    kind: 'round',
    round: r.round,
    attempt: r.attempt,
    selected: [...r.selected],
    seed: s.seed,
    lora: loraOf(s),
    ...(s.peft ? { peft: { ...s.peft } } : {}),
    train: s.train,
    aggregatorConfig,
    codec: { ...s.codec },
  };
}

export function evaluateMessage(s: ServerSettings, r: { round: number; attempt: number }): EvaluateMsg {
  return {
    v: MESSAGE_VERSION,
    kind: 'evaluate',
    round: r.round,
    attempt: r.attempt,
    lora: loraOf(s),
    ...(s.peft ? { peft: { ...s.peft } } : {}),
    batchSize: s.eval.batch_size,
    seqLen: s.train.seq_len,
  };
}

/** A client's message of this trial, decoded, from the client its subject names; MessageRejected otherwise. */
export function receiveClientMessage(s: ServerSettings, subject: string, bytes: Uint8Array): Received<ClientMessage> {
  const p = parseSubject(subject);
  if (p?.kind !== 'client-update' || p.study !== s.scope.study || p.trial !== s.scope.trial)
    throw new MessageRejected('bad-subject', `not a client update subject of this trial`);
  const received = decodeClientMessage(bytes);
  if (received.msg.from !== p.clientId)
    throw new MessageRejected('impersonation', `message from '${received.msg.from}' on the subject of client '${p.clientId}'`);
  return received;
}

/** Why a reply is refused that comes when the server is not collecting that kind (`phase`: what it does now). */
export function outOfPhase(what: string, round: number, completed: number, phase: string): MessageRejected {
  if (round <= completed) return new MessageRejected('stale-round', `${what} for round ${round}: round ${round} is over`);
  return new MessageRejected(
    round > completed + 1 ? 'future-round' : 'unexpected',
    `${what} for round ${round}: not collecting ${what}s now (${phase})`,
  );
}
