// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
//
//   [8 bytes: little-endian u64 N][N bytes: JSON header][data buffer]
//
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
// the start of the data buffer) and may hold a "__metadata__" object of string -> string.
// Reading converts the supported dtypes to Float32Array and validates the file as strictly as the
// reference implementation: tensors must tile the data buffer exactly (no overlap, no gap, no
// trailing bytes), and every tensor's byte range must match shape x dtype size. Writing emits F32
// (or F16 on request, rounded to nearest even), tensors ordered by name, header padded with spaces
// to 8-byte alignment, like the reference serializer.
//
// Files are read header first: the header is parsed and checked (by this module, then by the
// caller against what it expects, e.g. a config's tensor names and shapes) before any tensor data
// is read or allocated, so a lying header costs nothing but its own bytes.
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../engine/errors.js';
import { withRegularFile, type RegularFile } from '../engine/files.js';
import { previewJson } from '../engine/json.js';

export class CheckpointError extends UserError {
  override name = 'CheckpointError';
}

/** dtypes this module can read (and convert to float32). Writing uses F32 or F16 (WriteDType). */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
const isDType = (s: string): s is SafetensorsDType => Object.hasOwn(DTYPE_BYTES, s);

export interface TensorF32 {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  /** Tensors converted to float32, in data-buffer order. */
  tensors: Map<string, TensorF32>;
  /** The "__metadata__" entry ({} when absent). */
  metadata: Record<string, string>;
  /** dtype each tensor was stored as. */
  dtypes: Map<string, SafetensorsDType>;
}

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** Offsets relative to the start of the data buffer. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Entries in data-buffer order. */
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute byte offset of the data buffer (8 + header length). */
  dataStart: number;
}

/**
 * Header size cap. The reference allows 100 MB; a LLaMA checkpoint's header is ~100 bytes per
 * tensor (LLaMA-3.1 405B: 1,137 tensors, ~150 KB), so 16 MiB is 100x that and bounds what parsing
 * a hostile header costs.
 */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

/** Default size cap of a safetensors file: 32 GiB (an 8B model in bfloat16 is 16 GB). */
export const MAX_SAFETENSORS_BYTES = 32 * 2 ** 30;

/** A tensor name in quotes for a message, cut when a hostile header makes it absurdly long. */
export const quote = (name: string): string => (name.length > 200 ? `'${name.slice(0, 197)}...'` : `'${name}'`);

/** A shape as `[a,b]` for a message, cut after 8 dimensions (a hostile header may list millions). */
export const shapeText = (shape: readonly number[]): string => (shape.length > 8 ? `[${shape.slice(0, 8)},...]` : `[${shape}]`);

const fmtShape = (shape: number[]) => (shape.length > 16 ? `[${shape.slice(0, 16).join(', ')}, ...]` : `[${shape.join(', ')}]`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Parses and validates the header without converting any tensor data. */
export function parseSafetensorsHeader(bytes: Uint8Array, file = '<buffer>'): SafetensorsHeader {
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, file);
  return parseHeaderJson(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, file);
}

/** The header length the first 8 bytes give, checked against the file's size and MAX_HEADER_BYTES. */
function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const available = fileSize - 8;
  if (n64 > BigInt(available)) {
    fail(`header length ${n64} exceeds the ${available} bytes that follow it (truncated or not a safetensors file)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  return n;
}

/** Parses the JSON header (`header` holds its bytes) of a file whose data buffer has `dataLength` bytes. */
function parseHeaderJson(header: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(header);
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header does not start with '{' (not a safetensors file?)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) return fail('header is not a JSON object');

  let metadata: Record<string, string> = {};
  const raw: [string, SafetensorsEntry][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!isPlainObject(value)) fail(`"__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`"__metadata__" entry '${k}' must be a string, got ${previewJson(v)}`);
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    const where = `tensor ${quote(name)}`;
    if (!isPlainObject(value)) return fail(`${where}: header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') fail(`${where}: missing or non-string dtype`);
    if (!isDType(dtype as string)) {
      fail(`${where}: unknown or unsupported dtype ${previewJson(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      fail(`${where}: shape must be an array of non-negative integers, got ${previewJson(shape)}`);
    }
    if (offsets === undefined) fail(`${where}: missing data_offsets`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
      fail(`${where}: data_offsets must be [begin, end] with non-negative integers, got ${previewJson(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const dt = dtype as SafetensorsDType;
    const shp = shape as number[];
    const expected = elementCount(shp) * DTYPE_BYTES[dt];
    if (!Number.isSafeInteger(expected)) fail(`${where}: shape ${fmtShape(shp)} is too large`);
    if (end - begin !== expected) {
      fail(`${where} expects ${expected} bytes (shape ${fmtShape(shp)}, ${dt}) but data_offsets give ${end - begin}`);
    }
    raw.push([name, { dtype: dt, shape: [...shp], begin, end }]);
  }

  // Tensors must tile the data buffer: sorted by offset, each starts where the previous ended.
  const dataStart = 8 + header.byteLength;
  raw.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let cursor = 0;
  let prev: string | undefined;
  for (const [name, e] of raw) {
    if (e.end > dataLength) {
      fail(`tensor ${quote(name)} data_offsets [${e.begin}, ${e.end}] exceed the ${dataLength}-byte data buffer (truncated file?)`);
    }
    if (e.begin < cursor) {
      fail(`tensor ${quote(name)} data_offsets [${e.begin}, ${e.end}] overlap tensor ${quote(prev!)} (which ends at ${cursor})`);
    }
    if (e.begin > cursor) {
      fail(
        `tensor ${quote(name)} data_offsets [${e.begin}, ${e.end}] leave a gap after ${prev ? `tensor ${quote(prev)}` : 'the header'} (expected begin ${cursor})`,
      );
    }
    cursor = e.end;
    prev = name;
  }
  if (cursor !== dataLength) {
    fail(`data buffer is ${dataLength} bytes but tensors cover only ${cursor} (trailing bytes)`);
  }
  return { entries: new Map(raw), metadata, dataStart };
}

// ---------------------------------------------------------------------------------------------
// Half-precision decoding.

/** float32 bit pattern of an IEEE binary16 value (exact: every f16 is representable in f32). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / nan (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 -> 127
  if (mant === 0) return sign >>> 0; // +-0
  // Subnormal 0.mant * 2^-14: normalise into an f32 normal.
  let e = 113; // 127 - 14
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let f16Table: Float32Array | undefined;
function getF16Table(): Float32Array {
  if (!f16Table) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
    f16Table = new Float32Array(bits.buffer);
  }
  return f16Table;
}

/** Decodes one IEEE binary16 bit pattern. */
export function f16ToF32(bits: number): number {
  return getF16Table()[bits & 0xffff]!;
}

/** Decodes one bfloat16 bit pattern (the upper half of a float32). */
export function bf16ToF32(bits: number): number {
  const u = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0]!;
}

// ---------------------------------------------------------------------------------------------
// Reading.

function convert(name: string, e: SafetensorsEntry, src: Uint8Array, file: string): Float32Array {
  const count = elementCount(e.shape);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Float32Array(count);
  switch (e.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16': {
      const table = getF16Table();
      const o = new Uint32Array(out.buffer);
      const t = new Uint32Array(table.buffer);
      for (let i = 0; i < count; i++) o[i] = t[view.getUint16(2 * i, true)]!;
      break;
    }
    case 'BF16': {
      const o = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) o[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'I32':
      for (let i = 0; i < count; i++) {
        const v = view.getInt32(4 * i, true);
        if (Math.abs(v) > 2 ** 24) throw inexact(file, name, e.dtype, v);
        out[i] = v;
      }
      break;
    case 'I64':
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2n ** 24n || v < -(2n ** 24n)) throw inexact(file, name, e.dtype, v);
        out[i] = Number(v);
      }
      break;
  }
  return out;
}

const inexact = (file: string, name: string, dtype: string, v: number | bigint) =>
  new CheckpointError(`${file}: tensor '${name}' (${dtype}) holds ${v}, which float32 cannot represent exactly`);

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parses a safetensors buffer, converting every tensor to float32 (F16/BF16/F64 exactly or rounded
 * to nearest; I32/I64 only when exactly representable). Returned arrays never alias `bytes`.
 */
export function readSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, TensorF32>();
  const dtypes = new Map<string, SafetensorsDType>();
  for (const [name, e] of header.entries) {
    const src = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    tensors.set(name, { shape: [...e.shape], data: convert(name, e, src, file) });
    dtypes.set(name, e.dtype);
  }
  return { tensors, metadata: header.metadata, dtypes };
}

// ---------------------------------------------------------------------------------------------
// Writing.

export type TensorsInput = Map<string, TensorF32> | Record<string, TensorF32>;

const utf8 = new TextEncoder();

/** Byte-wise UTF-8 order, as the reference (Rust String ordering) sorts names. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** float32 -> IEEE half bits, round to nearest even (overflow to inf, NaN kept). */
export function f32ToF16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  const bits = U32_SCRATCH[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}
const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

export type WriteDType = 'F32' | 'F16';

/**
 * Serialises float32 tensors (sorted by name; stored as F32, or F16 to halve the size) with
 * optional string metadata. `file` only labels error messages.
 */
export function writeSafetensors(
  tensors: TensorsInput,
  metadata?: Record<string, string>,
  file = '<buffer>',
  dtype: WriteDType = 'F32',
): Uint8Array {
  const width = dtype === 'F16' ? 2 : 4;
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort((a, b) => compareUtf8(a[0], b[0]));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail('metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`metadata entry '${k}' must be a string, got ${typeof v}`);
    }
    if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') fail(`'__metadata__' is reserved and cannot name a tensor`);
    if (name.length === 0) fail('tensor names must be non-empty');
    if (!t || !(t.data instanceof Float32Array)) return fail(`tensor '${name}': data must be a Float32Array`);
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt)) {
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    const count = elementCount(t.shape);
    if (count !== t.data.length) {
      fail(`tensor '${name}': shape ${fmtShape(t.shape)} has ${count} elements but data has ${t.data.length}`);
    }
    const size = count * width;
    // Object.defineProperty so that a tensor named e.g. "__proto__" is an own JSON key.
    Object.defineProperty(header, name, {
      value: { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    offset += size;
  }

  const json = utf8.encode(JSON.stringify(header));
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    if (dtype === 'F16') {
      const view = new DataView(out.buffer);
      for (let i = 0; i < t.data.length; i++) view.setUint16(pos + 2 * i, f32ToF16Bits(t.data[i]!), true);
      pos += t.data.length * 2;
      continue;
    }
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    } else {
      const view = new DataView(out.buffer);
      for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i]!, true);
    }
    pos += t.data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files.

export interface LoadOptions {
  /** Refuse larger files (default MAX_SAFETENSORS_BYTES). */
  maxBytes?: number;
  /**
   * Checks the parsed header (names, shapes, dtypes) before any tensor data is read; throws to
   * refuse the file.
   */
  checkHeader?: (header: SafetensorsHeader) => void;
  /** Refuse NaN and +-Infinity (after conversion to float32), naming the tensor and the first bad index. */
  requireFinite?: boolean;
}

/**
 * Reads and parses a safetensors file (a regular file only), header first: the header is
 * validated, then checked by options.checkHeader, and only then is each tensor read and converted
 * to float32, one at a time. Errors are UserErrors naming `path`.
 */
export async function loadSafetensorsFile(path: string, options: LoadOptions = {}): Promise<SafetensorsFile> {
  return withRegularFile(path, { maxBytes: options.maxBytes ?? MAX_SAFETENSORS_BYTES }, async (f) => {
    const header = await readHeader(f);
    options.checkHeader?.(header);
    const tensors = new Map<string, TensorF32>();
    const dtypes = new Map<string, SafetensorsDType>();
    for (const [name, e] of header.entries) {
      const data = await readTensor(f, header.dataStart, name, e);
      if (options.requireFinite) assertFinite(path, name, e.shape, data);
      tensors.set(name, { shape: [...e.shape], data });
      dtypes.set(name, e.dtype);
    }
    return { tensors, metadata: header.metadata, dtypes };
  });
}

/** The validated header of an open file: reads only its 8 + N header bytes. */
async function readHeader(f: RegularFile): Promise<SafetensorsHeader> {
  const first8 = new Uint8Array(Math.min(8, f.size));
  await f.readInto(first8, 0);
  const n = headerLength(first8, f.size, f.path);
  const header = new Uint8Array(n);
  await f.readInto(header, 8);
  return parseHeaderJson(header, f.size - 8 - n, f.path);
}

/** One tensor of an open file as float32: F32 is read straight into the result, others via their bytes. */
async function readTensor(f: RegularFile, dataStart: number, name: string, e: SafetensorsEntry): Promise<Float32Array> {
  if (e.dtype === 'F32' && LITTLE_ENDIAN_HOST) {
    const out = new Float32Array(elementCount(e.shape));
    await f.readInto(new Uint8Array(out.buffer), dataStart + e.begin);
    return out;
  }
  const src = new Uint8Array(e.end - e.begin);
  await f.readInto(src, dataStart + e.begin);
  return convert(name, e, src, f.path);
}

/** Throws a CheckpointError naming the tensor and the (multi-dimensional) index of its first NaN/Inf. */
export function assertFinite(file: string, name: string, shape: number[], data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    // x - x is 0 for every finite x and NaN for NaN and +-Infinity.
    if (x - x === 0) continue;
    const index: number[] = [];
    let rest = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      index.unshift(rest % shape[d]!);
      rest = Math.floor(rest / shape[d]!);
    }
    throw new CheckpointError(
      `${file}: tensor ${quote(name)} holds ${x} at index [${index.join(', ')}] (element ${i} of ${data.length}); weights must be finite`,
    );
  }
}

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file in the same directory,
 * are fsynced, then renamed over `path` (so readers never see a partial checkpoint). Creates the
 * parent directory if needed.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: TensorsInput,
  metadata?: Record<string, string>,
  dtype: WriteDType = 'F32',
): Promise<void> {
  const bytes = writeSafetensors(tensors, metadata, path, dtype);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw new CheckpointError(`${path}: cannot write file: ${(e as Error).message}`, { cause: e });
  }
}
