// The NATS subjects fedhpo uses, one namespace per study and trial, so that a nats-server's per-user
// permissions can say who may send what (configs/nats-server.conf):
//   fedhpo.<study>.<trial>.server.<topic>              server -> every client (broadcasts)
//   fedhpo.<study>.<trial>.client.<id>.update          client <id> -> server (its updates, on its OWN subject)
//   fedhpo.<study>.<trial>.client.<id>.direct.<topic>  server -> client <id> only
// A client's update is never sent as a reply: the subject names the sender, and a server configured
// as in configs/ refuses a client publishing on another client's subject.

import { UserError } from '../engine/errors.js';

export const SUBJECT_ROOT = 'fedhpo';

export interface TrialScope {
  readonly study: string;
  readonly trial: string;
}

export class SubjectTokenError extends UserError {
  override name = 'SubjectTokenError';
}

/** Longest token accepted: names, ids and topics are short; a long one is a mistake. */
export const MAX_TOKEN_LENGTH = 128;

/** Throws SubjectTokenError unless `value` can be one subject token (no '.', '*', '>', whitespace or control characters). */
export function assertSubjectToken(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new SubjectTokenError(`${what} must not be empty`);
  if (value.length > MAX_TOKEN_LENGTH)
    throw new SubjectTokenError(`${what} ${JSON.stringify(value.slice(0, 20))}...: longer than ${MAX_TOKEN_LENGTH} characters`);
  const bad = /[.*>\s\p{Cc}]/u.exec(value);
  if (bad) {
    const c = bad[0];
    const name = c === '.' ? "'.'" : c === '*' ? "'*'" : c === '>' ? "'>'" : 'whitespace or a control character';
    throw new SubjectTokenError(`${what} ${JSON.stringify(value)}: may not contain ${name} (it is one token of a NATS subject)`);
  }
}

function scope(s: TrialScope): string {
  assertSubjectToken('study', s.study);
  assertSubjectToken('trial', s.trial);
  return `${SUBJECT_ROOT}.${s.study}.${s.trial}`;
}

/** Server -> all clients. */
export function serverSubject(s: TrialScope, topic: string): string {
  assertSubjectToken('topic', topic);
  return `${scope(s)}.server.${topic}`;
}

/** Client `clientId` -> server: its updates. */
export function clientUpdateSubject(s: TrialScope, clientId: string): string {
  assertSubjectToken('client id', clientId);
  return `${scope(s)}.client.${clientId}.update`;
}

/** Server -> client `clientId` only. */
export function clientDirectSubject(s: TrialScope, clientId: string, topic: string): string {
  assertSubjectToken('client id', clientId);
  assertSubjectToken('topic', topic);
  return `${scope(s)}.client.${clientId}.direct.${topic}`;
}

/** Patterns to subscribe with. */
export const subjectPatterns = {
  /** Everything of one study (metering, monitoring). */
  study: (study: string): string => {
    assertSubjectToken('study', study);
    return `${SUBJECT_ROOT}.${study}.>`;
  },
  /** What a client listens to: the server's broadcasts of a trial. */
  serverBroadcasts: (s: TrialScope): string => `${scope(s)}.server.>`,
  /** One broadcast topic of every trial of a study (a long-lived client process hears each trial's `join`). */
  studyBroadcasts: (study: string, topic: string): string => {
    assertSubjectToken('study', study);
    assertSubjectToken('topic', topic);
    return `${SUBJECT_ROOT}.${study}.*.server.${topic}`;
  },
  /** What the server listens to: every client's updates of a trial. */
  clientUpdates: (s: TrialScope): string => `${scope(s)}.client.*.update`,
  /** What client `clientId` listens to besides the broadcasts. */
  clientDirect: (s: TrialScope, clientId: string): string => {
    assertSubjectToken('client id', clientId);
    return `${scope(s)}.client.${clientId}.direct.>`;
  },
};

export type ParsedSubject =
  | { readonly kind: 'server'; readonly study: string; readonly trial: string; readonly topic: string }
  | { readonly kind: 'client-update'; readonly study: string; readonly trial: string; readonly clientId: string }
  | { readonly kind: 'client-direct'; readonly study: string; readonly trial: string; readonly clientId: string; readonly topic: string };

/** What a received subject says (who sent an update, to whom a direct message goes); undefined if not a fedhpo subject. */
export function parseSubject(subject: string): ParsedSubject | undefined {
  const t = subject.split('.');
  if (t[0] !== SUBJECT_ROOT || t.length < 5 || t.some((x) => x.length === 0)) return undefined;
  const [, study, trial, role] = t as [string, string, string, string];
  if (role === 'server' && t.length === 5) return { kind: 'server', study, trial, topic: t[4]! };
  if (role === 'client' && t.length === 6 && t[5] === 'update') return { kind: 'client-update', study, trial, clientId: t[4]! };
  if (role === 'client' && t.length === 7 && t[5] === 'direct')
    return { kind: 'client-direct', study, trial, clientId: t[4]!, topic: t[6]! };
  return undefined;
}
