// One behavioural contract for every Transport: run against the in-process bus and against a real
// nats-server. A fixture hands out connections to ONE medium (one bus, one server), so tests talk
// between connections the way actors in different processes do.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport, TransportHooks, TransportMessage, TransportStatus } from '../../src/actors/transport.js';
import {
  InvalidSubjectError,
  PayloadTooLargeError,
  TransportClosedError,
  type TransportErrorEvent,
  TransportNoRespondersError,
  TransportTimeoutError,
} from '../../src/actors/transport-errors.js';

export interface ConformanceConnectOptions extends TransportHooks {
  maxMessageBytes?: number;
}

export interface TransportFixture {
  /** A new connection to the fixture's medium. */
  connect(opts?: ConformanceConnectOptions): Promise<Transport>;
  teardown(): Promise<void>;
}

/** Collects what a subscription receives, and waits for a count. */
export class Inbox {
  readonly messages: TransportMessage[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  readonly handler = (m: TransportMessage): void => {
    this.messages.push(m);
    const ready = this.waiters.filter((w) => this.messages.length >= w.n);
    this.waiters = this.waiters.filter((w) => this.messages.length < w.n);
    for (const w of ready) w.resolve();
  };

  waitFor(n: number, timeoutMs = 10_000): Promise<TransportMessage[]> {
    if (this.messages.length >= n) return Promise.resolve(this.messages);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`got ${this.messages.length} of ${n} messages in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve(this.messages);
        },
      });
    });
  }

  subjects(): string[] {
    return this.messages.map((m) => m.subject);
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
let uniq = 0;
/** A fresh subject prefix per test: fixtures may share a server with other test files. */
const prefix = (): string => `conf${process.pid}x${Date.now().toString(36)}x${++uniq}`;

export function runTransportConformance(name: string, factory: () => Promise<TransportFixture>): void {
  describe(`Transport conformance: ${name}`, () => {
    let fx: TransportFixture;
    const open: Transport[] = [];
    const connect = async (opts?: ConformanceConnectOptions): Promise<Transport> => {
      const t = await fx.connect(opts);
      open.push(t);
      return t;
    };

    beforeAll(async () => {
      fx = await factory();
    });
    afterAll(async () => {
      await Promise.all(open.map((t) => t.close()));
      await fx?.teardown();
    });

    it('delivers a publish to subscribers on other connections and on its own (echo), with subject and bytes', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const atB = new Inbox();
      const atA = new Inbox();
      b.subscribe(`${p}.hello`, atB.handler);
      a.subscribe(`${p}.hello`, atA.handler);
      await b.flush();
      await a.flush();
      a.publish(`${p}.hello`, bytes('world'));
      const [m] = await atB.waitFor(1);
      expect(m!.subject).toBe(`${p}.hello`);
      expect(text(m!.payload)).toBe('world');
      expect(m!.reply).toBeUndefined();
      expect(() => m!.respond(bytes('x'))).toThrow(InvalidSubjectError);
      expect(text((await atA.waitFor(1))[0]!.payload)).toBe('world');
    });

    it('matches * (one token) and > (one or more trailing tokens)', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const star = new Inbox();
      const tail = new Inbox();
      const done = new Inbox();
      b.subscribe(`${p}.*.x`, star.handler);
      b.subscribe(`${p}.>`, tail.handler);
      b.subscribe(`${p}done`, done.handler);
      await b.flush();
      for (const s of [`${p}.a.x`, `${p}.a.b.x`, `${p}.a`, `${p}.b.x`, `${p}.a.y`]) a.publish(s, bytes(s));
      a.publish(p, bytes('no token after the prefix'));
      a.publish(`${p}done`, bytes('sentinel'));
      await done.waitFor(1);
      await tail.waitFor(5);
      expect(star.subjects()).toEqual([`${p}.a.x`, `${p}.b.x`]);
      expect(tail.subjects()).toEqual([`${p}.a.x`, `${p}.a.b.x`, `${p}.a`, `${p}.b.x`, `${p}.a.y`]);
    });

    it('keeps each publisher’s order, across subjects of one subscription', async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      const p = prefix();
      const inbox = new Inbox();
      c.subscribe(`${p}.>`, inbox.handler);
      await c.flush();
      const n = 300;
      for (let i = 0; i < n; i++) {
        a.publish(`${p}.a.${i % 3}`, bytes(`a${i}`));
        b.publish(`${p}.b`, bytes(`b${i}`));
      }
      await inbox.waitFor(2 * n);
      const seq = (who: string): number[] =>
        inbox.messages
          .map((m) => text(m.payload))
          .filter((s) => s.startsWith(who))
          .map((s) => Number(s.slice(1)));
      const expected = Array.from({ length: n }, (_, i) => i);
      expect(seq('a')).toEqual(expected);
      expect(seq('b')).toEqual(expected);
    });

    it('request/reply: the responder answers through respond(); the requester gets the bytes', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      b.subscribe(`${p}.echo`, (m) => m.respond(bytes(`re:${text(m.payload)}`)));
      await b.flush();
      expect(text(await a.request(`${p}.echo`, bytes('ping'), 5000))).toBe('re:ping');
      // Several in flight at once, each answered to its own requester.
      const replies = await Promise.all([1, 2, 3, 4, 5].map((i) => a.request(`${p}.echo`, bytes(String(i)), 5000)));
      expect(replies.map(text)).toEqual(['re:1', 're:2', 're:3', 're:4', 're:5']);
    });

    it('request rejects with a timeout when the responder stays silent, and with no-responders when nobody listens', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      b.subscribe(`${p}.silent`, () => {});
      await b.flush();
      const t0 = Date.now();
      await expect(a.request(`${p}.silent`, bytes('?'), 300)).rejects.toBeInstanceOf(TransportTimeoutError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
      const t1 = Date.now();
      await expect(a.request(`${p}.nobody`, bytes('?'), 5000)).rejects.toBeInstanceOf(TransportNoRespondersError);
      expect(Date.now() - t1).toBeLessThan(2000);
    });

    it('unsubscribe stops deliveries to that handler only', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const gone = new Inbox();
      const kept = new Inbox();
      const sub = b.subscribe(`${p}.u`, gone.handler);
      b.subscribe(`${p}.u`, kept.handler);
      await b.flush();
      a.publish(`${p}.u`, bytes('1'));
      await gone.waitFor(1);
      sub.unsubscribe();
      sub.unsubscribe(); // idempotent
      await b.flush();
      a.publish(`${p}.u`, bytes('2'));
      a.publish(`${p}.u`, bytes('3'));
      await kept.waitFor(3);
      expect(gone.messages.map((m) => text(m.payload))).toEqual(['1']);
      expect(sub.pattern).toBe(`${p}.u`);
    });

    it('carries several-MiB payloads intact (over NATS: above the max payload, so chunked), also as request and reply', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const inbox = new Inbox();
      b.subscribe(`${p}.big`, inbox.handler);
      b.subscribe(`${p}.big-echo`, (m) => m.respond(m.payload.slice().reverse()));
      await b.flush();
      const big = randomBytes(5 * 1024 * 1024 + 123);
      const small = bytes('after');
      a.publish(`${p}.big`, big);
      a.publish(`${p}.big`, small);
      const [m1, m2] = await inbox.waitFor(2);
      expect(m1!.payload.byteLength).toBe(big.byteLength);
      expect(sha(m1!.payload)).toBe(sha(big));
      expect(text(m2!.payload)).toBe('after'); // order kept around a chunked message
      const req = randomBytes(3 * 1024 * 1024);
      const rep = await a.request(`${p}.big-echo`, req, 20_000);
      expect(sha(rep)).toBe(sha(Buffer.from(req).reverse()));
    });

    it('carries empty payloads, also as request and reply', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const inbox = new Inbox();
      b.subscribe(`${p}.empty`, inbox.handler);
      b.subscribe(`${p}.empty-echo`, (m) => m.respond(new Uint8Array(0)));
      await b.flush();
      a.publish(`${p}.empty`, new Uint8Array(0));
      expect((await inbox.waitFor(1))[0]!.payload.byteLength).toBe(0);
      expect((await a.request(`${p}.empty-echo`, new Uint8Array(0), 5000)).byteLength).toBe(0);
    });

    it('copies payloads: neither the sender nor another receiver can change what a receiver got', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const first = new Inbox();
      const second = new Inbox();
      b.subscribe(`${p}.c`, (m) => {
        m.payload.fill(0); // a receiver scribbling on its copy
        first.handler(m);
      });
      b.subscribe(`${p}.c`, second.handler);
      await b.flush();
      const buf = bytes('original');
      a.publish(`${p}.c`, buf);
      buf.fill(120); // the sender reusing its buffer right away
      await first.waitFor(1);
      expect(text((await second.waitFor(1))[0]!.payload)).toBe('original');
    });

    it('a throwing or rejecting handler is reported and counted, and later messages still arrive', async () => {
      const errors: TransportErrorEvent[] = [];
      const a = await connect();
      const b = await connect({ onError: (e) => errors.push(e) });
      const p = prefix();
      const inbox = new Inbox();
      let n = 0;
      b.subscribe(`${p}.t`, async (m) => {
        n++;
        if (n === 1) throw new Error('boom sync');
        if (n === 2) {
          await Promise.resolve();
          throw new Error('boom async');
        }
        inbox.handler(m);
      });
      // A throw thrown synchronously from a non-async handler too.
      b.subscribe(`${p}.t`, (m) => {
        if (text(m.payload) === '1') throw new Error('boom plain');
      });
      await b.flush();
      for (const s of ['1', '2', '3', '4']) a.publish(`${p}.t`, bytes(s));
      await inbox.waitFor(2);
      await new Promise((r) => setTimeout(r, 20));
      expect(inbox.messages.map((m) => text(m.payload))).toEqual(['3', '4']);
      expect(errors.map((e) => e.kind)).toEqual(['handler', 'handler', 'handler']);
      expect(errors.map((e) => e.message).sort()).toEqual(
        ['handler failed: boom async', 'handler failed: boom plain', 'handler failed: boom sync'].sort(),
      );
      expect(errors.every((e) => e.subject === `${p}.t`)).toBe(true);
      expect(b.meter.handlerErrors).toBe(3);
    });

    it('meters messages and bytes sent and received per subject, queried by prefix pattern', async () => {
      const [a, b] = [await connect(), await connect()];
      const p = prefix();
      const inbox = new Inbox();
      b.subscribe(`${p}.>`, inbox.handler);
      b.subscribe(`${p}.q`, (m) => m.respond(new Uint8Array(7)));
      await b.flush();
      a.publish(`${p}.x.a`, new Uint8Array(10));
      a.publish(`${p}.x.a`, new Uint8Array(20));
      a.publish(`${p}.x.b`, new Uint8Array(2 * 1024 * 1024)); // chunked over NATS: still one message
      a.publish(`${p}.y`, new Uint8Array(0));
      await a.request(`${p}.q`, new Uint8Array(5), 5000);
      await inbox.waitFor(5);
      const MiB2 = 2 * 1024 * 1024;
      expect(a.meter.totals(`${p}.x.a`).sent).toEqual({ messages: 2, bytes: 30 });
      expect(a.meter.totals(`${p}.x.>`).sent).toEqual({ messages: 3, bytes: 30 + MiB2 });
      expect(a.meter.totals(`${p}.>`).sent).toEqual({ messages: 5, bytes: 35 + MiB2 });
      expect(b.meter.totals(`${p}.>`).received).toEqual({ messages: 6, bytes: 35 + 5 + MiB2 }); // the request reached both subscriptions
      expect(b.meter.totals(`${p}.>`).sent).toEqual({ messages: 0, bytes: 0 });
      // Replies go to per-request inboxes, metered under one key.
      expect(b.meter.totals('_INBOX').sent).toEqual({ messages: 1, bytes: 7 });
      expect(a.meter.totals('_INBOX').received).toEqual({ messages: 1, bytes: 7 });
      const byTopic = b.meter.byPrefix(2);
      expect(byTopic.get(`${p}.x`)?.received).toEqual({ messages: 3, bytes: 30 + MiB2 });
      expect(a.meter.bySubject().get(`${p}.y`)?.sent).toEqual({ messages: 1, bytes: 0 });
    });

    it('rejects invalid subjects and patterns, and payloads over the transport’s limit', async () => {
      const a = await connect({ maxMessageBytes: 1000 });
      const p = prefix();
      for (const s of ['', `${p}.*`, `${p}.>`, `${p}..x`, `${p}.a b`, `.${p}`])
        expect(() => a.publish(s, bytes('x')), s).toThrow(InvalidSubjectError);
      for (const s of ['', `${p}.>.x`, `${p}.a*`, `${p}. x`]) expect(() => a.subscribe(s, () => {}), s).toThrow(InvalidSubjectError);
      expect(() => a.publish(`${p}.ok`, new Uint8Array(1001))).toThrow(PayloadTooLargeError);
      expect(a.meter.totals().sent.messages).toBe(0);
      a.publish(`${p}.ok`, new Uint8Array(1000));
    });

    it('close(): pending requests reject, publishing throws, the others carry on; idempotent', async () => {
      const statuses: TransportStatus[] = [];
      const a = await connect({ onStatus: (s) => statuses.push(s) });
      const [b, c] = [await connect(), await connect()];
      const p = prefix();
      const atA = new Inbox();
      const atC = new Inbox();
      a.subscribe(`${p}.z`, atA.handler);
      c.subscribe(`${p}.z`, atC.handler);
      b.subscribe(`${p}.slow`, () => {});
      await Promise.all([a.flush(), b.flush(), c.flush()]);
      const pending = a.request(`${p}.slow`, bytes('?'), 10_000).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      await a.flush();
      await a.close();
      await a.close();
      expect(a.isClosed).toBe(true);
      expect(await pending).toBeInstanceOf(TransportClosedError);
      expect(() => a.publish(`${p}.z`, bytes('x'))).toThrow(TransportClosedError);
      expect(() => a.subscribe(`${p}.z`, () => {})).toThrow(TransportClosedError);
      await expect(a.request(`${p}.slow`, bytes('?'), 100)).rejects.toBeInstanceOf(TransportClosedError);
      expect(statuses.filter((s) => s.type === 'closed')).toHaveLength(1);
      b.publish(`${p}.z`, bytes('after close'));
      await atC.waitFor(1);
      await b.flush();
      await new Promise((r) => setTimeout(r, 20));
      expect(atA.messages).toHaveLength(0);
    });
  });
}
