// The wire format of named tensors (v1), all integers little-endian:
//
//   header, 20 bytes
//     0  4  magic "FHTN"
//     4  u8 format version (1)
//     5  u8 precision          1 fp32 | 2 fp16 | 3 int8
//     6  u8 int8 granularity   0 (not int8) | 1 per tensor | 2 per output channel
//     7  u8 compression        0 none | 1 deflate (a zlib stream, RFC 1950, checksummed)
//     8  u32 tensor count
//    12  u32 body length as stored (exactly the bytes that follow the header)
//    16  u32 body length after decompression (= stored length when not compressed)
//   body
//     table, one entry per tensor:
//       u16 name length, UTF-8 name
//       u8 dtype (1 f32 | 2 f16 | 3 i8, one scale | 4 i8, one scale per row), u8 rank, u32 dims[rank]
//       f32 scales[0 | 1 | dims[0]]   (int8 only; value = q * scale, q in [-127, 127])
//       u32 data offset from the start of the data section
//     data section: each tensor's values in table order, row-major; the tensors tile the section
//     exactly (each offset is the previous end, the last end is the end of the body).
//
// The decoder needs no side information; the header's settings say how the message was made and
// each tensor's dtype must belong to them.
import { z } from 'zod';
import { UserError } from '../../engine/errors.js';

/** Every problem with encoding or decoding a message; the message names the problem (and tensor). */
export class CodecError extends UserError {
  override name = 'CodecError';
}

/** A well-formed message whose values include NaN or an infinity (a receiver may count these apart). */
export class NonFiniteValueError extends CodecError {
  override name = 'NonFiniteValueError';
}

export const MAGIC = Uint8Array.of(0x46, 0x48, 0x54, 0x4e); // "FHTN"
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 20;

export const PRECISION_CODE = { fp32: 1, fp16: 2, int8: 3 } as const;
export const GRANULARITY_CODE = { tensor: 1, channel: 2 } as const;
export const COMPRESSION_CODE = { none: 0, deflate: 1 } as const;
/** Storage type of one tensor. */
export const DTYPE = { f32: 1, f16: 2, i8Tensor: 3, i8Row: 4 } as const;
export type DTypeCode = (typeof DTYPE)[keyof typeof DTYPE];
export const BYTES_PER_VALUE: Record<DTypeCode, number> = { 1: 4, 2: 2, 3: 1, 4: 1 };

export type Precision = keyof typeof PRECISION_CODE;
export type Int8Granularity = keyof typeof GRANULARITY_CODE;
export type Compression = keyof typeof COMPRESSION_CODE;

/** How to encode. (Snake case keys are not used here: configs map onto this through CodecSettingsSchema.) */
export interface CodecSettings {
  precision: Precision;
  /**
   * int8 only. 'channel': one scale per output channel = per row (axis 0) of every tensor of rank >= 2,
   * the axis along which each factor's own linear map produces outputs. lora_A [r, in] gets one scale
   * per rank component (its rows are the input directions each component reads; their norms drift
   * apart in training) for r * 4 bytes; lora_B [out, r] gets one per output feature of W (where
   * transformers' outlier features live), for out * 4 bytes, i.e. 4/r bytes per value: +25 % bytes
   * on the reference adapter for ~20 % less error (bench/codec.ts). Tensors of rank < 2 use one
   * scale. Default 'channel'.
   */
  granularity?: Int8Granularity;
  /** Default 'none'. */
  compression?: Compression;
  /** zlib level 1..9 for deflate (default 6). */
  level?: number;
}

export interface ResolvedCodecSettings {
  precision: Precision;
  /** Present only for int8. */
  granularity?: Int8Granularity;
  compression: Compression;
  level: number;
}

/** The codec block of a config file. */
export const CodecSettingsSchema = z
  .object({
    precision: z.enum(['fp32', 'fp16', 'int8']).default('fp32'),
    granularity: z.enum(['tensor', 'channel']).default('channel'),
    compression: z.enum(['none', 'deflate']).default('none'),
    level: z.number().int().min(1).max(9).default(6),
  })
  .strict();

export function resolveSettings(s: CodecSettings): ResolvedCodecSettings {
  if (!Object.hasOwn(PRECISION_CODE, s.precision)) throw new CodecError(`codec: unknown precision '${String(s.precision)}'`);
  const compression = s.compression ?? 'none';
  if (!Object.hasOwn(COMPRESSION_CODE, compression)) throw new CodecError(`codec: unknown compression '${String(compression)}'`);
  const granularity = s.granularity ?? 'channel';
  if (!Object.hasOwn(GRANULARITY_CODE, granularity)) throw new CodecError(`codec: unknown int8 granularity '${String(granularity)}'`);
  const level = s.level ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new CodecError(`codec: deflate level must be an integer in 1..9, got ${level}`);
  return { precision: s.precision, ...(s.precision === 'int8' ? { granularity } : {}), compression, level };
}

/** What a decoder accepts: every bound is checked before anything of that size is allocated. */
export interface DecodeLimits {
  /** Message length and body length after decompression, in bytes. */
  maxBytes: number;
  maxTensors: number;
  /** UTF-8 bytes of one tensor name. */
  maxNameBytes: number;
  maxRank: number;
  /** Values over all tensors (the decoded message holds 4 bytes per value). */
  maxValues: number;
}

/**
 * Room for a 7B model's LoRA (r = 8 on q/v: 4.2 M values, 17 MB as fp32) several times over; a
 * server that knows its adapter passes tighter limits.
 */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxBytes: 256 * 2 ** 20,
  maxTensors: 10_000,
  maxNameBytes: 512,
  maxRank: 8,
  maxValues: 64 * 2 ** 20,
};
