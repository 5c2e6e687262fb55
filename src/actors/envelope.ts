// The wire envelope of every federation message (all integers little-endian):
//   0  4  magic "FHMS"
//   4  u32 header length H (at most MAX_HEADER_BYTES)
//   8  H   UTF-8 JSON header (the typed message, validated by its kind's schema on receipt)
//   8+H ... optional payload: named tensors in the codec's format (src/fl/codec)
// Small and self-delimiting: the header is readable without touching the tensors, so a receiver
// can refuse a message (bad version, wrong sender, stale round) before decoding any payload.

export const ENVELOPE_MAGIC = Uint8Array.of(0x46, 0x48, 0x4d, 0x53); // "FHMS"
export const ENVELOPE_PREFIX_BYTES = 8;
/** Headers are a few hundred bytes; anything near this is not a header. */
export const MAX_HEADER_BYTES = 64 * 1024;

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

export interface Envelope {
  /** The parsed JSON header (not yet validated). */
  header: unknown;
  /** The tensor payload (a view into the message), empty when absent. */
  payload: Uint8Array;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeEnvelope(header: object, payload?: Uint8Array): Uint8Array {
  const h = utf8.encode(JSON.stringify(header));
  if (h.byteLength > MAX_HEADER_BYTES) throw new EnvelopeError(`envelope: header of ${h.byteLength} bytes is over ${MAX_HEADER_BYTES}`);
  const p = payload ?? new Uint8Array(0);
  const out = new Uint8Array(ENVELOPE_PREFIX_BYTES + h.byteLength + p.byteLength);
  out.set(ENVELOPE_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, h.byteLength, true);
  out.set(h, ENVELOPE_PREFIX_BYTES);
  out.set(p, ENVELOPE_PREFIX_BYTES + h.byteLength);
  return out;
}

/** Splits bytes into header and payload; EnvelopeError for anything that is not an envelope. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.byteLength < ENVELOPE_PREFIX_BYTES) throw new EnvelopeError(`envelope: ${bytes.byteLength} bytes is too short`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== ENVELOPE_MAGIC[i]) throw new EnvelopeError('envelope: bad magic');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (len > MAX_HEADER_BYTES) throw new EnvelopeError(`envelope: header length ${len} is over ${MAX_HEADER_BYTES}`);
  if (ENVELOPE_PREFIX_BYTES + len > bytes.byteLength)
    throw new EnvelopeError(`envelope: header length ${len} runs past the end of ${bytes.byteLength} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(strictUtf8.decode(bytes.subarray(ENVELOPE_PREFIX_BYTES, ENVELOPE_PREFIX_BYTES + len)));
  } catch (e) {
    throw new EnvelopeError(`envelope: header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  return { header, payload: bytes.subarray(ENVELOPE_PREFIX_BYTES + len) };
}
