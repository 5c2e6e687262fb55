// Chunk framing for payloads above the NATS server's max payload. Every chunk goes on the message's own
// subject (so per-subject permissions hold for the whole message) with these headers:
//   Fedhpo-Chunk-Id:     the message id (a NUID; 1-64 chars of [A-Za-z0-9_-])
//   Fedhpo-Chunk:        "<index>/<count>", index 0-based
//   Fedhpo-Chunk-Size:   the whole payload's byte length
//   Fedhpo-Chunk-Sha256: the whole payload's sha256, lowercase hex
// A message without Fedhpo-Chunk headers is an ordinary (single) message.

import { createHash } from 'node:crypto';

export const CHUNK_HEADERS = {
  id: 'Fedhpo-Chunk-Id',
  chunk: 'Fedhpo-Chunk',
  size: 'Fedhpo-Chunk-Size',
  sha256: 'Fedhpo-Chunk-Sha256',
} as const;

/**
 * Room left in each chunk for the header block ("NATS/1.0\r\n" plus the four headers take ~200 bytes;
 * the server counts headers against max_payload).
 */
export const CHUNK_HEADER_RESERVE = 512;

export interface ChunkInfo {
  readonly id: string;
  readonly index: number;
  readonly count: number;
  readonly size: number;
  readonly sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The chunks' header values and byte ranges (views of `payload`, not copies). */
export function splitIntoChunks(id: string, payload: Uint8Array, chunkBytes: number): { info: ChunkInfo; data: Uint8Array }[] {
  if (!(chunkBytes > 0)) throw new RangeError(`chunk size must be positive, got ${chunkBytes}`);
  const count = Math.max(1, Math.ceil(payload.byteLength / chunkBytes));
  const sha256 = sha256Hex(payload);
  const out: { info: ChunkInfo; data: Uint8Array }[] = [];
  for (let index = 0; index < count; index++) {
    const data = payload.subarray(index * chunkBytes, Math.min(payload.byteLength, (index + 1) * chunkBytes));
    out.push({ info: { id, index, count, size: payload.byteLength, sha256 }, data });
  }
  return out;
}

export function chunkHeaderValues(info: ChunkInfo): [string, string][] {
  return [
    [CHUNK_HEADERS.id, info.id],
    [CHUNK_HEADERS.chunk, `${info.index}/${info.count}`],
    [CHUNK_HEADERS.size, String(info.size)],
    [CHUNK_HEADERS.sha256, info.sha256],
  ];
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const INDEX_COUNT = /^(\d{1,9})\/(\d{1,9})$/;
const SIZE = /^\d{1,15}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Whether a message carries any chunk header (and so must parse as a chunk or be dropped). */
export function hasChunkHeaders(get: (name: string) => string | undefined): boolean {
  return Object.values(CHUNK_HEADERS).some((h) => get(h) !== undefined);
}

/** Parses and checks a chunk's headers; returns a reason string when they are malformed. */
export function parseChunkHeaders(get: (name: string) => string | undefined): ChunkInfo | string {
  const id = get(CHUNK_HEADERS.id);
  const chunk = get(CHUNK_HEADERS.chunk);
  const size = get(CHUNK_HEADERS.size);
  const sha256 = get(CHUNK_HEADERS.sha256);
  if (id === undefined || chunk === undefined || size === undefined || sha256 === undefined) {
    return `incomplete chunk headers (need ${Object.values(CHUNK_HEADERS).join(', ')})`;
  }
  if (!ID.test(id)) return `malformed ${CHUNK_HEADERS.id} ${clip(id)}`;
  const m = INDEX_COUNT.exec(chunk);
  if (!m) return `malformed ${CHUNK_HEADERS.chunk} ${clip(chunk)} (want index/count)`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) return `${CHUNK_HEADERS.chunk} ${clip(chunk)}: index out of range`;
  if (!SIZE.test(size)) return `malformed ${CHUNK_HEADERS.size} ${clip(size)}`;
  if (!SHA256.test(sha256)) return `malformed ${CHUNK_HEADERS.sha256} ${clip(sha256)}`;
  return { id, index, count, size: Number(size), sha256 };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}
