// The model vocabulary: token <-> id, the ids of the 256 byte symbols, and the bytes each id decodes to.
import { BYTE_TO_CHAR, tokenBytes } from './byte-level.js';
import type { Fail } from './errors.js';
import { quote } from './json-shape.js';

/** Ids must stay below this (pair keys left * base + right must stay exact doubles). */
export const MAX_ID = 2 ** 22;

/** `id` as a valid token id, or a failure naming `what()` (called only then: vocabularies are large). */
export function checkId(id: unknown, what: () => string, fail: Fail): number {
  if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= MAX_ID) {
    fail(`${what()} has an invalid id ${typeof id === 'number' ? id : JSON.stringify(id)} (ids are integers in [0, ${MAX_ID}))`);
  }
  return id as number;
}

export class Vocab {
  readonly byToken: Map<string, number>;
  /** id -> token; holes where no vocab token has the id. */
  readonly byId: (string | undefined)[] = [];
  /** The largest id, -1 for an empty vocab. */
  readonly maxId: number = -1;
  /** byteIds[b]: the id of the symbol of byte b. */
  readonly byteIds = new Int32Array(256);
  /** id -> the bytes the vocab token decodes to (its byte-level spelling read back). */
  readonly bytes: (Uint8Array | undefined)[];
  /** The length in bytes of the longest token. */
  readonly maxTokenBytes: number = 1;

  constructor(vocab: Record<string, number> | ReadonlyMap<string, number>, fail: Fail) {
    this.byToken = vocab instanceof Map ? new Map(vocab) : new Map(Object.entries(vocab));
    for (const [tok, id] of this.byToken) {
      checkId(id, () => `vocab token ${quote(tok)}`, fail);
      const other = this.byId[id];
      if (other !== undefined) fail(`vocab ids collide: ${quote(other)} and ${quote(tok)} both have id ${id}`);
      this.byId[id] = tok;
      this.maxId = Math.max(this.maxId, id);
    }
    for (let b = 0; b < 256; b++) {
      const id = this.byToken.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) {
        const hex = b.toString(16).padStart(2, '0');
        fail(`the vocab lacks the byte symbol ${quote(BYTE_TO_CHAR[b]!)} (byte 0x${hex}); not a byte-level BPE vocabulary`);
      }
      this.byteIds[b] = id!;
    }
    this.bytes = new Array<Uint8Array | undefined>(this.maxId + 1);
    for (const [tok, id] of this.byToken) {
      const bytes = tokenBytes(tok);
      this.bytes[id] = bytes;
      this.maxTokenBytes = Math.max(this.maxTokenBytes, bytes.length);
    }
  }

  /** The symbol ids of a word's bytes. */
  symbols(bytes: Uint8Array): number[] {
    return Array.from(bytes, (b) => this.byteIds[b]!);
  }
}
