// A codec bound to one set of settings and decode limits: what a client or server keeps for a run.
// Decoding ignores the codec's own settings: messages describe themselves, so a server decodes
// whatever precision a client chose (the caller may still insist on one).
import type { NamedTensors } from '../tensors.js';
import { type DecodedMessage, decodeTensors } from './decode.js';
import { encodeTensors } from './encode.js';
import { type CodecSettings, type DecodeLimits, DEFAULT_DECODE_LIMITS, type ResolvedCodecSettings, resolveSettings } from './format.js';

export class Codec {
  readonly settings: ResolvedCodecSettings;
  readonly limits: DecodeLimits;

  constructor(settings: CodecSettings = { precision: 'fp32' }, limits: Partial<DecodeLimits> = {}) {
    this.settings = resolveSettings(settings);
    this.limits = { ...DEFAULT_DECODE_LIMITS, ...limits };
  }

  encode(tensors: NamedTensors): Uint8Array {
    return encodeTensors(tensors, this.settings);
  }

  decode(bytes: Uint8Array): DecodedMessage {
    return decodeTensors(bytes, this.limits);
  }
}

export { CodecError, CodecSettingsSchema, DEFAULT_DECODE_LIMITS, NonFiniteValueError } from './format.js';
export type { CodecSettings, Compression, DecodeLimits, Int8Granularity, Precision, ResolvedCodecSettings } from './format.js';
export { decodeTensors, type DecodedMessage } from './decode.js';
export { encodeTensors } from './encode.js';
