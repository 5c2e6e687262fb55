// Named tensors -> bytes in the format of format.ts.
import { deflateSync } from 'node:zlib';
import { f32ToF16Bits } from '../../model/safetensors.js';
import type { NamedTensors } from '../tensors.js';
import {
  COMPRESSION_CODE,
  CodecError,
  type CodecSettings,
  DTYPE,
  type DTypeCode,
  DEFAULT_DECODE_LIMITS,
  FORMAT_VERSION,
  GRANULARITY_CODE,
  HEADER_BYTES,
  MAGIC,
  PRECISION_CODE,
  type ResolvedCodecSettings,
  resolveSettings,
} from './format.js';
import { quantizeInt8 } from './quantize.js';

interface EncodedTensor {
  name: Uint8Array;
  dtype: DTypeCode;
  shape: readonly number[];
  scales: Float32Array;
  payload: Uint8Array;
}

const utf8 = new TextEncoder();
const F16_MAX = 65504;

function encodeValues(name: string, shape: readonly number[], data: Float32Array, s: ResolvedCodecSettings): EncodedTensor {
  const nameBytes = utf8.encode(name);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]!)) throw new CodecError(`codec: tensor '${name}' holds ${data[i]} at index ${i}`);
  if (s.precision === 'fp32') {
    const payload = new Uint8Array(data.length * 4);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
    return { name: nameBytes, dtype: DTYPE.f32, shape, scales: new Float32Array(0), payload };
  }
  if (s.precision === 'fp16') {
    const payload = new Uint8Array(data.length * 2);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < data.length; i++) {
      const bits = f32ToF16Bits(data[i]!);
      // Rounding to nearest may still land on infinity just above 65504: refuse rather than send inf.
      if ((bits & 0x7c00) === 0x7c00)
        throw new CodecError(`codec: tensor '${name}' value ${data[i]} at index ${i} is outside the fp16 range (±${F16_MAX})`);
      view.setUint16(2 * i, bits, true);
    }
    return { name: nameBytes, dtype: DTYPE.f16, shape, scales: new Float32Array(0), payload };
  }
  const perRow = s.granularity === 'channel' && shape.length >= 2;
  const { q, scales } = quantizeInt8(data, perRow ? shape[0]! : 1);
  return {
    name: nameBytes,
    dtype: perRow ? DTYPE.i8Row : DTYPE.i8Tensor,
    shape,
    scales,
    payload: new Uint8Array(q.buffer, q.byteOffset, q.byteLength),
  };
}

function checkInput(tensors: NamedTensors): void {
  const lim = DEFAULT_DECODE_LIMITS;
  // Refuse what a default decoder would refuse: a message must always decode.
  if (tensors.size > lim.maxTensors) throw new CodecError(`codec: ${tensors.size} tensors is over the limit of ${lim.maxTensors}`);
  let values = 0;
  for (const [name, t] of tensors) {
    const n = utf8.encode(name).length;
    if (n === 0 || n > lim.maxNameBytes)
      throw new CodecError(`codec: tensor name '${name.slice(0, 80)}' must have 1..${lim.maxNameBytes} UTF-8 bytes`);
    if (t.shape.length > lim.maxRank) throw new CodecError(`codec: tensor '${name}' has rank ${t.shape.length}, over ${lim.maxRank}`);
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) throw new CodecError(`codec: tensor '${name}' has an invalid dimension ${d}`);
      count *= d;
    }
    if (count !== t.data.length) throw new CodecError(`codec: tensor '${name}' has shape [${t.shape}] but ${t.data.length} values`);
    values += count;
  }
  if (values > lim.maxValues) throw new CodecError(`codec: ${values} values is over the limit of ${lim.maxValues}`);
}

/** Encodes named tensors (in the Map's order). Throws CodecError for non-finite values or fp16 overflow. */
export function encodeTensors(tensors: NamedTensors, settings: CodecSettings): Uint8Array {
  const s = resolveSettings(settings);
  checkInput(tensors);
  const entries = [...tensors].map(([name, t]) => encodeValues(name, t.shape, t.data, s));

  let tableBytes = 0;
  let dataBytes = 0;
  for (const e of entries) {
    tableBytes += 2 + e.name.length + 2 + 4 * e.shape.length + 4 * e.scales.length + 4;
    dataBytes += e.payload.length;
  }
  const raw = new Uint8Array(tableBytes + dataBytes);
  const view = new DataView(raw.buffer);
  let pos = 0;
  let offset = 0;
  for (const e of entries) {
    view.setUint16(pos, e.name.length, true);
    raw.set(e.name, pos + 2);
    pos += 2 + e.name.length;
    view.setUint8(pos++, e.dtype);
    view.setUint8(pos++, e.shape.length);
    for (const d of e.shape) view.setUint32((pos += 4) - 4, d, true);
    for (const sc of e.scales) view.setFloat32((pos += 4) - 4, sc, true);
    view.setUint32(pos, offset, true);
    pos += 4;
    offset += e.payload.length;
  }
  for (const e of entries) {
    raw.set(e.payload, pos);
    pos += e.payload.length;
  }

  const body = s.compression === 'deflate' ? deflateSync(raw, { level: s.level }) : raw;
  if (HEADER_BYTES + body.length > DEFAULT_DECODE_LIMITS.maxBytes || raw.length > DEFAULT_DECODE_LIMITS.maxBytes)
    throw new CodecError(`codec: message of ${raw.length} bytes is over the limit of ${DEFAULT_DECODE_LIMITS.maxBytes}`);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const hv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  hv.setUint8(4, FORMAT_VERSION);
  hv.setUint8(5, PRECISION_CODE[s.precision]);
  hv.setUint8(6, s.granularity ? GRANULARITY_CODE[s.granularity] : 0);
  hv.setUint8(7, COMPRESSION_CODE[s.compression]);
  hv.setUint32(8, entries.length, true);
  hv.setUint32(12, body.length, true);
  hv.setUint32(16, raw.length, true);
  out.set(body, HEADER_BYTES);
  return out;
}
