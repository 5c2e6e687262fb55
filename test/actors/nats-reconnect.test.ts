// A nats-server restart in the middle of a stream: both transports report the outage, reconnect by
// themselves (backoff, resubscription by the client), and everything published after the restart
// arrives, in order, on the subscriptions made before it.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportStatus } from '../../src/actors/transport.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { NatsServer } from '../helpers/nats-server.js';
import { Inbox } from './transport-conformance.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const enc = (n: number): Uint8Array => new TextEncoder().encode(String(n));
const dec = (b: Uint8Array): number => Number(new TextDecoder().decode(b));

function statusLog(): {
  log: TransportStatus['type'][];
  onStatus: (s: TransportStatus) => void;
  waitFor: (type: TransportStatus['type'], n: number) => Promise<void>;
} {
  const log: TransportStatus['type'][] = [];
  let wake: (() => void) | undefined;
  return {
    log,
    onStatus: (s) => {
      log.push(s.type);
      wake?.();
    },
    waitFor: async (type, n) => {
      const deadline = Date.now() + 15_000;
      while (log.filter((t) => t === type).length < n) {
        if (Date.now() > deadline) throw new Error(`no ${n}x '${type}' status in 15 s: ${log.join(', ')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}

describe('NatsTransport across nats-server restarts', () => {
  let server: NatsServer;
  let sub: NatsTransport;
  let pub: NatsTransport;
  const subStatus = statusLog();
  const pubStatus = statusLog();
  const errors: string[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
    const connect = (name: string, s: ReturnType<typeof statusLog>): Promise<NatsTransport> =>
      NatsTransport.connect({
        connection: { servers: [server.url] },
        name,
        reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
        onStatus: s.onStatus,
        onError: (e) => errors.push(`${name} ${e.kind}: ${e.message}`),
      });
    sub = await connect('sub', subStatus);
    pub = await connect('pub', pubStatus);
  });
  afterAll(async () => {
    await Promise.all([sub?.close(), pub?.close()]);
    await server?.dispose();
  });

  it('keeps subscriptions and request/reply through two restarts; publishes after each restart arrive in order', async () => {
    const stream = new Inbox();
    const big = new Inbox();
    sub.subscribe('stream.x', stream.handler);
    sub.subscribe('stream.big', big.handler);
    sub.subscribe('svc.echo', (m) => m.respond(m.payload));
    await sub.flush();

    let seq = 0;
    const publishSome = async (n: number): Promise<number[]> => {
      const sent: number[] = [];
      for (let i = 0; i < n; i++) {
        sent.push(seq);
        pub.publish('stream.x', enc(seq++));
        await new Promise((r) => setTimeout(r, 2));
      }
      return sent;
    };

    const before = await publishSome(20);
    await stream.waitFor(20);
    for (let round = 1; round <= 2; round++) {
      // Mid-stream: a publisher keeps going while the server goes down and comes back.
      const during = publishSome(40);
      await server.restart();
      await during;
      await Promise.all([subStatus.waitFor('reconnected', round), pubStatus.waitFor('reconnected', round)]);
      await sub.flush();
      const after = await publishSome(30);
      await pub.flush();
      const deadline = Date.now() + 10_000;
      const got = (): number[] => stream.messages.map((m) => dec(m.payload));
      while (!after.every((n) => got().includes(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(after.filter((n) => !got().includes(n))).toEqual([]);
      expect(got().slice(0, 20)).toEqual(before);
      // NATS core is at-most-once: some messages of the outage may be lost, but none reorder or repeat.
      expect(got()).toEqual([...got()].sort((x, y) => x - y));
      expect(new Set(got()).size).toBe(got().length);

      expect(new TextDecoder().decode(await pub.request('svc.echo', enc(round), 5000))).toBe(String(round));
      const payload = randomBytes(2 * 1024 * 1024 + 7); // chunked
      pub.publish('stream.big', payload);
      const [m] = (await big.waitFor(round)).slice(round - 1);
      expect(sha(m!.payload)).toBe(sha(payload));
    }
    for (const s of [subStatus, pubStatus]) {
      const i = s.log.indexOf('disconnected');
      expect(s.log.slice(i, i + 2)).toEqual(['disconnected', 'reconnecting']);
      expect(s.log.filter((t) => t === 'disconnected')).toHaveLength(2);
      expect(s.log.filter((t) => t === 'reconnected')).toHaveLength(2);
      expect(s.log).not.toContain('closed');
    }
    expect(errors).toEqual([]);
  });

  it('close() during an outage returns promptly and rejects pending requests', async () => {
    const s = statusLog();
    const t = await NatsTransport.connect({
      connection: { servers: [server.url] },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      onStatus: s.onStatus,
    });
    await server.stop();
    await s.waitFor('disconnected', 1);
    const pending = t.request('svc.echo', enc(1), 10_000).then(
      () => 'resolved',
      (e: unknown) => (e as Error).name,
    );
    const t0 = Date.now();
    await t.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pending).toBe('TransportClosedError');
    expect(s.log.at(-1)).toBe('closed');
    await server.restart(); // for the other connections' clean close
  });
});
