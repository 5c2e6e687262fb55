// The federation's wire: envelopes and typed messages decode only what they should, with a reason
// for everything else; the RoundCollector's decisions (stale/future, not selected, duplicate,
// quorum at the deadline, retries, failure) and the ClientRoster's join outcome as pure classes.
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, ENVELOPE_MAGIC, EnvelopeError, encodeEnvelope, MAX_HEADER_BYTES } from '../../src/actors/envelope.js';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  MESSAGE_VERSION,
  MessageRejected,
  type EvaluateMsg,
  type UpdateMsg,
} from '../../src/actors/messages.js';
import { ClientRoster } from '../../src/actors/client-roster.js';
import { quorumOf, RoundCollector } from '../../src/actors/round-collector.js';
import { deepJson } from '../bounded.js';

const update: UpdateMsg = {
  v: MESSAGE_VERSION,
  kind: 'update',
  from: 'c1',
  round: 3,
  attempt: 0,
  samples: 12,
  metrics: { train_loss: 1.5 },
};
const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof MessageRejected) return e.reason;
    throw e;
  }
  return 'accepted';
};

describe('envelope', () => {
  it('round-trips a header and a payload', () => {
    const bytes = encodeEnvelope({ a: 1, s: 'é' }, Uint8Array.of(9, 8, 7));
    expect([...bytes.subarray(0, 4)]).toEqual([...ENVELOPE_MAGIC]);
    const e = decodeEnvelope(bytes);
    expect(e.header).toEqual({ a: 1, s: 'é' });
    expect([...e.payload]).toEqual([9, 8, 7]);
  });

  it('refuses short, foreign, overlong and non-JSON bytes', () => {
    expect(() => decodeEnvelope(Uint8Array.of(1, 2))).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(new TextEncoder().encode('FHMX....{}'))).toThrow(/bad magic/);
    const big = encodeEnvelope({});
    new DataView(big.buffer).setUint32(4, MAX_HEADER_BYTES + 1, true);
    expect(() => decodeEnvelope(big)).toThrow(/over/);
    const past = encodeEnvelope({});
    new DataView(past.buffer).setUint32(4, 1000, true);
    expect(() => decodeEnvelope(past)).toThrow(/past the end/);
    const notJson = encodeEnvelope({ x: 1 });
    notJson[9] = 0xff;
    expect(() => decodeEnvelope(notJson)).toThrow(/not UTF-8 JSON/);
  });
});

describe('messages', () => {
  it('decodes a valid update with its tensor payload', () => {
    const r = decodeClientMessage(encodeMessage(update, Uint8Array.of(1)));
    expect(r.msg).toEqual(update);
    expect(r.payload.byteLength).toBe(1);
  });

  it('rejects with a reason: garbage, version, schema, direction, missing payload, deep nesting', () => {
    expect(reasonOf(() => decodeClientMessage(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)))).toBe('undecodable');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...update, v: 2 }, Uint8Array.of(1))))).toBe('bad-version');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...update, samples: 0 }, Uint8Array.of(1))))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...update, extra: 1 }, Uint8Array.of(1))))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...update, metrics: { x: 'NaN' } }, Uint8Array.of(1))))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...update, from: 'a.b' }, Uint8Array.of(1))))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeMessage(update)))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeMessage({ v: 1, kind: 'stop', reason: 'x' })))).toBe('wrong-direction');
    expect(reasonOf(() => decodeServerMessage(encodeMessage(update, Uint8Array.of(1))))).toBe('wrong-direction');
    const deep = new TextEncoder().encode(`{"v":1,"kind":"update","metrics":${deepJson(5000, '{}')}}`);
    const bytes = new Uint8Array(8 + deep.byteLength + 1);
    bytes.set(ENVELOPE_MAGIC);
    new DataView(bytes.buffer).setUint32(4, deep.byteLength, true);
    bytes.set(deep, 8);
    expect(reasonOf(() => decodeClientMessage(bytes))).toBe('schema');
  });

  it('a client error (before or in a round), a refusal and a stop that dismisses clients travel their own way only', () => {
    const error = { v: 1, kind: 'error', from: 'c2', fatal: true, reason: 'c2.jsonl: no valid training records' } as const;
    expect(decodeClientMessage(encodeMessage(error)).msg).toEqual(error);
    expect(decodeClientMessage(encodeMessage({ ...error, round: 3, fatal: false })).msg).toEqual({ ...error, round: 3, fatal: false });
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...error, reason: '' })))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeEnvelope({ ...error, reason: 'x'.repeat(2001) })))).toBe('schema');
    expect(reasonOf(() => decodeServerMessage(encodeMessage(error)))).toBe('wrong-direction');
    const refuse = { v: 1, kind: 'refuse', code: 'model-mismatch', reason: 'another base' } as const;
    expect(decodeServerMessage(encodeMessage(refuse)).msg).toEqual(refuse);
    expect(reasonOf(() => decodeServerMessage(encodeEnvelope({ ...refuse, code: 'bored' })))).toBe('schema');
    expect(reasonOf(() => decodeClientMessage(encodeMessage(refuse)))).toBe('wrong-direction');
    expect(decodeServerMessage(encodeMessage({ v: 1, kind: 'stop', reason: 'done', exit: true })).msg).toEqual({
      v: 1,
      kind: 'stop',
      reason: 'done',
      exit: true,
    });
  });
});

describe('evaluate messages carry the PEFT method', () => {
  const evaluate: EvaluateMsg = {
    v: 1,
    kind: 'evaluate',
    round: 2,
    attempt: 0,
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] },
    batchSize: 4,
    seqLen: 64,
  };
  const peft: NonNullable<EvaluateMsg['peft']> = {
    method: 'prefix',
    num_virtual_tokens: 8,
    prompt_init: 'vocab',
    encoder_hidden_size: 64,
    prefix_projection: true,
  };

  it('with or without a peft block (absent: LoRA); an unknown method or a bad count is refused', () => {
    // An evaluation carries the global adapter as its payload.
    const global = Uint8Array.of(1, 2, 3);
    expect(decodeServerMessage(encodeMessage(evaluate, global)).msg).toEqual(evaluate);
    expect(decodeServerMessage(encodeMessage({ ...evaluate, peft }, global)).msg).toEqual({ ...evaluate, peft });
    const bad = (p: unknown) => reasonOf(() => decodeServerMessage(encodeEnvelope({ ...evaluate, peft: p }, global)));
    expect(bad({ ...peft, method: 'ia3' })).toBe('schema');
    expect(bad({ ...peft, num_virtual_tokens: 0 })).toBe('schema');
  });
});

describe('RoundCollector', () => {
  const make = (retries = 1) => new RoundCollector<number>({ round: 2, expected: ['a', 'b', 'c'], quorum: 2, retries, what: 'update' });

  it('accepts the asked clients of the current round and attempt, once each, in the order asked', () => {
    const c = make();
    expect(reasonOf(() => c.check('a', 1, 0))).toBe('stale-round');
    expect(reasonOf(() => c.check('a', 3, 0))).toBe('future-round');
    expect(reasonOf(() => c.check('a', 2, 1))).toBe('future-attempt');
    expect(reasonOf(() => c.check('z', 2, 0))).toBe('not-selected');
    c.check('c', 2, 0);
    c.accept('c', 3);
    expect(reasonOf(() => c.accept('c', 3))).toBe('duplicate');
    c.accept('a', 1);
    expect(c.accepted()).toEqual([
      { from: 'a', reply: 1 },
      { from: 'c', reply: 3 },
    ]);
    expect(c.missing()).toEqual(['b']);
    expect(c.complete).toBe(false);
  });

  it('at the deadline: proceeds with a quorum, else retries while attempts remain, else fails naming the missing', () => {
    const ok = make();
    ok.accept('a', 1);
    ok.accept('b', 2);
    expect(ok.atDeadline()).toEqual({ kind: 'proceed' });
    const short = make(1);
    short.accept('a', 1);
    expect(short.atDeadline()).toEqual({ kind: 'retry', attempt: 1 });
    expect(reasonOf(() => short.check('b', 2, 0))).toBe('stale-attempt');
    short.check('b', 2, 1);
    const d = short.atDeadline();
    expect(d.kind).toBe('fail');
    expect(d.kind === 'fail' && d.reason).toBe('round 2: 1 of 3 updates arrived after 2 attempt(s), below the quorum of 2 (missing: b, c)');
  });

  it('once every missing client has failed: decides without waiting for the deadline', () => {
    const failed = new Set(['b', 'c']);
    const ok = make();
    ok.accept('a', 1);
    expect(ok.withoutGone((id) => id === 'b')).toBeUndefined(); // c may still answer
    ok.accept('c', 3);
    expect(ok.withoutGone((id) => failed.has(id))).toEqual({ kind: 'proceed' });
    const short = make();
    short.accept('a', 1);
    const d = short.withoutGone((id) => failed.has(id));
    expect(d?.kind === 'fail' && d.reason).toBe('round 2: 1 of 3 updates, below the quorum of 2, and the missing clients failed');
  });

  it('quorumOf is ceil(fraction * n), at least 1', () => {
    expect(quorumOf(1, 3)).toBe(3);
    expect(quorumOf(0.6, 3)).toBe(2);
    expect(quorumOf(0.5, 4)).toBe(2);
    expect(quorumOf(0.01, 3)).toBe(1);
    expect(quorumOf(0.7, 10)).toBe(7);
  });
});

describe('ClientRoster', () => {
  it('begins when all joined; else goes on with the quorum naming who is missing and why, or fails', () => {
    const r = new ClientRoster(['c0', 'c1', 'c2']);
    expect(r.joinOutcome(1)).toEqual({ kind: 'fail', reason: 'no clients joined; missing: c0 (no reply), c1 (no reply), c2 (no reply)' });
    r.join('c0');
    r.fail('c2', 'bad data');
    expect(r.settled).toBe(false);
    expect(r.joinOutcome(0.5, ' within 5 s')).toEqual({
      kind: 'fail',
      reason: 'only 1 of 3 clients joined within 5 s, round.quorum needs 2; missing: c1 (no reply), c2 (bad data)',
    });
    expect(r.joinOutcome(0.3)).toEqual({ kind: 'go-on', line: '1 of 3 clients joined: going on without c1 (no reply), c2 (bad data)' });
    r.fail('c1', 'another base model');
    expect(r.settled).toBe(true);
    expect(r.available()).toEqual(['c0']);
    expect(r.join('c2')).toBe(true); // a restarted client is welcome again
    expect(r.isFailed('c2')).toBe(false);
    expect(r.available()).toEqual(['c0', 'c2']);
    r.join('c1');
    expect(r.joinOutcome(1)).toEqual({ kind: 'begin' });
  });
});
