// The tensor codec: exact fp32, fp16 within half precision, int8 within scale/2 per element (per
// tensor and per output channel), deflate, the self-describing header, and hostile messages (crafted
// by hand from the documented layout) that must each fail with one CodecError naming the problem.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { Codec, CodecError, type CodecSettings, decodeTensors, encodeTensors } from '../../src/fl/codec/codec.js';
import { int8Scale } from '../../src/fl/codec/quantize.js';
import { countValues, type NamedTensors } from '../../src/fl/tensors.js';
import { f16ToF32, f32ToF16Bits } from '../../src/model/safetensors.js';
import { realisticAdapter, tensorsOf } from './fl-fixtures.js';

const roundTrip = (t: NamedTensors, s: CodecSettings): NamedTensors => decodeTensors(encodeTensors(t, s)).tensors;

function expectSameLayout(a: NamedTensors, b: NamedTensors): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) expect(b.get(k)!.shape).toEqual(t.shape);
}

/** Largest |x| of each row (rows = shape[0] for rank >= 2, else the whole tensor). */
function rowMaxAbs(t: { shape: number[]; data: Float32Array }, perRow: boolean): number[] {
  const rows = perRow && t.shape.length >= 2 ? t.shape[0]! : 1;
  const size = t.data.length / rows;
  return Array.from({ length: rows }, (_, r) => Math.max(...Array.from(t.data.subarray(r * size, (r + 1) * size), Math.abs)));
}

describe('round trips', () => {
  const adapter = realisticAdapter();

  it('fp32 is exact, including -0, subnormals and the largest float32', () => {
    const special = tensorsOf({ s: { shape: [5], data: [-0, 1e-45, -3.4028234663852886e38, 1 / 3, 0] } });
    for (const t of [adapter, special]) {
      for (const compression of ['none', 'deflate'] as const) {
        const back = roundTrip(t, { precision: 'fp32', compression });
        expectSameLayout(t, back);
        for (const [k, v] of t) expect(Object.is(back.get(k)!.data[0], v.data[0])).toBe(true);
        for (const [k, v] of t) expect(back.get(k)!.data).toEqual(v.data);
      }
    }
  });

  it('fp16 is round-to-nearest half precision: relative error <= 2^-11 (normals), absolute <= 2^-25 (subnormals)', () => {
    const back = roundTrip(adapter, { precision: 'fp16' });
    expectSameLayout(adapter, back);
    for (const [k, t] of adapter) {
      const b = back.get(k)!.data;
      for (let i = 0; i < t.data.length; i++) {
        const x = t.data[i]!;
        expect(b[i]).toBe(f16ToF32(f32ToF16Bits(x))); // the project's one f16 conversion
        const bound = Math.abs(x) >= 2 ** -14 ? Math.abs(x) * 2 ** -11 : 2 ** -25;
        expect(Math.abs(b[i]! - x)).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('fp16 refuses values beyond ±65504 instead of sending infinity', () => {
    expect(() => encodeTensors(tensorsOf({ w: { shape: [2], data: [1, 65520] } }), { precision: 'fp16' })).toThrow(
      /outside the fp16 range/,
    );
    expect(roundTrip(tensorsOf({ w: { shape: [1], data: [-65504] } }), { precision: 'fp16' }).get('w')!.data[0]).toBe(-65504);
  });

  for (const granularity of ['tensor', 'channel'] as const)
    it(`int8 per ${granularity}: |x - x'| <= scale/2 for every element, scale = max|x| / 127 of its group`, () => {
      for (const compression of ['none', 'deflate'] as const) {
        const back = roundTrip(adapter, { precision: 'int8', granularity, compression });
        expectSameLayout(adapter, back);
        for (const [k, t] of adapter) {
          const b = back.get(k)!.data;
          const maxAbs = rowMaxAbs(t, granularity === 'channel');
          const size = t.data.length / maxAbs.length;
          for (let i = 0; i < t.data.length; i++) {
            const scale = int8Scale(maxAbs[Math.floor(i / size)]!);
            // scale/2 from rounding to the grid, plus float32 rounding of q * scale (<= 2^-24 relative).
            expect(Math.abs(b[i]! - t.data[i]!)).toBeLessThanOrEqual((scale / 2) * (1 + 2 ** -16));
          }
        }
      }
    });

  it('int8 by hand: max |x| = 1.27 gives scale 0.01 and q = round(x / 0.01)', () => {
    const t = tensorsOf({ w: { shape: [4], data: [0.5, -1.27, 0.3, 0.004] } });
    // q = [50, -127, 30, 0] -> values [0.5, -1.27, 0.3, 0] (0.004 < scale/2 rounds to 0).
    const back = roundTrip(t, { precision: 'int8', granularity: 'tensor' }).get('w')!.data;
    expect([...back].map((x) => Number(x.toFixed(6)))).toEqual([0.5, -1.27, 0.3, 0]);
    expect(Math.fround(1.27 / 127)).toBeCloseTo(0.01, 9);
  });

  it('int8 per output channel keeps small rows precise where one scale per tensor loses them', () => {
    const rng = new Rng(3);
    const data = new Float32Array(2 * 64);
    rng.fillUniform(data.subarray(0, 64), -1, 1); // row 0: magnitude 1
    rng.fillUniform(data.subarray(64), -1e-3, 1e-3); // row 1: magnitude 1e-3
    const t = new Map([['w', { shape: [2, 64], data }]]);
    const err = (g: 'tensor' | 'channel') => {
      const b = roundTrip(t, { precision: 'int8', granularity: g }).get('w')!.data;
      return Math.max(...Array.from(data.subarray(64), (x, i) => Math.abs(b[64 + i]! - x)));
    };
    expect(err('channel') * 100).toBeLessThan(err('tensor'));
    expect(err('channel')).toBeLessThanOrEqual(1e-3 / 127 / 2 + 1e-12);
  });

  it('an all-zero tensor stays exactly zero under int8 (scale 0)', () => {
    const back = roundTrip(tensorsOf({ z: { shape: [3, 2], data: [0, 0, 0, 0, 0, 0] } }), { precision: 'int8' });
    expect([...back.get('z')!.data]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('the header describes the message: a decoder needs no settings', () => {
    for (const s of [
      { precision: 'fp32', compression: 'none' },
      { precision: 'fp16', compression: 'deflate' },
      { precision: 'int8', granularity: 'tensor', compression: 'none' },
      { precision: 'int8', granularity: 'channel', compression: 'deflate' },
    ] as const) {
      const got = new Codec({ precision: 'fp32' }).decode(new Codec(s).encode(adapter)).settings;
      expect(got).toEqual(s);
    }
  });

  it('encoding refuses NaN and infinity, naming the tensor', () => {
    for (const precision of ['fp32', 'fp16', 'int8'] as const) {
      expect(() => encodeTensors(tensorsOf({ bad: { shape: [2], data: [1, NaN] } }), { precision })).toThrow(/'bad' holds NaN at index 1/);
      expect(() => encodeTensors(tensorsOf({ bad: { shape: [1], data: [-Infinity] } }), { precision })).toThrow(CodecError);
    }
  });

  it('encoding refuses inconsistent shapes and empty names', () => {
    expect(() => encodeTensors(tensorsOf({ w: { shape: [2, 2], data: [1, 2, 3] } }), { precision: 'fp32' })).toThrow(
      /shape \[2,2\] but 3 values/,
    );
    expect(() => encodeTensors(tensorsOf({ '': { shape: [1], data: [1] } }), { precision: 'fp32' })).toThrow(/name/);
    expect(() => encodeTensors(tensorsOf({ w: { shape: [0], data: [] } }), { precision: 'fp32' })).toThrow(/invalid dimension 0/);
  });

  it('sizes for the reference adapter (r=8, q/v, d 256, 4 layers): fp16 halves fp32, int8 quarters it, deflate shrinks each', () => {
    const values = countValues(adapter); // 4 layers x 2 projections x (8x256 + 256x8) = 32768
    expect(values).toBe(32768);
    const size = (s: CodecSettings) => encodeTensors(adapter, s).length;
    const fp32 = size({ precision: 'fp32' });
    const fp16 = size({ precision: 'fp16' });
    const int8 = size({ precision: 'int8', granularity: 'tensor' });
    const int8c = size({ precision: 'int8', granularity: 'channel' });
    // Payload plus a table of 16 entries (~80 bytes each with the PEFT names).
    expect(fp32 - 4 * values).toBeLessThan(16 * 100 + 20);
    expect(fp16 - 2 * values).toBe(fp32 - 4 * values);
    expect(int8 - values).toBe(fp32 - 4 * values + 16 * 4); // one f32 scale per tensor
    // Per output channel: r scales per lora_A, out (256) per lora_B: 8 x (8 + 256) x 4 bytes more.
    expect(int8c - int8).toBe(8 * (8 + 256) * 4 - 16 * 4);
    for (const s of [{ precision: 'fp32' }, { precision: 'fp16' }, { precision: 'int8', granularity: 'tensor' }] as const)
      expect(size({ ...s, compression: 'deflate' })).toBeLessThan(size(s));
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile input. `craft` writes the documented layout by hand, independently of the encoder.

interface CraftEntry {
  name?: string;
  nameBytes?: Uint8Array;
  dtype?: number;
  shape?: number[];
  scales?: number[];
  offset?: number;
}
interface Craft {
  magic?: number[];
  version?: number;
  precision?: number;
  granularity?: number;
  compression?: number;
  count?: number;
  storedLength?: number;
  rawLength?: number;
  entries?: CraftEntry[];
  data?: Uint8Array;
  trailing?: number;
}

function craft(c: Craft): Uint8Array {
  const parts: number[] = [];
  const u16 = (x: number) => parts.push(x & 0xff, (x >>> 8) & 0xff);
  const u32 = (x: number) => parts.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff);
  const entries = c.entries ?? [{}];
  let offset = 0;
  for (const e of entries) {
    const name = e.nameBytes ?? new TextEncoder().encode(e.name ?? 'w');
    u16(name.length);
    parts.push(...name);
    parts.push(e.dtype ?? 1);
    const shape = e.shape ?? [2];
    parts.push(shape.length);
    for (const d of shape) u32(d);
    for (const s of e.scales ?? []) parts.push(...new Uint8Array(Float32Array.of(s).buffer));
    u32(e.offset ?? offset);
    offset += shape.reduce((a, b) => a * b, 1) * 4;
  }
  const data = c.data ?? new Uint8Array(Float32Array.of(1, 2).buffer);
  const raw = Uint8Array.from([...parts, ...data]);
  const body = c.compression === 1 ? deflateSync(raw) : raw;
  const out = new Uint8Array(20 + body.length + (c.trailing ?? 0));
  const v = new DataView(out.buffer);
  out.set(c.magic ?? [0x46, 0x48, 0x54, 0x4e]);
  v.setUint8(4, c.version ?? 1);
  v.setUint8(5, c.precision ?? 1);
  v.setUint8(6, c.granularity ?? 0);
  v.setUint8(7, c.compression ?? 0);
  v.setUint32(8, c.count ?? entries.length, true);
  v.setUint32(12, c.storedLength ?? body.length + (c.trailing ?? 0), true);
  v.setUint32(16, c.rawLength ?? raw.length, true);
  out.set(body, 20);
  return out;
}

const f32Bytes = (...xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

describe('hostile messages', () => {
  it('the hand-crafted baseline decodes (the layout is as documented)', () => {
    const { tensors } = decodeTensors(craft({}));
    expect([...tensors.get('w')!.data]).toEqual([1, 2]);
    const int8 = craft({
      precision: 3,
      granularity: 2,
      entries: [{ dtype: 4, shape: [2, 1], scales: [0.5, 2] }],
      data: Int8Array.from([3, -4]) as never,
    });
    expect([...decodeTensors(int8).tensors.get('w')!.data]).toEqual([1.5, -8]);
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['empty input', new Uint8Array(0), /shorter than the 20-byte header/],
    ['bad magic', craft({ magic: [0x50, 0x4b, 3, 4] }), /bad magic/],
    ['future version', craft({ version: 2 }), /unsupported format version 2/],
    ['unknown precision', craft({ precision: 9 }), /unknown precision code 9/],
    ['granularity on fp32', craft({ granularity: 1 }), /granularity code 1 is invalid for fp32/],
    ['unknown compression', craft({ compression: 7 }), /unknown compression code 7/],
    ['too many tensors', craft({ count: 0xffffffff }), /tensors is over the limit/],
    ['count beyond the table', craft({ count: 2 }), /tensor 1 name length 0/],
    ['table cut short', craft({ count: 2, data: new Uint8Array(0) }), /truncated body: tensor 1 name length/],
    ['trailing bytes', craft({ trailing: 3, storedLength: 0 }), /header says the body has 0 bytes/],
    ['stored length lies', craft({ storedLength: 5 }), /header says the body has 5 bytes/],
    ['raw length lies (uncompressed)', craft({ rawLength: 9 }), /differs from the stored length/],
    [
      'huge declared raw length',
      craft({ compression: 1, rawLength: 0xffffffff }),
      /decompressed body of 4294967295 bytes is over the limit/,
    ],
    ['empty name', craft({ entries: [{ name: '' }] }), /name length 0/],
    ['invalid UTF-8 name', craft({ entries: [{ nameBytes: Uint8Array.of(0xc3, 0x28) }] }), /not valid UTF-8/],
    ['unknown dtype', craft({ entries: [{ dtype: 77 }] }), /unknown dtype code 77/],
    ['dtype of another precision', craft({ entries: [{ dtype: 2 }] }), /stored as fp16 in a fp32 message/],
    ['rank over the limit', craft({ entries: [{ shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }] }), /rank 9, over the limit/],
    ['zero dimension', craft({ entries: [{ shape: [2, 0] }] }), /zero dimension/],
    ['absurd element count', craft({ entries: [{ shape: [0xffffffff, 0xffffffff, 0xffffffff] }] }), /value count over the limit/],
    ['data shorter than the shape', craft({ entries: [{ shape: [3] }] }), /data section has 8 bytes, the tensors need 12/],
    ['wrong offset', craft({ entries: [{ offset: 4 }] }), /data offset 4, expected 0/],
    ['duplicate names', craft({ entries: [{}, {}], data: f32Bytes(1, 2, 3, 4) }), /'w' appears twice/],
    ['NaN value', craft({ data: f32Bytes(1, NaN) }), /'w' holds NaN at index 1/],
    ['infinite value', craft({ data: f32Bytes(Infinity, 1) }), /'w' holds Infinity at index 0/],
    [
      'fp16 infinity',
      craft({ precision: 2, entries: [{ dtype: 2 }], data: Uint8Array.of(0, 0x3c, 0, 0x7c) }),
      /holds an fp16 infinity or NaN at index 1/,
    ],
    [
      'NaN scale',
      craft({ precision: 3, granularity: 1, entries: [{ dtype: 3, scales: [NaN] }], data: Uint8Array.of(1, 2) }),
      /invalid scale NaN/,
    ],
    [
      'infinite scale',
      craft({ precision: 3, granularity: 2, entries: [{ dtype: 4, shape: [1, 2], scales: [Infinity] }], data: Uint8Array.of(1, 2) }),
      /invalid scale Infinity/,
    ],
    [
      'negative scale',
      craft({ precision: 3, granularity: 1, entries: [{ dtype: 3, scales: [-1] }], data: Uint8Array.of(1, 2) }),
      /invalid scale -1/,
    ],
    ['int8 -128', craft({ precision: 3, granularity: 1, entries: [{ dtype: 3, scales: [1] }], data: Uint8Array.of(0x80, 2) }), /int8 -128/],
    [
      'per-row scales in a per-tensor message',
      craft({ precision: 3, granularity: 1, entries: [{ dtype: 4, shape: [1, 2], scales: [1] }], data: Uint8Array.of(1, 2) }),
      /per-row scales in a per-tensor/,
    ],
    [
      'per-row scales without rows',
      craft({ precision: 3, granularity: 2, entries: [{ dtype: 4, shape: [], scales: [] }], data: Uint8Array.of(1) }),
      /per-row scales but no rows/,
    ],
    [
      'corrupt deflate stream',
      (() => {
        const m = craft({ compression: 1 });
        m[m.length - 1]! ^= 0xff;
        return m;
      })(),
      /cannot decompress/,
    ],
    ['deflate length lie', craft({ compression: 1, rawLength: 10 }), /cannot decompress|decompressed to/],
  ];
  for (const [what, bytes, message] of cases)
    it(`rejects ${what}`, () => {
      let err: unknown;
      try {
        decodeTensors(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect((err as Error).message).toMatch(message);
    });

  it('shows a hostile name escaped and cut in errors, but decodes a valid odd name as it is', () => {
    const evil = `x\u001b[2J${'y'.repeat(200)}`;
    expect(() => decodeTensors(craft({ entries: [{ name: evil }], data: f32Bytes(NaN, 0) }))).toThrow(
      /^codec: tensor 'x\\u001b\[2Jy{75}…' holds NaN/,
    );
    const odd = '\ufeffname with spaces/é';
    expect([
      ...decodeTensors(encodeTensors(tensorsOf({ [odd]: { shape: [1], data: [1] } }), { precision: 'fp32' })).tensors.keys(),
    ]).toEqual([odd]);
  });

  it('stops a deflate bomb at the declared size (64 MiB of zeros declared as 1 KiB)', () => {
    const bomb = deflateSync(new Uint8Array(64 * 2 ** 20));
    expect(bomb.length).toBeLessThan(100_000);
    const msg = new Uint8Array(20 + bomb.length);
    msg.set(craft({ compression: 1 }).subarray(0, 20));
    new DataView(msg.buffer).setUint32(12, bomb.length, true);
    new DataView(msg.buffer).setUint32(16, 1024, true);
    msg.set(bomb, 20);
    const rss = process.memoryUsage().rss;
    expect(() => decodeTensors(msg)).toThrow(/cannot decompress the body/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * 2 ** 20);
  });

  it('honours tighter limits given by the caller', () => {
    const bytes = encodeTensors(realisticAdapter(), { precision: 'int8' });
    expect(() => decodeTensors(bytes, { maxValues: 1000 })).toThrow(/value count over the limit of 1000/);
    expect(() => decodeTensors(bytes, { maxTensors: 4 })).toThrow(/16 tensors is over the limit of 4/);
    expect(() => decodeTensors(bytes, { maxNameBytes: 20 })).toThrow(/name length \d+ is not in 1..20/);
    expect(() => decodeTensors(bytes, { maxBytes: 1000 })).toThrow(/over the limit of 1000/);
  });
});

describe('fuzz', () => {
  const small = tensorsOf({
    'layers.0.lora_A.weight': { shape: [2, 3], data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6] },
    'layers.0.lora_B.weight': { shape: [3, 2], data: [0.01, 0, -0.02, 0.03, 0, 0.04] },
    s: { shape: [], data: [2.5] },
  });
  const settings: CodecSettings[] = [
    { precision: 'fp32' },
    { precision: 'fp16' },
    { precision: 'int8', granularity: 'tensor' },
    { precision: 'int8', granularity: 'channel' },
    { precision: 'fp32', compression: 'deflate' },
    { precision: 'int8', compression: 'deflate' },
  ];
  const seeds = settings.map((s) => encodeTensors(small, s));
  const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff];

  /** One mutation of a valid message: flips, overwrites with edge values, truncation, insertion, splicing. */
  function mutate(rng: Rng, src: Uint8Array): Uint8Array {
    let b = src.slice();
    const n = 1 + rng.int(4);
    for (let k = 0; k < n; k++) {
      const op = rng.int(6);
      const at = rng.int(Math.max(1, b.length));
      if (op === 0 && b.length) b[at] = b[at]! ^ (1 << rng.int(8));
      else if (op === 1 && b.length) b[at] = INTERESTING[rng.int(INTERESTING.length)]!;
      else if (op === 2 && b.length >= at + 4)
        new DataView(b.buffer).setUint32(at, [0, 1, 0xffff, 0x7fffffff, 0xffffffff, b.length][rng.int(6)]!, true);
      else if (op === 3) b = b.subarray(0, at);
      else if (op === 4)
        b = Uint8Array.from([...b.subarray(0, at), ...Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)), ...b.subarray(at)]);
      else b = Uint8Array.from([...b.subarray(0, at), ...seeds[rng.int(seeds.length)]!.subarray(rng.int(20))]);
    }
    return b;
  }

  /** Mutates the decompressed body and recompresses it with a consistent header, so deflate messages fuzz the table too. */
  function mutateInside(rng: Rng, src: Uint8Array): Uint8Array {
    const raw = mutate(rng, new Uint8Array(Buffer.from(src.subarray(20))));
    const body = deflateSync(raw);
    const out = new Uint8Array(20 + body.length);
    out.set(src.subarray(0, 20));
    out[7] = 1;
    new DataView(out.buffer).setUint32(12, body.length, true);
    new DataView(out.buffer).setUint32(16, raw.length, true);
    out.set(body, 20);
    return out;
  }

  it('6000 random and mutated messages: each decodes to finite, well-formed tensors or throws CodecError', () => {
    const rng = new Rng(2024);
    const outcomes = new Map<string, number>();
    const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    const uncompressed = seeds.filter((_, i) => !settings[i]!.compression);
    for (let i = 0; i < 6000; i++) {
      const kind = i % 3;
      const bytes =
        kind === 0
          ? Uint8Array.from({ length: rng.int(80) }, (_, j) => (j < 4 && rng.next() < 0.5 ? [0x46, 0x48, 0x54, 0x4e][j]! : rng.int(256)))
          : kind === 1
            ? mutate(rng, seeds[rng.int(seeds.length)]!)
            : mutateInside(rng, uncompressed[rng.int(uncompressed.length)]!);
      try {
        const { tensors } = decodeTensors(bytes);
        for (const t of tensors.values()) {
          expect(t.data.length).toBe(t.shape.reduce((a, d) => a * d, 1));
          expect(t.data.every(Number.isFinite)).toBe(true);
        }
        note('decoded');
      } catch (e) {
        if (!(e instanceof CodecError)) throw new Error(`not a CodecError for input ${Buffer.from(bytes).toString('hex')}: ${e}`);
        note(e.message.replace(/'[^']*'|\d+(\.\d+)?/g, '#').slice(0, 60));
      }
    }
    // The mutations reach deep: some messages still decode, and many distinct checks fire.
    expect(outcomes.get('decoded')).toBeGreaterThan(50);
    expect(outcomes.size).toBeGreaterThan(20);
  });
});
