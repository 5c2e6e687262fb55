// Chunking for real: a nats-server with a 64 KiB max payload, so a 3 MB payload crosses it ~48 times.

import { createHash, randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_HEADERS, chunkHeaderValues, splitIntoChunks } from '../../src/actors/transport-chunks.js';
import type { TransportErrorEvent } from '../../src/actors/transport-errors.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { NatsServer } from '../helpers/nats-server.js';
import { plainConnection, publishWithHeaders } from '../helpers/nats-raw.js';
import { Inbox } from './transport-conformance.js';

const MAX_PAYLOAD = 64 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('NatsTransport chunking (server max_payload 64 KiB)', () => {
  let server: NatsServer;
  let pub: NatsTransport;
  let sub: NatsTransport;
  let raw: NatsConnection;
  const errors: TransportErrorEvent[] = [];

  beforeAll(async () => {
    server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
    pub = await NatsTransport.connect({ connection: { servers: [server.url] } });
    sub = await NatsTransport.connect({ connection: { servers: [server.url] }, onError: (e) => errors.push(e) });
    raw = await plainConnection(server.url);
  });
  afterAll(async () => {
    await Promise.all([pub?.close(), sub?.close(), raw?.close()]);
    await server?.dispose();
  });

  it('reads the max payload from the server and delivers a 3 MB payload intact, as ~48 chunks on the same subject', async () => {
    expect(pub.serverMaxPayload).toBe(MAX_PAYLOAD);
    const inbox = new Inbox();
    sub.subscribe('big.one', inbox.handler);
    // What actually crosses the wire, seen by a plain client.
    const wire: { subject: string; bytes: number; chunk: string | undefined }[] = [];
    raw.subscribe('big.>', {
      callback: (_e, m) => {
        wire.push({ subject: m.subject, bytes: m.data.byteLength, chunk: m.headers?.get(CHUNK_HEADERS.chunk) });
      },
    });
    await Promise.all([sub.flush(), raw.flush()]);
    const payload = randomBytes(3_000_000);
    pub.publish('big.one', payload);
    const [m] = await inbox.waitFor(1);
    expect(m!.payload.byteLength).toBe(payload.byteLength);
    expect(sha(m!.payload)).toBe(sha(payload));
    await raw.flush();
    const count = Math.ceil(3_000_000 / (MAX_PAYLOAD - 512));
    expect(wire).toHaveLength(count);
    expect(wire.every((w) => w.subject === 'big.one' && w.bytes <= MAX_PAYLOAD)).toBe(true);
    expect(wire.map((w) => w.chunk)).toEqual(Array.from({ length: count }, (_, i) => `${i}/${count}`));
    expect(errors).toEqual([]);
    expect(pub.meter.totals('big.one').sent).toEqual({ messages: 1, bytes: 3_000_000 });
    expect(sub.meter.totals('big.one').received).toEqual({ messages: 1, bytes: 3_000_000 });
  });

  it('drops a message with a tampered chunk (forged headers, from a second plain connection) and delivers the next', async () => {
    errors.length = 0;
    const inbox = new Inbox();
    sub.subscribe('tamper.x', inbox.handler);
    await sub.flush();
    const payload = randomBytes(200_000);
    const chunks = splitIntoChunks('forgedMsg1', payload, 60_000);
    chunks.forEach(({ info, data }, i) => {
      const bytes = Uint8Array.from(data);
      if (i === 2) bytes[1000]! ^= 0xff; // one bit pattern changed in the third chunk
      publishWithHeaders(raw, 'tamper.x', bytes, chunkHeaderValues(info));
    });
    // The same message untouched, from the same forger, arrives whole.
    const good = splitIntoChunks('forgedMsg2', payload, 60_000);
    for (const { info, data } of good) publishWithHeaders(raw, 'tamper.x', data, chunkHeaderValues(info));
    await raw.flush();
    const [m] = await inbox.waitFor(1);
    expect(sha(m!.payload)).toBe(sha(payload));
    await sub.flush();
    expect(inbox.messages).toHaveLength(1);
    expect(errors).toEqual([
      { kind: 'dropped', subject: 'tamper.x', message: 'chunked message forgedMsg1: sha256 mismatch, message discarded' },
    ]);
    expect(sub.meter.dropped).toBe(1);
  });

  it('interleaved chunked messages from two publishers on one subject both arrive, each in its publisher’s order', async () => {
    const other = await NatsTransport.connect({ connection: { servers: [server.url] } });
    const inbox = new Inbox();
    sub.subscribe('mix', inbox.handler);
    await sub.flush();
    const a = [randomBytes(150_000), randomBytes(10), randomBytes(300_000)];
    const b = [randomBytes(250_000), randomBytes(70_000)];
    pub.publish('mix', a[0]!);
    other.publish('mix', b[0]!);
    pub.publish('mix', a[1]!);
    other.publish('mix', b[1]!);
    pub.publish('mix', a[2]!);
    const got = (await inbox.waitFor(5)).map((m) => sha(m.payload));
    const order = (xs: Uint8Array[]): number[] => xs.map((x) => got.indexOf(sha(x)));
    expect(order(a).every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]!))).toBe(true);
    expect(order(b).every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]!))).toBe(true);
    await other.close();
  });
});
