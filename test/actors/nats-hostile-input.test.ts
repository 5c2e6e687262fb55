// Hostile input at the transport level: garbage bytes, forged and malformed chunk headers, floods of
// incomplete messages, raw protocol frames. None may crash the subscriber; each bad chunked message is
// dropped and reported (kind 'dropped'), and good messages keep arriving.

import { randomBytes } from 'node:crypto';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_HEADERS, chunkHeaderValues, sha256Hex } from '../../src/actors/transport-chunks.js';
import type { TransportErrorEvent } from '../../src/actors/transport-errors.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { NatsServer } from '../helpers/nats-server.js';
import { plainConnection, publishWithHeaders, rawHpub } from '../helpers/nats-raw.js';
import { Inbox } from './transport-conformance.js';

const info = (over: Partial<Record<'id' | 'chunk' | 'size' | 'sha256', string>>): [string, string][] => {
  const base = chunkHeaderValues({ id: 'h1', index: 0, count: 2, size: 20, sha256: sha256Hex(new Uint8Array(20)) });
  const names = { id: CHUNK_HEADERS.id, chunk: CHUNK_HEADERS.chunk, size: CHUNK_HEADERS.size, sha256: CHUNK_HEADERS.sha256 };
  return base.map(([k, v]) => {
    const key = (Object.keys(names) as (keyof typeof names)[]).find((n) => names[n] === k)!;
    return [k, over[key] ?? v];
  });
};

describe('NatsTransport under hostile input', () => {
  let server: NatsServer;
  let sub: NatsTransport;
  let pub: NatsTransport;
  let raw: NatsConnection;
  const errors: TransportErrorEvent[] = [];
  const inbox = new Inbox();
  const decoded: unknown[] = [];

  beforeAll(async () => {
    server = await NatsServer.start({ maxPayload: 64 * 1024 });
    sub = await NatsTransport.connect({
      connection: { servers: [server.url] },
      onError: (e) => errors.push(e),
      chunkLimits: { idleTimeoutMs: 500, maxPendingMessages: 4 },
    });
    pub = await NatsTransport.connect({ connection: { servers: [server.url] } });
    raw = await plainConnection(server.url);
    // A handler shaped like the codec above: parses JSON, throws on anything else.
    sub.subscribe('hostile.>', (m) => {
      inbox.handler(m);
      decoded.push(JSON.parse(new TextDecoder().decode(m.payload)));
    });
    await sub.flush();
  });
  afterAll(async () => {
    await Promise.all([sub?.close(), pub?.close(), raw?.close()]);
    await server?.dispose();
  });

  const settle = async (): Promise<void> => {
    await raw.flush();
    await pub.flush();
    await sub.flush();
    await new Promise((r) => setTimeout(r, 50));
  };

  it('garbage bytes without chunk headers are ordinary bytes: the decoder throws, the throw is reported, the next message arrives', async () => {
    raw.publish('hostile.garbage', randomBytes(5000));
    raw.publish('hostile.garbage', new Uint8Array([0xff, 0xfe, 0x00]));
    pub.publish('hostile.ok', new TextEncoder().encode('{"ok":1}'));
    await inbox.waitFor(3);
    await settle();
    expect(errors.map((e) => e.kind)).toEqual(['handler', 'handler']);
    expect(decoded).toEqual([{ ok: 1 }]);
  });

  it('malformed, oversized or inconsistent chunk headers are dropped and reported, never delivered', async () => {
    errors.length = 0;
    const before = inbox.messages.length;
    const data = new Uint8Array(10);
    const forged: [string, [string, string][], Uint8Array][] = [
      ['only one header', [[CHUNK_HEADERS.chunk, '0/2']], data],
      ['lower-case names count too', [['fedhpo-chunk', '0/2']], data],
      ['garbage index', info({ chunk: 'x/y' }), data],
      ['index past count', info({ chunk: '5/2' }), data],
      ['10 GiB announced', info({ id: 'h2', size: String(10 * 1024 ** 3), chunk: '0/200000' }), data],
      ['too many chunks', info({ id: 'h3', size: '1000000', chunk: '0/100000' }), data],
      ['hash not hex', info({ sha256: 'z'.repeat(64) }), data],
      ['id with spaces', info({ id: 'a b' }), data],
      ['60 KB id', info({ id: 'x'.repeat(60_000) }), data],
      ['more bytes than announced', info({ id: 'h4', size: '20' }), new Uint8Array(30)],
      ['disagreeing second chunk', info({ id: 'h5' }), data],
      ['', info({ id: 'h5', chunk: '1/3' }), data],
    ];
    for (const [, hdrs, bytes] of forged) publishWithHeaders(raw, 'hostile.chunks', bytes, hdrs);
    // A status line forged onto an ordinary subject.
    raw.publish('hostile.status', new Uint8Array(3), { headers: headers(503, 'No Responders') });
    await settle();
    expect(inbox.messages.length).toBe(before);
    const reasons = errors.map((e) => `${e.kind}: ${e.message}`);
    expect(reasons).toEqual([
      expect.stringMatching(/^dropped: incomplete chunk headers/),
      expect.stringMatching(/^dropped: incomplete chunk headers/),
      'dropped: malformed Fedhpo-Chunk "x/y" (want index/count)',
      'dropped: Fedhpo-Chunk "5/2": index out of range',
      `dropped: chunked message h2: ${10 * 1024 ** 3} bytes is over the limit of ${64 * 1024 * 1024}`,
      'dropped: chunked message h3: 100000 chunks is over the limit of 4096',
      expect.stringMatching(/^dropped: malformed Fedhpo-Chunk-Sha256/),
      'dropped: malformed Fedhpo-Chunk-Id "a b"',
      `dropped: malformed Fedhpo-Chunk-Id "${'x'.repeat(40)}..."`,
      'dropped: chunked message h4: chunks exceed the announced 20 bytes',
      'dropped: chunked message h5: chunk 1 disagrees with earlier chunks (count, size, hash or reply)',
      'dropped: status message 503 No Responders',
    ]);
    expect(errors.every((e) => e.subject?.startsWith('hostile.'))).toBe(true);
  });

  it('a flood of incomplete messages is bounded (pending cap) and expires (idle timeout)', async () => {
    errors.length = 0;
    for (let i = 0; i < 6; i++) publishWithHeaders(raw, 'hostile.flood', new Uint8Array(10), info({ id: `f${i}` }));
    await settle();
    const capped = (): string[] => errors.map((e) => e.message).filter((m) => m.includes('pending already'));
    const expired = (): string[] => errors.map((e) => e.message).filter((m) => m.includes('without a chunk'));
    expect(capped()).toEqual([
      'chunked message f4: 4 incomplete messages are pending already',
      'chunked message f5: 4 incomplete messages are pending already',
    ]);
    const deadline = Date.now() + 5000;
    while (expired().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(expired()).toEqual([0, 1, 2, 3].map((i) => `chunked message f${i}: incomplete (1 of 2 chunks) after 500 ms without a chunk`));
    expect(errors).toHaveLength(6);
    // Room again: a real chunked message goes through.
    const big = randomBytes(200_000);
    const wrapped = new TextEncoder().encode(JSON.stringify({ big: Buffer.from(big).toString('base64') }));
    const n = inbox.messages.length;
    pub.publish('hostile.big', wrapped);
    await inbox.waitFor(n + 1);
    expect(inbox.messages.at(-1)!.payload.byteLength).toBe(wrapped.byteLength);
  });

  it('raw protocol frames with broken header blocks do not crash the subscriber', async () => {
    errors.length = 0;
    const n = inbox.messages.length;
    await rawHpub(server.port, [
      // Not a NATS header block at all: the client sees no headers, so these are ordinary bytes.
      { subject: 'hostile.raw', headerBlock: 'GARBAGE\u0000\u00ff\r\n\r\n', payload: '{"raw":1}' },
      // A header line without a colon next to a chunk header.
      { subject: 'hostile.raw', headerBlock: 'NATS/1.0\r\nFedhpo-Chunk: 0/2\r\nno colon here\r\n\r\n', payload: 'x' },
      // Chunk headers with absurd values.
      {
        subject: 'hostile.raw',
        headerBlock: `NATS/1.0\r\nFedhpo-Chunk-Id: r1\r\nFedhpo-Chunk: 0/1\r\nFedhpo-Chunk-Size: ${'9'.repeat(300)}\r\nFedhpo-Chunk-Sha256: ${'0'.repeat(64)}\r\n\r\n`,
        payload: 'x',
      },
    ]);
    pub.publish('hostile.after', new TextEncoder().encode('{"after":1}'));
    await inbox.waitFor(n + 2);
    await settle();
    expect(inbox.messages.slice(n).map((m) => m.subject)).toEqual(['hostile.raw', 'hostile.after']);
    expect(decoded.slice(-2)).toEqual([{ raw: 1 }, { after: 1 }]);
    expect(errors.map((e) => e.kind)).toEqual(['dropped', 'dropped']);
    expect(errors[1]!.message).toMatch(/malformed Fedhpo-Chunk-Size/);
    expect(sub.isClosed).toBe(false);
  });
});
