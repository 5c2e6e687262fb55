// NATS subject syntax, shared by both transports so they accept and match exactly the same subjects:
// dot-separated non-empty tokens without whitespace; in patterns `*` matches one token and `>` (last
// token only) matches one or more trailing tokens.

import { InvalidSubjectError } from './transport-errors.js';

const WHITESPACE = /[\s\p{Cc}]/u;

function tokensOf(subject: string, what: string): string[] {
  if (typeof subject !== 'string' || subject.length === 0) throw new InvalidSubjectError(`${what}: empty subject`);
  if (WHITESPACE.test(subject))
    throw new InvalidSubjectError(`${what} ${JSON.stringify(subject)}: contains whitespace or control characters`);
  const tokens = subject.split('.');
  if (tokens.some((t) => t.length === 0)) throw new InvalidSubjectError(`${what} ${JSON.stringify(subject)}: empty token`);
  return tokens;
}

/** Throws InvalidSubjectError unless `subject` is a valid subject to publish on (no wildcards). */
export function assertPublishSubject(subject: string): void {
  for (const t of tokensOf(subject, 'subject')) {
    if (t.includes('*') || t.includes('>'))
      throw new InvalidSubjectError(`subject ${JSON.stringify(subject)}: wildcards are only for subscriptions`);
  }
}

/** A validated subscription pattern, split once so matching a message costs one split. */
export class SubjectPattern {
  private readonly tokens: readonly string[];

  constructor(readonly pattern: string) {
    const tokens = tokensOf(pattern, 'pattern');
    tokens.forEach((t, i) => {
      if (t === '*') return;
      if (t === '>') {
        if (i !== tokens.length - 1) throw new InvalidSubjectError(`pattern ${JSON.stringify(pattern)}: '>' must be the last token`);
        return;
      }
      if (t.includes('*') || t.includes('>'))
        throw new InvalidSubjectError(`pattern ${JSON.stringify(pattern)}: a wildcard must be a whole token`);
    });
    this.tokens = tokens;
  }

  matches(subject: string): boolean {
    const s = subject.split('.');
    const p = this.tokens;
    for (let i = 0; i < p.length; i++) {
      if (p[i] === '>') return s.length > i;
      if (i >= s.length) return false;
      if (p[i] !== '*' && p[i] !== s[i]) return false;
    }
    return s.length === p.length;
  }
}
