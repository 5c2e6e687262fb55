// Turning a client's update payload into a delta the server may add to its global adapter, or a
// MessageRejected saying why not: too many bytes, undecodable, wrong tensor names or shapes, NaN/Inf.
// Decoding is bounded by the global adapter's own size, so hostile bytes cost no more than an honest update.
import { CodecError, type DecodeLimits, decodeTensors, NonFiniteValueError } from '../fl/codec/codec.js';
import { checkFinite, checkSameLayout, countValues, type NamedTensors, TensorLayoutError } from '../fl/tensors.js';
import { MessageRejected } from './messages.js';

/** The most bytes an honest update of `global` can take: fp32, uncompressed, with generous room for names and scales. */
export function maxUpdateBytes(global: NamedTensors): number {
  let scales = 0;
  for (const t of global.values()) scales += 4 * (t.shape[0] ?? 1);
  const values = countValues(global);
  return Math.ceil(values * 4 * 1.01) + scales + global.size * 1024 + 4096;
}

export function updateDecodeLimits(global: NamedTensors): DecodeLimits {
  return { maxBytes: maxUpdateBytes(global), maxTensors: global.size, maxNameBytes: 512, maxRank: 8, maxValues: countValues(global) };
}

/** The delta in `payload`, checked against the layout of `global`. */
export function admitDelta(global: NamedTensors, payload: Uint8Array, limits: DecodeLimits, who: string): NamedTensors {
  if (payload.byteLength > limits.maxBytes)
    throw new MessageRejected(
      'oversized',
      `${who}: ${payload.byteLength} tensor bytes, over the ${limits.maxBytes} an update of this adapter can take`,
    );
  let delta: NamedTensors;
  try {
    delta = decodeTensors(payload, limits).tensors;
  } catch (e) {
    if (e instanceof NonFiniteValueError) throw new MessageRejected('non-finite', `${who}: ${e.message}`);
    if (e instanceof CodecError) throw new MessageRejected('bad-tensors', `${who}: ${e.message}`);
    throw e;
  }
  try {
    checkSameLayout(global, delta, who);
  } catch (e) {
    if (e instanceof TensorLayoutError) throw new MessageRejected('bad-shape', e.message);
    throw e;
  }
  try {
    checkFinite(delta, who);
  } catch (e) {
    if (e instanceof TensorLayoutError) throw new MessageRejected('non-finite', e.message);
    throw e;
  }
  return delta;
}
