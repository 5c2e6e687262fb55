import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  bf16ToF32,
  f16ToF32,
  loadSafetensorsFile,
  parseSafetensorsHeader,
  readSafetensors,
  saveSafetensorsFile,
  writeSafetensors,
  type SafetensorsHeader,
  type TensorF32,
} from '../../src/model/safetensors.js';
import { deepJson, expectCleanError } from '../bounded.js';

/** Builds a safetensors file by hand from a header object (or raw header text) and data bytes. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const u16le = (...vals: number[]) => {
  const b = new Uint8Array(vals.length * 2);
  const v = new DataView(b.buffer);
  vals.forEach((x, i) => {
    v.setUint16(2 * i, x, true);
  });
  return b;
};

const expectError = (fn: () => unknown, message: string | RegExp) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CheckpointError);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
};

describe('round trip', () => {
  it('writes and reads back tensors, shapes and metadata exactly', () => {
    const tensors = new Map<string, TensorF32>([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 65504]) }],
      ['a.bias', { shape: [3], data: Float32Array.from([NaN, Infinity, -Infinity]) }],
      ['scalar', { shape: [], data: Float32Array.from([Math.PI]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt', round: '3' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', round: '3' });
    expect([...back.tensors.keys()].sort()).toEqual(['a.bias', 'b.weight', 'empty', 'scalar']);
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name)!;
      expect(r.shape).toEqual(t.shape);
      expect(new Uint8Array(r.data.buffer)).toEqual(new Uint8Array(t.data.buffer)); // bit-exact (-0, NaN)
      expect(back.dtypes.get(name)).toBe('F32');
    }
  });

  it('accepts a plain record and produces the reference layout', () => {
    const bytes = writeSafetensors({
      zeta: { shape: [1], data: Float32Array.from([2]) },
      alpha: { shape: [2], data: Float32Array.from([0, 1]) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    // Sorted by name, compact JSON with field order dtype/shape/data_offsets, space padding.
    expect(headerText.trimEnd()).toBe(
      '{"alpha":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"zeta":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
    );
    expect(headerText.slice(headerText.trimEnd().length)).toMatch(/^ *$/);
    expect(bytes.length).toBe(8 + n + 12);
    expect(new Float32Array(bytes.slice(8 + n).buffer)).toEqual(Float32Array.from([0, 1, 2]));
  });

  it('orders names by UTF-8 bytes and omits empty metadata', () => {
    const one = { shape: [1], data: new Float32Array(1) };
    const bytes = writeSafetensors({ '\u{1F600}': one, '\uFF21': one, B: one, a: one }, {});
    const h = parseSafetensorsHeader(bytes);
    expect([...h.entries.keys()]).toEqual(['B', 'a', '\uFF21', '\u{1F600}']);
    expect(new TextDecoder().decode(bytes)).not.toContain('__metadata__');
  });

  it('does not alias the input buffer', () => {
    const bytes = writeSafetensors({ x: { shape: [2], data: Float32Array.from([1, 2]) } });
    const t = readSafetensors(bytes).tensors.get('x')!;
    t.data[0] = 42;
    expect(readSafetensors(bytes).tensors.get('x')!.data[0]).toBe(1);
  });

  it('reads from a subarray with a non-zero byteOffset', () => {
    const bytes = writeSafetensors({ x: { shape: [3], data: Float32Array.from([1, 2, 3]) } });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect([...readSafetensors(padded.subarray(3)).tensors.get('x')!.data]).toEqual([1, 2, 3]);
  });

  it('handles a tensor named __proto__', () => {
    const m = new Map([['__proto__', { shape: [1], data: Float32Array.from([7]) }]]);
    const back = readSafetensors(writeSafetensors(m));
    expect([...back.tensors.keys()]).toEqual(['__proto__']);
    expect(back.tensors.get('__proto__')!.data[0]).toBe(7);
  });
});

describe('dtype decoding', () => {
  it('decodes fp16 bit patterns', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504], // largest normal
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x8001, -(2 ** -24)],
      [0x0200, 2 ** -15],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) expect(f16ToF32(bits), `0x${bits.toString(16)}`).toBe(value);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });

  it('decodes bf16 bit patterns', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x4049, 3.140625],
      [0x7f7f, 3.3895313892515355e38], // largest finite
      [0x0080, 2 ** -126], // smallest normal
      [0x0001, 2 ** -133], // smallest subnormal
      [0x7f80, Infinity],
      [0xff80, -Infinity],
    ];
    for (const [bits, value] of cases) expect(bf16ToF32(bits), `0x${bits.toString(16)}`).toBe(value);
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
  });

  it('reads F16, BF16, F64, I32 and I64 tensors as float32', () => {
    const f16 = u16le(0x3c00, 0x0001, 0xfc00, 0x7e00);
    const bf16 = u16le(0x4049, 0x0001);
    const f64 = new Uint8Array(Float64Array.from([0.1, -1e300]).buffer);
    const i32 = new Uint8Array(Int32Array.from([-5, 16777216]).buffer);
    const i64 = new Uint8Array(BigInt64Array.from([3n, -(2n ** 24n)]).buffer);
    const data = new Uint8Array([...f16, ...bf16, ...f64, ...i32, ...i64]);
    let o = 0;
    const at = (len: number) => [o, (o += len)];
    const header = {
      __metadata__: { format: 'pt' },
      h: { dtype: 'F16', shape: [2, 2], data_offsets: at(8) },
      b: { dtype: 'BF16', shape: [2], data_offsets: at(4) },
      d: { dtype: 'F64', shape: [2], data_offsets: at(16) },
      i: { dtype: 'I32', shape: [2], data_offsets: at(8) },
      l: { dtype: 'I64', shape: [2], data_offsets: at(16) },
    };
    const f = readSafetensors(build(header, data));
    const h = f.tensors.get('h')!;
    expect(h.shape).toEqual([2, 2]);
    expect([...h.data.slice(0, 3)]).toEqual([1, 2 ** -24, -Infinity]);
    expect(h.data[3]).toBeNaN();
    expect([...f.tensors.get('b')!.data]).toEqual([3.140625, 2 ** -133]);
    expect([...f.tensors.get('d')!.data]).toEqual([Math.fround(0.1), -Infinity]);
    expect([...f.tensors.get('i')!.data]).toEqual([-5, 16777216]);
    expect([...f.tensors.get('l')!.data]).toEqual([3, -16777216]);
    expect(Object.fromEntries(f.dtypes)).toEqual({ h: 'F16', b: 'BF16', d: 'F64', i: 'I32', l: 'I64' });
    expect(f.metadata).toEqual({ format: 'pt' });
  });

  it('rejects integers float32 cannot represent exactly', () => {
    const data = new Uint8Array(Int32Array.from([16777217]).buffer);
    expectError(
      () => readSafetensors(build({ ids: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, data), 'x.safetensors'),
      "x.safetensors: tensor 'ids' (I32) holds 16777217, which float32 cannot represent exactly",
    );
    const big = new Uint8Array(BigInt64Array.from([2n ** 40n]).buffer);
    expectError(
      () => readSafetensors(build({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big)),
      /tensor 'ids' \(I64\) holds 1099511627776/,
    );
  });
});

describe('validation errors', () => {
  const F = 'model.safetensors';
  const four = new Uint8Array(16);
  const read = (bytes: Uint8Array) => () => readSafetensors(bytes, F);

  it('rejects files shorter than the length prefix', () => {
    expectError(read(new Uint8Array(5)), `${F}: file is 5 bytes, too short for the 8-byte header length`);
  });

  it('rejects a header length beyond the file', () => {
    const ok = writeSafetensors({ x: { shape: [1], data: new Float32Array(1) } });
    const truncated = ok.subarray(0, 20);
    expectError(read(truncated), /^model\.safetensors: header length \d+ exceeds the 12 bytes that follow it/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expectError(read(huge), /header length 9223372036854775808 exceeds the 8 bytes/);
  });

  it('rejects a truncated data buffer', () => {
    const ok = writeSafetensors({ x: { shape: [4], data: new Float32Array(4) } });
    expectError(
      read(ok.subarray(0, ok.length - 1)),
      `${F}: tensor 'x' data_offsets [0, 16] exceed the 15-byte data buffer (truncated file?)`,
    );
  });

  it('rejects bad JSON and non-object headers', () => {
    expectError(read(build('{"x": ')), /^model\.safetensors: header is not valid JSON: /);
    expectError(read(build('[1, 2, 3]')), `${F}: header does not start with '{' (not a safetensors file?)`);
    expectError(read(build('{}', undefined, 1)), `${F}: header length 1 is too small for a JSON object`);
    const badUtf8 = new Uint8Array(8 + 3);
    new DataView(badUtf8.buffer).setBigUint64(0, 3n, true);
    badUtf8.set([0x7b, 0xff, 0x7d], 8);
    expectError(read(badUtf8), `${F}: header is not valid UTF-8`);
  });

  it('rejects unknown dtypes', () => {
    expectError(
      read(build({ x: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4))),
      `${F}: tensor 'x': unknown or unsupported dtype "F8_E4M3" (supported: F64, F32, F16, BF16, I64, I32)`,
    );
    expectError(read(build({ x: { shape: [1], data_offsets: [0, 4] } }, four)), `${F}: tensor 'x': missing or non-string dtype`);
  });

  it('rejects missing or malformed data_offsets and shapes', () => {
    expectError(read(build({ x: { dtype: 'F32', shape: [1] } }, four)), `${F}: tensor 'x': missing data_offsets`);
    expectError(
      read(build({ x: { dtype: 'F32', shape: [1], data_offsets: [0] } }, four)),
      `${F}: tensor 'x': data_offsets must be [begin, end] with non-negative integers, got [0]`,
    );
    expectError(
      read(build({ x: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, four)),
      /data_offsets must be \[begin, end\] with non-negative integers, got \[-4,0\]/,
    );
    expectError(
      read(build({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, four)),
      `${F}: tensor 'x': data_offsets [4, 0] end before they begin`,
    );
    expectError(
      read(build({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, four)),
      `${F}: tensor 'x': shape must be an array of non-negative integers, got [1.5]`,
    );
    expectError(read(build({ x: [1, 2] }, four)), `${F}: tensor 'x': header entry must be an object`);
  });

  it('rejects offsets that do not match shape x dtype', () => {
    expectError(
      read(build({ 'model.norm.weight': { dtype: 'F32', shape: [256], data_offsets: [0, 512] } }, new Uint8Array(512))),
      `${F}: tensor 'model.norm.weight' expects 1024 bytes (shape [256], F32) but data_offsets give 512`,
    );
    expectError(
      read(build({ w: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 24] } }, new Uint8Array(24))),
      `${F}: tensor 'w' expects 12 bytes (shape [2, 3], BF16) but data_offsets give 24`,
    );
  });

  it('rejects overlapping, gapped and out-of-range tensors, and trailing bytes', () => {
    const f32 = (a: number, b: number) => ({ dtype: 'F32', shape: [(b - a) / 4], data_offsets: [a, b] });
    expectError(
      read(build({ a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12))),
      `${F}: tensor 'b' data_offsets [4, 12] overlap tensor 'a' (which ends at 8)`,
    );
    expectError(
      read(build({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12))),
      `${F}: tensor 'b' data_offsets [8, 12] leave a gap after tensor 'a' (expected begin 4)`,
    );
    expectError(
      read(build({ a: f32(4, 8) }, new Uint8Array(8))),
      `${F}: tensor 'a' data_offsets [4, 8] leave a gap after the header (expected begin 0)`,
    );
    expectError(
      read(build({ a: f32(0, 8), b: f32(8, 16) }, new Uint8Array(12))),
      `${F}: tensor 'b' data_offsets [8, 16] exceed the 12-byte data buffer (truncated file?)`,
    );
    expectError(read(build({ a: f32(0, 4) }, new Uint8Array(8))), `${F}: data buffer is 8 bytes but tensors cover only 4 (trailing bytes)`);
  });

  it('rejects malformed metadata', () => {
    expectError(read(build({ __metadata__: { epoch: 3 } })), `${F}: "__metadata__" entry 'epoch' must be a string, got 3`);
    expectError(read(build({ __metadata__: ['x'] })), `${F}: "__metadata__" must be an object of strings`);
  });

  it('accepts an empty file with only a header, and space padding', () => {
    expect(readSafetensors(build('{}    ')).tensors.size).toBe(0);
  });

  it('rejects bad input when writing', () => {
    expectError(
      () => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }, undefined, F),
      `${F}: tensor 'w': shape [2, 2] has 4 elements but data has 3`,
    );
    expectError(
      () => writeSafetensors({ w: { shape: [2], data: [1, 2] as unknown as Float32Array } }),
      `<buffer>: tensor 'w': data must be a Float32Array`,
    );
    expectError(
      () => writeSafetensors({ w: { shape: [-1], data: new Float32Array(1) } }),
      /tensor 'w': shape must be an array of non-negative integers/,
    );
    expectError(
      () => writeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]])),
      `<buffer>: '__metadata__' is reserved and cannot name a tensor`,
    );
    expectError(() => writeSafetensors({}, { n: 1 as unknown as string }), `<buffer>: metadata entry 'n' must be a string, got number`);
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-st-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves atomically and loads back', async () => {
    const path = join(dir, 'sub', 'adapter.safetensors');
    const t = { 'lora.A': { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } };
    await saveSafetensorsFile(path, t, { round: '1' });
    await saveSafetensorsFile(path, { 'lora.A': { shape: [1], data: Float32Array.from([9]) } }, { round: '2' });
    const back = await loadSafetensorsFile(path);
    expect(back.metadata).toEqual({ round: '2' });
    expect([...back.tensors.get('lora.A')!.data]).toEqual([9]);
    expect(await readdir(join(dir, 'sub'))).toEqual(['adapter.safetensors']); // no temp files left
  });

  it('leaves the old file intact and no temp file when writing fails', async () => {
    const path = join(dir, 'keep.safetensors');
    await saveSafetensorsFile(path, { x: { shape: [1], data: Float32Array.from([1]) } });
    const before = await readFile(path);
    await expect(saveSafetensorsFile(path, { x: { shape: [2], data: new Float32Array(1) } })).rejects.toThrow(CheckpointError);
    expect(await readFile(path)).toEqual(before);
    // Renaming onto a directory fails after the temp file was written: it must be cleaned up.
    await expect(saveSafetensorsFile(dir, { x: { shape: [1], data: new Float32Array(1) } })).rejects.toThrow(/cannot write file/);
    expect((await readdir(dirname(dir))).some((n) => n.startsWith(`.${basename(dir)}.`))).toBe(false);
  });

  it('names the file in load errors', async () => {
    const path = join(dir, 'bad.safetensors');
    await writeFile(path, new Uint8Array(3));
    await expect(loadSafetensorsFile(path)).rejects.toThrow(`${path}: file is 3 bytes`);
    await expect(loadSafetensorsFile(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: cannot read: no such file/);
  });
});

describe('hostile files (read header first, regular files only)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-st-hostile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a FIFO at once (was: hung forever waiting for a writer)', async () => {
    const fifo = join(dir, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expectCleanError(() => loadSafetensorsFile(fifo), [`${fifo}: not a regular file`], { ms: 5000 });
  });

  it('refuses a symlink to /dev/zero without reading it (was: grew past 3.5 GB)', async () => {
    const zero = join(dir, 'zero.safetensors');
    await symlink('/dev/zero', zero);
    await expectCleanError(() => loadSafetensorsFile(zero), [`${zero}: not a regular file`], { ms: 5000, peakRiseMb: 100 });
  });

  it('refuses a file larger than the limit before reading it', async () => {
    const path = join(dir, 'big.safetensors');
    await writeFile(path, build({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)));
    await expectCleanError(() => loadSafetensorsFile(path, { maxBytes: 64 }), [path, 'over the limit']);
  });

  it('checks the header against the file size before reading any data (a 1.5 GB sparse file costs nothing)', async () => {
    // A small valid header, then 1.5 GB of holes: the old reader loaded all of it, then failed.
    const path = join(dir, 'sparse.safetensors');
    await writeFile(path, build({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)));
    await truncate(path, 1.5 * 2 ** 30);
    await expectCleanError(() => loadSafetensorsFile(path), [path, 'tensors cover only 16 (trailing bytes)'], { peakRiseMb: 100 });
    // A header that promises 2^40 elements: refused from the header alone.
    const huge = join(dir, 'huge.safetensors');
    await writeFile(huge, build({ x: { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 2 ** 42] } }, new Uint8Array(16)));
    await expectCleanError(
      () => loadSafetensorsFile(huge),
      [huge, "tensor 'x' data_offsets [0, 4398046511104] exceed the 16-byte data buffer"],
      {
        peakRiseMb: 100,
      },
    );
  });

  it('runs checkHeader before reading any tensor', async () => {
    const path = join(dir, 'checked.safetensors');
    await writeFile(path, build({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)));
    let seen: string[] = [];
    const refuse = (h: SafetensorsHeader) => {
      seen = [...h.entries.keys()];
      throw new CheckpointError(`${path}: not wanted`);
    };
    await expectCleanError(() => loadSafetensorsFile(path, { checkHeader: refuse }), [`${path}: not wanted`]);
    expect(seen).toEqual(['x']);
  });

  it('shows deeply nested or huge header values in bounded messages', async () => {
    const deep = join(dir, 'deep.safetensors');
    await writeFile(deep, build(`{"x": {"dtype": "F32", "shape": ${deepJson(100_000)}, "data_offsets": [0, 4]}}`, new Uint8Array(4)));
    const e1 = await expectCleanError(
      () => loadSafetensorsFile(deep),
      [deep, "tensor 'x': shape must be an array of non-negative integers, got [[[["],
    );
    expect(e1.message.length).toBeLessThan(400);
    const long = join(dir, 'long.safetensors');
    await writeFile(long, build({ ['n'.repeat(1_000_000)]: { dtype: 'I8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)));
    const e2 = await expectCleanError(() => loadSafetensorsFile(long), [long, 'unknown or unsupported dtype "I8"']);
    expect(e2.message.length).toBeLessThan(600);
  });

  it('requireFinite names the tensor and the index of the first NaN/Inf', async () => {
    const path = join(dir, 'nan.safetensors');
    const data = new Float32Array(12);
    data[7] = Number.NaN;
    data[9] = Number.POSITIVE_INFINITY;
    await saveSafetensorsFile(path, { ok: { shape: [2], data: new Float32Array(2) }, 'w.weight': { shape: [3, 4], data } });
    await expect(loadSafetensorsFile(path)).resolves.toBeDefined(); // the format itself allows NaN
    await expectCleanError(
      () => loadSafetensorsFile(path, { requireFinite: true }),
      [`${path}: tensor 'w.weight' holds NaN at index [1, 3] (element 7 of 12); weights must be finite`],
    );
    // F16 infinities are caught after conversion too.
    const half = join(dir, 'inf16.safetensors');
    await saveSafetensorsFile(half, { h: { shape: [2], data: Float32Array.from([1, 1e6]) } }, undefined, 'F16');
    await expectCleanError(() => loadSafetensorsFile(half, { requireFinite: true }), ["tensor 'h' holds Infinity at index [1]"]);
  });
});

describe('F16 writing', () => {
  it('round-trips every finite half value exactly and rounds float32 to nearest even', async () => {
    const { f32ToF16Bits, f16ToF32, writeSafetensors, readSafetensors } = await import('../../src/model/safetensors.js');
    for (let h = 0; h < 0x10000; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) expect(f32ToF16Bits(x) & 0x7c00).toBe(0x7c00);
      else expect(f32ToF16Bits(x)).toBe(h);
    }
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa (1).
    expect(f16ToF32(f32ToF16Bits(1 + 2 ** -11))).toBe(1);
    expect(f16ToF32(f32ToF16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(f16ToF32(f32ToF16Bits(1e6))).toBe(Infinity);
    const data = Float32Array.from([0.1, -2.5, 65504, 1e-7]);
    const bytes = writeSafetensors({ w: { shape: [2, 2], data } }, undefined, 'x', 'F16');
    const back = readSafetensors(bytes);
    expect(back.dtypes.get('w')).toBe('F16');
    const got = back.tensors.get('w')!.data;
    data.forEach((v, i) => {
      expect(Math.abs(got[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 6e-8);
    });
  });
});
