// Bytes -> named tensors. The input may be hostile: every length, count, offset and value is
// checked before it is used, every allocation is bounded by DecodeLimits (and by bytes actually
// present), and every failure is a CodecError naming the problem.
import { inflateSync } from 'node:zlib';
import { f16ToF32 } from '../../model/safetensors.js';
import type { NamedTensors } from '../tensors.js';
import {
  BYTES_PER_VALUE,
  COMPRESSION_CODE,
  CodecError,
  DEFAULT_DECODE_LIMITS,
  DTYPE,
  type DTypeCode,
  type DecodeLimits,
  FORMAT_VERSION,
  GRANULARITY_CODE,
  HEADER_BYTES,
  MAGIC,
  NonFiniteValueError,
  PRECISION_CODE,
  type ResolvedCodecSettings,
} from './format.js';

export interface DecodedMessage {
  tensors: NamedTensors;
  /** How the sender encoded it (from the header). */
  settings: Omit<ResolvedCodecSettings, 'level'>;
}

const keyOf = <T extends Record<string, number>>(table: T, code: number): keyof T | undefined =>
  (Object.keys(table) as (keyof T)[]).find((k) => table[k] === code);

/** Bounds-checked little-endian reads over one byte range. */
class Reader {
  private readonly view: DataView;
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
  private need(n: number, what: string): number {
    if (n > this.left) throw new CodecError(`codec: truncated body: ${what} needs ${n} bytes at byte ${this.pos}, ${this.left} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  f32(what: string): number {
    return this.view.getFloat32(this.need(4, what), true);
  }
  bytesOf(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.subarray(at, at + n);
  }
}

interface Entry {
  name: string;
  /** The name as error messages show it. */
  label: string;
  dtype: DTypeCode;
  shape: number[];
  count: number;
  scales: Float32Array;
  offset: number;
}

/** A name from the wire as it may appear in a log line: control characters escaped, at most 80 characters. */
function shown(name: string): string {
  let out = '';
  for (const ch of name.length > 80 ? `${name.slice(0, 80)}…` : name) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const isDType = (x: number): x is DTypeCode => x >= DTYPE.f32 && x <= DTYPE.i8Row;

function readHeader(bytes: Uint8Array, lim: DecodeLimits): { settings: DecodedMessage['settings']; count: number; rawLength: number } {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('codec: message must be a Uint8Array');
  if (bytes.length < HEADER_BYTES)
    throw new CodecError(`codec: message of ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (bytes.length > lim.maxBytes) throw new CodecError(`codec: message of ${bytes.length} bytes is over the limit of ${lim.maxBytes}`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new CodecError('codec: not a fedhpo tensor message (bad magic)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const version = v.getUint8(4);
  if (version !== FORMAT_VERSION)
    throw new CodecError(`codec: unsupported format version ${version} (this decoder reads ${FORMAT_VERSION})`);
  const precision = keyOf(PRECISION_CODE, v.getUint8(5));
  if (!precision) throw new CodecError(`codec: unknown precision code ${v.getUint8(5)}`);
  const g = v.getUint8(6);
  const granularity = keyOf(GRANULARITY_CODE, g);
  if (precision === 'int8' ? !granularity : g !== 0) throw new CodecError(`codec: granularity code ${g} is invalid for ${precision}`);
  const compression = keyOf(COMPRESSION_CODE, v.getUint8(7));
  if (!compression) throw new CodecError(`codec: unknown compression code ${v.getUint8(7)}`);
  const count = v.getUint32(8, true);
  if (count > lim.maxTensors) throw new CodecError(`codec: ${count} tensors is over the limit of ${lim.maxTensors}`);
  const stored = v.getUint32(12, true);
  if (stored !== bytes.length - HEADER_BYTES)
    throw new CodecError(`codec: header says the body has ${stored} bytes but ${bytes.length - HEADER_BYTES} follow it`);
  const rawLength = v.getUint32(16, true);
  if (rawLength > lim.maxBytes) throw new CodecError(`codec: decompressed body of ${rawLength} bytes is over the limit of ${lim.maxBytes}`);
  if (compression === 'none' && rawLength !== stored)
    throw new CodecError(`codec: uncompressed body length ${rawLength} differs from the stored length ${stored}`);
  return { settings: { precision, ...(granularity ? { granularity } : {}), compression }, count, rawLength };
}

function inflate(stored: Uint8Array, rawLength: number): Uint8Array {
  if (rawLength === 0) throw new CodecError('codec: compressed message declares an empty body');
  let out: Buffer;
  try {
    // maxOutputLength stops a deflate bomb at the declared size instead of inflating it.
    out = inflateSync(stored, { maxOutputLength: rawLength });
  } catch (e) {
    throw new CodecError(`codec: cannot decompress the body: ${(e as Error).message}`);
  }
  if (out.length !== rawLength) throw new CodecError(`codec: body decompressed to ${out.length} bytes, header says ${rawLength}`);
  return out;
}

function readEntry(r: Reader, i: number, settings: DecodedMessage['settings'], lim: DecodeLimits, values: number): Entry {
  const { precision, granularity } = settings;
  const nameLength = r.u16(`tensor ${i} name length`);
  if (nameLength === 0 || nameLength > lim.maxNameBytes)
    throw new CodecError(`codec: tensor ${i} name length ${nameLength} is not in 1..${lim.maxNameBytes}`);
  let name: string;
  try {
    name = utf8.decode(r.bytesOf(nameLength, `tensor ${i} name`));
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError(`codec: tensor ${i} name is not valid UTF-8`);
  }
  const label = shown(name);
  const dtype = r.u8(`tensor '${label}' dtype`);
  if (!isDType(dtype)) throw new CodecError(`codec: tensor '${label}' has unknown dtype code ${dtype}`);
  const family = dtype === DTYPE.f32 ? 'fp32' : dtype === DTYPE.f16 ? 'fp16' : 'int8';
  if (family !== precision) throw new CodecError(`codec: tensor '${label}' is stored as ${family} in a ${precision} message`);
  if (dtype === DTYPE.i8Row && granularity !== 'channel')
    throw new CodecError(`codec: tensor '${label}' has per-row scales in a per-tensor int8 message`);
  const rank = r.u8(`tensor '${label}' rank`);
  if (rank > lim.maxRank) throw new CodecError(`codec: tensor '${label}' has rank ${rank}, over the limit of ${lim.maxRank}`);
  if (dtype === DTYPE.i8Row && rank < 1) throw new CodecError(`codec: tensor '${label}' has per-row scales but no rows`);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const dim = r.u32(`tensor '${label}' dimension ${d}`);
    if (dim === 0) throw new CodecError(`codec: tensor '${label}' has a zero dimension`);
    count *= dim; // checked at every factor, so an absurd shape stops before its product grows
    if (values + count > lim.maxValues)
      throw new CodecError(`codec: tensor '${label}' takes the value count over the limit of ${lim.maxValues}`);
    shape.push(dim);
  }
  const nScales = dtype === DTYPE.i8Tensor ? 1 : dtype === DTYPE.i8Row ? shape[0]! : 0;
  if (4 * nScales > r.left) throw new CodecError(`codec: truncated body: tensor '${label}' needs ${nScales} scales`);
  const scales = new Float32Array(nScales);
  for (let k = 0; k < nScales; k++) {
    const s = r.f32(`tensor '${label}' scale`);
    if (!(Number.isFinite(s) && s >= 0))
      throw new CodecError(`codec: tensor '${label}' has an invalid scale ${s} (scales must be finite and >= 0)`);
    scales[k] = s;
  }
  const offset = r.u32(`tensor '${label}' data offset`);
  return { name, label, dtype, shape, count, scales, offset };
}

function readValues(e: Entry, src: Uint8Array): Float32Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Float32Array(e.count);
  const bad = (i: number, what: string) => new CodecError(`codec: tensor '${e.label}' holds ${what} at index ${i}`);
  const nonFinite = (i: number, what: string) => new NonFiniteValueError(`codec: tensor '${e.label}' holds ${what} at index ${i}`);
  switch (e.dtype) {
    case DTYPE.f32:
      for (let i = 0; i < e.count; i++) {
        const x = view.getFloat32(4 * i, true);
        if (!Number.isFinite(x)) throw nonFinite(i, String(x));
        out[i] = x;
      }
      break;
    case DTYPE.f16:
      for (let i = 0; i < e.count; i++) {
        const h = view.getUint16(2 * i, true);
        if ((h & 0x7c00) === 0x7c00) throw nonFinite(i, 'an fp16 infinity or NaN');
        out[i] = f16ToF32(h);
      }
      break;
    default: {
      const size = e.count / e.scales.length;
      for (let i = 0; i < e.count; i++) {
        const q = view.getInt8(i);
        if (q === -128) throw bad(i, 'int8 -128 (symmetric int8 uses -127..127)');
        out[i] = q * e.scales[Math.floor(i / size)]!;
      }
    }
  }
  return out;
}

/** Decodes a message; throws CodecError for anything malformed or beyond `limits`. */
export function decodeTensors(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): DecodedMessage {
  const lim = { ...DEFAULT_DECODE_LIMITS, ...limits };
  const { settings, count, rawLength } = readHeader(bytes, lim);
  const stored = bytes.subarray(HEADER_BYTES);
  const body = settings.compression === 'deflate' ? inflate(stored, rawLength) : stored;

  const r = new Reader(body);
  const entries: Entry[] = [];
  const names = new Set<string>();
  let values = 0;
  let dataBytes = 0;
  for (let i = 0; i < count; i++) {
    const e = readEntry(r, i, settings, lim, values);
    if (names.has(e.name)) throw new CodecError(`codec: tensor '${e.label}' appears twice`);
    names.add(e.name);
    if (e.offset !== dataBytes)
      throw new CodecError(`codec: tensor '${e.label}' data offset ${e.offset}, expected ${dataBytes} (tensors must tile the data)`);
    values += e.count;
    dataBytes += e.count * BYTES_PER_VALUE[e.dtype];
    entries.push(e);
  }
  const data = body.subarray(r.pos);
  if (data.length !== dataBytes) throw new CodecError(`codec: data section has ${data.length} bytes, the tensors need ${dataBytes}`);

  const tensors: NamedTensors = new Map();
  for (const e of entries) {
    const size = e.count * BYTES_PER_VALUE[e.dtype];
    tensors.set(e.name, { shape: e.shape, data: readValues(e, data.subarray(e.offset, e.offset + size)) });
  }
  return { tensors, settings };
}
