import { describe, expect, it } from 'vitest';
import { SubjectPattern } from '../../src/actors/transport-subject-pattern.js';
import {
  assertSubjectToken,
  clientDirectSubject,
  clientUpdateSubject,
  parseSubject,
  SubjectTokenError,
  serverSubject,
  subjectPatterns,
} from '../../src/actors/transport-subjects.js';
import { UserError } from '../../src/engine/errors.js';

const s = { study: 'arith-lr', trial: 't7' };

describe('fedhpo subjects', () => {
  it('names server, client-update and client-direct subjects per study and trial', () => {
    expect(serverSubject(s, 'round')).toBe('fedhpo.arith-lr.t7.server.round');
    expect(clientUpdateSubject(s, 'c2')).toBe('fedhpo.arith-lr.t7.client.c2.update');
    expect(clientDirectSubject(s, 'c2', 'task')).toBe('fedhpo.arith-lr.t7.client.c2.direct.task');
  });

  it('patterns match exactly the subjects their role should see', () => {
    const updates = new SubjectPattern(subjectPatterns.clientUpdates(s));
    expect(updates.matches(clientUpdateSubject(s, 'c1'))).toBe(true);
    expect(updates.matches(clientUpdateSubject({ ...s, trial: 't8' }, 'c1'))).toBe(false);
    expect(updates.matches(clientDirectSubject(s, 'c1', 'x'))).toBe(false);
    const broadcasts = new SubjectPattern(subjectPatterns.serverBroadcasts(s));
    expect(broadcasts.matches(serverSubject(s, 'round'))).toBe(true);
    expect(broadcasts.matches(clientUpdateSubject(s, 'c1'))).toBe(false);
    const direct = new SubjectPattern(subjectPatterns.clientDirect(s, 'c1'));
    expect(direct.matches(clientDirectSubject(s, 'c1', 'task'))).toBe(true);
    expect(direct.matches(clientDirectSubject(s, 'c2', 'task'))).toBe(false);
    expect(direct.matches(clientUpdateSubject(s, 'c1'))).toBe(false);
    expect(new SubjectPattern(subjectPatterns.study('arith-lr')).matches(clientUpdateSubject(s, 'c1'))).toBe(true);
  });

  it('parses a subject back into its parts (who sent an update)', () => {
    expect(parseSubject(clientUpdateSubject(s, 'c9'))).toEqual({ kind: 'client-update', study: 'arith-lr', trial: 't7', clientId: 'c9' });
    expect(parseSubject(serverSubject(s, 'stop'))).toEqual({ kind: 'server', study: 'arith-lr', trial: 't7', topic: 'stop' });
    expect(parseSubject(clientDirectSubject(s, 'c9', 'task'))).toEqual({
      kind: 'client-direct',
      study: 'arith-lr',
      trial: 't7',
      clientId: 'c9',
      topic: 'task',
    });
    for (const bad of [
      'fedhpo.a.b.client.c1',
      'fedhpo.a.b.client.c1.update.x',
      'other.a.b.server.x',
      'fedhpo.a.b.server',
      'fedhpo.a..server.x',
      '_INBOX.x',
    ]) {
      expect(parseSubject(bad), bad).toBeUndefined();
    }
  });

  it('rejects tokens with ., *, >, whitespace or control characters, empty or overlong, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['a.b', /study "a\.b": may not contain '\.'/],
      ['a*', /may not contain '\*'/],
      ['>', /may not contain '>'/],
      ['a b', /whitespace/],
      ['a\tb', /whitespace/],
      ['a\u0000b', /control/],
      ['', /study must not be empty/],
      ['x'.repeat(129), /longer than 128/],
    ];
    for (const [v, re] of cases) {
      expect(() => serverSubject({ study: v, trial: 't' }, 'x'), JSON.stringify(v)).toThrow(re);
    }
    expect(() => clientUpdateSubject(s, 'c.1')).toThrow(/client id "c\.1"/);
    expect(() => clientDirectSubject(s, 'c1', 'a>b')).toThrow(/topic "a>b"/);
    expect(() => serverSubject({ study: 's', trial: 'x y' }, 'x')).toThrow(/trial "x y"/);
    expect(() => assertSubjectToken('study', 'a.b')).toThrow(SubjectTokenError);
    expect(() => assertSubjectToken('study', 'a.b')).toThrow(UserError);
    expect(() => assertSubjectToken('study', 'ünïcode-OK_1')).not.toThrow();
  });
});

describe('SubjectPattern', () => {
  it('matches NATS semantics', () => {
    const m = (p: string, subj: string): boolean => new SubjectPattern(p).matches(subj);
    expect(m('a.b', 'a.b')).toBe(true);
    expect(m('a.b', 'a.b.c')).toBe(false);
    expect(m('a.*', 'a.b')).toBe(true);
    expect(m('a.*', 'a')).toBe(false);
    expect(m('a.*', 'a.b.c')).toBe(false);
    expect(m('a.>', 'a.b.c')).toBe(true);
    expect(m('a.>', 'a')).toBe(false);
    expect(m('>', 'a')).toBe(true);
    expect(m('*.b.>', 'x.b.y')).toBe(true);
    expect(m('*.b.>', 'x.c.y')).toBe(false);
  });
});
