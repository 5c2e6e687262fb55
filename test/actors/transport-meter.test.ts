import { describe, expect, it } from 'vitest';
import { OVERFLOW_KEY, TransportMeter } from '../../src/actors/transport-meter.js';

describe('TransportMeter', () => {
  it('folds reply inboxes into one key and caps the number of subjects kept', () => {
    const m = new TransportMeter({ maxSubjects: 3 });
    m.recordSent('_INBOX.abc.1', 5);
    m.recordReceived('_INBOX.xyz.2', 7);
    m.recordSent('a.b', 1);
    m.recordSent('a.c', 2);
    m.recordSent('a.d', 4); // a 4th subject: counted, under the overflow key
    m.recordSent('a.e', 8);
    m.recordSent('a.b', 16);
    expect([...m.bySubject().keys()]).toEqual(['_INBOX', 'a.b', 'a.c', OVERFLOW_KEY]);
    expect(m.totals('_INBOX')).toEqual({ sent: { messages: 1, bytes: 5 }, received: { messages: 1, bytes: 7 } });
    expect(m.totals('a.b').sent).toEqual({ messages: 2, bytes: 17 });
    expect(m.totals().sent).toEqual({ messages: 6, bytes: 5 + 1 + 2 + 4 + 8 + 16 });
    expect(m.byPrefix(1).get('a')?.sent).toEqual({ messages: 3, bytes: 19 });
  });

  it('hands out copies', () => {
    const m = new TransportMeter();
    m.recordSent('x', 1);
    m.bySubject().get('x')!.sent.bytes = 999;
    m.totals().sent.bytes = 999;
    expect(m.totals('x').sent.bytes).toBe(1);
  });
});
