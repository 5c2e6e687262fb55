import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ChunkAssembler, type ChunkAssemblerLimits } from '../../src/actors/transport-chunk-assembler.js';
import {
  CHUNK_HEADERS,
  type ChunkInfo,
  chunkHeaderValues,
  parseChunkHeaders,
  sha256Hex,
  splitIntoChunks,
} from '../../src/actors/transport-chunks.js';

const limits: ChunkAssemblerLimits = {
  maxMessageBytes: 1 << 20,
  maxChunks: 64,
  maxPendingMessages: 2,
  maxPendingBytes: 1 << 20,
  idleTimeoutMs: 5000,
};

function setup(l: Partial<ChunkAssemblerLimits> = {}): { a: ChunkAssembler; drops: string[] } {
  const drops: string[] = [];
  return { a: new ChunkAssembler({ ...limits, ...l }, (subject, reason) => drops.push(`${subject}: ${reason}`)), drops };
}

describe('splitIntoChunks + ChunkAssembler', () => {
  it('reassembles chunks in any order into the verified payload', () => {
    const payload = randomBytes(10_000);
    const chunks = splitIntoChunks('m1', payload, 3000);
    expect(chunks.map((c) => c.data.byteLength)).toEqual([3000, 3000, 3000, 1000]);
    expect(chunks.every((c) => c.info.count === 4 && c.info.size === 10_000 && c.info.sha256 === sha256Hex(payload))).toBe(true);
    const { a, drops } = setup();
    const order = [2, 0, 3, 1];
    const results = order.map((i) => a.add('s', undefined, chunks[i]!.info, chunks[i]!.data));
    expect(results.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(Buffer.from(results[3]!).equals(payload)).toBe(true);
    expect(drops).toEqual([]);
    expect(a.pendingMessages).toBe(0);
  });

  it('keeps messages with the same id on different subjects apart', () => {
    const { a } = setup();
    const x = splitIntoChunks('same', randomBytes(100), 60);
    const y = splitIntoChunks('same', randomBytes(100), 60);
    a.add('s.x', undefined, x[0]!.info, x[0]!.data);
    a.add('s.y', undefined, y[0]!.info, y[0]!.data);
    expect(a.add('s.x', undefined, x[1]!.info, x[1]!.data)!.byteLength).toBe(100);
    expect(a.add('s.y', undefined, y[1]!.info, y[1]!.data)!.byteLength).toBe(100);
  });

  it('drops a message whose bytes do not match its sha256, and ignores its later chunks quietly', () => {
    const payload = randomBytes(300);
    const chunks = splitIntoChunks('m', payload, 100);
    const { a, drops } = setup();
    a.add('s', undefined, chunks[0]!.info, chunks[0]!.data);
    const tampered = Uint8Array.from(chunks[1]!.data);
    tampered[5]! ^= 1;
    a.add('s', undefined, chunks[1]!.info, tampered);
    expect(a.add('s', undefined, chunks[2]!.info, chunks[2]!.data)).toBeUndefined();
    expect(drops).toEqual(['s: chunked message m: sha256 mismatch, message discarded']);
    expect(a.add('s', undefined, chunks[2]!.info, chunks[2]!.data)).toBeUndefined();
    expect(drops).toHaveLength(1);
  });

  it('drops on duplicate chunks, disagreeing chunks, excess bytes and impossible counts', () => {
    const c = splitIntoChunks('m', randomBytes(300), 100);
    const cases: [string, (a: ChunkAssembler) => void][] = [
      ['arrived twice', (a) => [0, 0].map((i) => a.add('s', undefined, c[i]!.info, c[i]!.data))],
      ['disagrees', (a) => [c[0]!.info, { ...c[1]!.info, count: 4 }].map((info) => a.add('s', undefined, info, c[0]!.data))],
      ['disagrees', (a) => [0, 1].map((i) => a.add('s', i === 0 ? '_INBOX.a' : '_INBOX.b', c[i]!.info, c[i]!.data))],
      ['exceed the announced', (a) => a.add('s', undefined, { ...c[0]!.info, size: 50, count: 2 }, c[0]!.data)],
      ['cannot hold', (a) => a.add('s', undefined, { ...c[0]!.info, size: 3, count: 5 }, new Uint8Array(1))],
      ['cannot hold', (a) => a.add('s', undefined, { ...c[0]!.info, size: 0, count: 2 }, new Uint8Array(0))],
      ['over the limit of 1048576', (a) => a.add('s', undefined, { ...c[0]!.info, size: 2 << 20, count: 40 }, c[0]!.data)],
      ['65 chunks is over the limit of 64', (a) => a.add('s', undefined, { ...c[0]!.info, size: 6500, count: 65 }, c[0]!.data)],
    ];
    for (const [want, run] of cases) {
      const { a, drops } = setup();
      run(a);
      expect(drops, want).toHaveLength(1);
      expect(drops[0], want).toContain(want);
      expect(a.pendingMessages).toBe(0);
    }
  });

  it('bounds the number and bytes of incomplete messages', () => {
    const { a, drops } = setup({ maxPendingMessages: 2, maxPendingBytes: 250 });
    const m = ['m1', 'm2', 'm3'].map((id) => splitIntoChunks(id, randomBytes(300), 100));
    a.add('s', undefined, m[0]![0]!.info, m[0]![0]!.data);
    a.add('s', undefined, m[1]![0]!.info, m[1]![0]!.data);
    a.add('s', undefined, m[2]![0]!.info, m[2]![0]!.data);
    expect(drops).toEqual(['s: chunked message m3: 2 incomplete messages are pending already']);
    a.add('s', undefined, m[0]![1]!.info, m[0]![1]!.data); // 300 bytes held would exceed 250
    expect(drops[1]).toBe('s: chunked message m1: incomplete messages would hold over 250 bytes');
    expect(a.pendingMessages).toBe(1);
    // The freed room serves the next message.
    const ok = splitIntoChunks('m4', randomBytes(150), 100);
    expect(a.add('s', undefined, ok[0]!.info, ok[0]!.data)).toBeUndefined();
    expect(a.add('s', undefined, ok[1]!.info, ok[1]!.data)!.byteLength).toBe(150);
  });

  it('drops an incomplete message after the idle timeout; clear() discards silently', () => {
    vi.useFakeTimers();
    try {
      const { a, drops } = setup({ idleTimeoutMs: 40 });
      const c = splitIntoChunks('slow', randomBytes(300), 100);
      a.add('s', undefined, c[0]!.info, c[0]!.data);
      vi.advanceTimersByTime(25);
      a.add('s', undefined, c[1]!.info, c[1]!.data); // progress resets the idle timer
      vi.advanceTimersByTime(25);
      expect(drops).toEqual([]);
      vi.advanceTimersByTime(20);
      expect(drops).toEqual(['s: chunked message slow: incomplete (2 of 3 chunks) after 40 ms without a chunk']);
      const d = splitIntoChunks('other', randomBytes(300), 100);
      a.add('s', undefined, d[0]!.info, d[0]!.data);
      a.clear();
      vi.advanceTimersByTime(100);
      expect(drops).toHaveLength(1);
      expect(a.pendingMessages).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('copies chunk bytes: the caller may reuse its buffer', () => {
    const payload = randomBytes(200);
    const c = splitIntoChunks('m', payload, 100);
    const { a } = setup();
    const first = Uint8Array.from(c[0]!.data);
    a.add('s', undefined, c[0]!.info, first);
    first.fill(0);
    expect(Buffer.from(a.add('s', undefined, c[1]!.info, c[1]!.data)!).equals(payload)).toBe(true);
  });
});

describe('chunk headers', () => {
  const info: ChunkInfo = { id: 'AbC_12-x', index: 3, count: 7, size: 123456, sha256: 'a'.repeat(64) };
  const getter = (pairs: [string, string][]) => (k: string) => pairs.find(([n]) => n === k)?.[1];

  it('round-trips', () => {
    expect(parseChunkHeaders(getter(chunkHeaderValues(info)))).toEqual(info);
  });

  it('names what is malformed', () => {
    const withValue = (name: string, v: string): [string, string][] => chunkHeaderValues(info).map(([k, x]) => [k, k === name ? v : x]);
    const cases: [[string, string][], RegExp][] = [
      [chunkHeaderValues(info).slice(1), /incomplete chunk headers/],
      [withValue(CHUNK_HEADERS.id, 'a b'), /malformed Fedhpo-Chunk-Id/],
      [withValue(CHUNK_HEADERS.id, 'x'.repeat(65)), /malformed Fedhpo-Chunk-Id/],
      [withValue(CHUNK_HEADERS.chunk, '3'), /want index\/count/],
      [withValue(CHUNK_HEADERS.chunk, '-1/7'), /want index\/count/],
      [withValue(CHUNK_HEADERS.chunk, '7/7'), /index out of range/],
      [withValue(CHUNK_HEADERS.chunk, '0/0'), /index out of range/],
      [withValue(CHUNK_HEADERS.chunk, '1/99999999999'), /want index\/count/],
      [withValue(CHUNK_HEADERS.size, '1e9'), /malformed Fedhpo-Chunk-Size/],
      [withValue(CHUNK_HEADERS.size, '9'.repeat(40)), /malformed Fedhpo-Chunk-Size/],
      [withValue(CHUNK_HEADERS.sha256, 'A'.repeat(64)), /malformed Fedhpo-Chunk-Sha256/],
    ];
    for (const [pairs, re] of cases) expect(parseChunkHeaders(getter(pairs))).toMatch(re);
  });
});
