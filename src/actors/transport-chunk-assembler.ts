// Reassembles chunked messages on the subscriber side, bounded so that no sender (broken or hostile)
// can make a subscriber hold unbounded memory: a cap on one message's size and chunk count, on the
// number and bytes of incomplete messages, and an idle timeout after which an incomplete message is
// dropped. A message is delivered only when every chunk arrived, chunks agree with each other and the
// sha256 of the whole matches; anything else is dropped and reported, never delivered.

import { copyBytes } from './transport.js';
import { type ChunkInfo, sha256Hex } from './transport-chunks.js';

export interface ChunkAssemblerLimits {
  /** Largest whole message accepted. */
  maxMessageBytes: number;
  /** Most chunks one message may have. */
  maxChunks: number;
  /** Most incomplete messages held at once (per subscription). */
  maxPendingMessages: number;
  /** Most bytes held in incomplete messages at once (per subscription). */
  maxPendingBytes: number;
  /** An incomplete message is dropped when none of its chunks arrived for this long. */
  idleTimeoutMs: number;
}

export const DEFAULT_CHUNK_LIMITS: Omit<ChunkAssemblerLimits, 'maxMessageBytes'> = {
  maxChunks: 4096,
  maxPendingMessages: 64,
  maxPendingBytes: 256 * 1024 * 1024,
  idleTimeoutMs: 15_000,
};

interface Pending {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly count: number;
  readonly size: number;
  readonly sha256: string;
  readonly chunks: Map<number, Uint8Array>;
  bytes: number;
  timer: NodeJS.Timeout;
}

/** Ids of recently dropped messages, so their remaining chunks are ignored instead of reported again. */
const REMEMBERED_DROPS = 1024;

export class ChunkAssembler {
  private readonly pending = new Map<string, Pending>();
  private readonly dropped = new Set<string>();
  private pendingBytes = 0;

  constructor(
    private readonly limits: ChunkAssemblerLimits,
    private readonly onDrop: (subject: string, reason: string) => void,
  ) {}

  get pendingMessages(): number {
    return this.pending.size;
  }

  /** Adds one chunk (copied); returns the verified whole payload when this chunk completes it. */
  add(subject: string, reply: string | undefined, info: ChunkInfo, data: Uint8Array): Uint8Array | undefined {
    const key = `${subject} ${info.id}`;
    if (this.dropped.has(key)) return undefined;
    const L = this.limits;
    const what = `chunked message ${info.id}`;
    if (info.size > L.maxMessageBytes)
      return this.drop(key, subject, `${what}: ${info.size} bytes is over the limit of ${L.maxMessageBytes}`);
    if (info.count > L.maxChunks) return this.drop(key, subject, `${what}: ${info.count} chunks is over the limit of ${L.maxChunks}`);
    if (info.size === 0 ? info.count !== 1 : info.count > info.size)
      return this.drop(key, subject, `${what}: ${info.count} chunks cannot hold ${info.size} bytes`);

    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= L.maxPendingMessages) {
        return this.drop(key, subject, `${what}: ${L.maxPendingMessages} incomplete messages are pending already`);
      }
      const { count, size, sha256 } = info;
      p = { subject, reply, count, size, sha256, chunks: new Map(), bytes: 0, timer: this.idleTimer(key) };
      this.pending.set(key, p);
    } else {
      if (p.count !== info.count || p.size !== info.size || p.sha256 !== info.sha256 || p.reply !== reply) {
        return this.drop(key, subject, `${what}: chunk ${info.index} disagrees with earlier chunks (count, size, hash or reply)`);
      }
      p.timer.refresh();
    }
    if (p.chunks.has(info.index)) return this.drop(key, subject, `${what}: chunk ${info.index} arrived twice`);
    if (p.bytes + data.byteLength > p.size) return this.drop(key, subject, `${what}: chunks exceed the announced ${p.size} bytes`);
    if (this.pendingBytes + data.byteLength > L.maxPendingBytes) {
      return this.drop(key, subject, `${what}: incomplete messages would hold over ${L.maxPendingBytes} bytes`);
    }
    p.chunks.set(info.index, copyBytes(data));
    p.bytes += data.byteLength;
    this.pendingBytes += data.byteLength;
    if (p.chunks.size < p.count) return undefined;

    this.forget(key, p);
    if (p.bytes !== p.size) return this.drop(key, subject, `${what}: ${p.bytes} bytes received, ${p.size} announced`);
    const whole = new Uint8Array(p.size);
    let off = 0;
    for (let i = 0; i < p.count; i++) {
      const c = p.chunks.get(i)!;
      whole.set(c, off);
      off += c.byteLength;
    }
    if (sha256Hex(whole) !== p.sha256) return this.drop(key, subject, `${what}: sha256 mismatch, message discarded`);
    return whole;
  }

  /** Discards every incomplete message (on unsubscribe or close), silently. */
  clear(): void {
    for (const [key, p] of this.pending) this.forget(key, p);
  }

  private idleTimer(key: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const p = this.pending.get(key);
      if (p)
        this.drop(
          key,
          p.subject,
          `chunked message ${key.split(' ')[1]}: incomplete (${p.chunks.size} of ${p.count} chunks) after ${this.limits.idleTimeoutMs} ms without a chunk`,
        );
    }, this.limits.idleTimeoutMs);
    t.unref();
    return t;
  }

  private forget(key: string, p: Pending): void {
    clearTimeout(p.timer);
    this.pendingBytes -= p.bytes;
    this.pending.delete(key);
  }

  private drop(key: string, subject: string, reason: string): undefined {
    const p = this.pending.get(key);
    if (p) this.forget(key, p);
    this.dropped.add(key);
    if (this.dropped.size > REMEMBERED_DROPS) this.dropped.delete(this.dropped.values().next().value!);
    this.onDrop(subject, reason);
    return undefined;
  }
}
