// The LLaMA ONNX graphs and the LlamaModel runtime against an independent float64 reference of
// transformers' LlamaForCausalLM (./reference.ts), plus checkpoints, the KV cache and sampling.
//
// Tolerance for logits: max_ij |ours_ij - ref_ij| / max_ij |ref_ij| <= 1e-4, i.e. the largest error
// relative to the scale of the logits of the whole sequence (float32 graph vs float64 reference).
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { Rng } from '../../src/engine/rng.js';
import { expectedTensorShapes, parseLlamaConfig, type LlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights, saveCheckpoint, sampleToken } from '../../src/model/model.js';
import { CheckpointError, parseSafetensorsHeader, readSafetensors, writeSafetensors, type TensorF32 } from '../../src/model/safetensors.js';
import { expectCleanError } from '../bounded.js';
import { referenceLogits, referenceNll } from './reference.js';

const REL_TOL = 1e-4;
const STD = 0.2; // large enough that attention is far from uniform and logits are well separated

let engine: Engine;
let tmpRoot: string;

beforeAll(async () => {
  engine = new Engine({ threads: 2 });
  tmpRoot = await mkdtemp(join(tmpdir(), 'fedhpo-llama-test-'));
});

afterAll(async () => {
  await engine?.close();
  if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
});

const config = (over: Record<string, unknown>): LlamaConfig =>
  parseLlamaConfig({ vocab_size: 80, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, ...over });

const cloneWeights = (w: Map<string, Float32Array>) => new Map([...w].map(([k, v]) => [k, v.slice()]));

const randomTokens = (rng: Rng, vocab: number, n: number): number[] => Array.from({ length: n }, () => rng.int(vocab));

/** max |a - b| / max |b| over all entries. */
function relMaxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(Number.isFinite(err)).toBe(true);
  return err / scale;
}

const flat = (rows: Float64Array[]): Float64Array => {
  const out = new Float64Array(rows.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of rows) {
    out.set(r, o);
    o += r.length;
  }
  return out;
};

const argmax = (x: ArrayLike<number>, off = 0, n = x.length - off): number => {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[off + i]! > x[off + best]!) best = i;
  return best;
};

/**
 * Builds a model from `initWeights(cfg, seed, std)` with random biases (initWeights zeroes them,
 * which would hide a bias the graph drops); also returns a private copy for the reference.
 */
async function build(cfg: LlamaConfig, seed: number, std = STD) {
  const weights = initWeights(cfg, seed, std);
  const biasRng = new Rng(seed).fork('bias');
  for (const [name, t] of weights) if (name.endsWith('.bias')) biasRng.fillNormal(t, std);
  const ref = cloneWeights(weights);
  const model = await LlamaModel.fromWeights(engine, cfg, weights);
  return { model, ref, transferred: weights };
}

// ---------------------------------------------------------------------------------------------

const CONFIGS: [string, LlamaConfig][] = [
  ['MHA (4 heads), untied head', config({ tie_word_embeddings: false })],
  ['GQA (4 heads, 2 kv heads), tied embeddings', config({ num_key_value_heads: 2, tie_word_embeddings: true })],
  ['MQA (4 heads, 1 kv head), untied', config({ num_key_value_heads: 1, vocab_size: 100, hidden_size: 64, intermediate_size: 96 })],
  [
    'rope_theta 500000, rms_norm_eps 1e-5, GQA',
    config({ rope_theta: 500000, rms_norm_eps: 1e-5, num_key_value_heads: 2, hidden_size: 48, intermediate_size: 80, vocab_size: 64 }),
  ],
  [
    'explicit head_dim 12 (hidden 32 / 4 heads would be 8), GQA, tied',
    config({ head_dim: 12, num_key_value_heads: 2, tie_word_embeddings: true }),
  ],
  [
    'LLaMA attention_bias + mlp_bias (biases on all seven projections), GQA',
    config({ attention_bias: true, mlp_bias: true, num_key_value_heads: 2 }),
  ],
  [
    'qwen2 (q/k/v biases), GQA, tied, rope_theta 1e6',
    config({ model_type: 'qwen2', num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 1e6, hidden_size: 48, vocab_size: 72 }),
  ],
];

describe.each(CONFIGS)('forward pass vs float64 reference: %s', (_name, cfg) => {
  let model: LlamaModel;
  let ref: Map<string, Float32Array>;
  const rng = new Rng(cfg.hidden_size * 1000 + cfg.num_key_value_heads);
  const seqs = [randomTokens(rng, cfg.vocab_size, 9), randomTokens(rng, cfg.vocab_size, 9), randomTokens(rng, cfg.vocab_size, 1)];

  beforeAll(async () => {
    ({ model, ref } = await build(cfg, 11 + cfg.num_key_value_heads));
  });
  afterAll(async () => model?.dispose());

  it('logits match to 1e-4 relative (max |a-b| / max |ref|)', async () => {
    const ours = await model.logits(seqs);
    for (let i = 0; i < seqs.length; i++) {
      const want = referenceLogits(cfg, ref, seqs[i]!);
      expect(ours[i]!.length).toBe(seqs[i]!.length * cfg.vocab_size);
      const e = relMaxErr(ours[i]!, flat(want));
      expect(e).toBeLessThan(REL_TOL);
    }
  });

  it('nll equals the mean cross-entropy of the reference logits', async () => {
    // Several batches with right padding (lengths 9, 9, 1 -> the 1-token sequence predicts nothing).
    const sequences = [...seqs, seqs[0]!.slice(0, 4), seqs[1]!.slice(2)];
    const want = referenceNll(cfg, ref, sequences);
    for (const batchSize of [1, 2, 8]) {
      const got = await model.nll(sequences, { batchSize });
      expect(got.tokens).toBe(want.tokens);
      expect(Math.abs(got.nll - want.nll) / want.nll).toBeLessThan(1e-5);
    }
  });
});

describe('the reference discriminates', () => {
  it('a wrong rope_theta or GQA head mapping would change logits far beyond the tolerance', async () => {
    const cfg = CONFIGS[3]![1];
    const { model, ref } = await build(cfg, 11 + cfg.num_key_value_heads);
    const ids = randomTokens(new Rng(5), cfg.vocab_size, 9);
    const ours = (await model.logits([ids]))[0]!;
    expect(relMaxErr(ours, flat(referenceLogits(cfg, ref, ids)))).toBeLessThan(REL_TOL);
    // Same weights, wrong theta: a conventional-theta implementation would be caught.
    expect(relMaxErr(ours, flat(referenceLogits({ ...cfg, rope_theta: 10000 }, ref, ids)))).toBeGreaterThan(100 * REL_TOL);
    // Swapping the two kv heads of k_proj/v_proj in layer 0 (what a h % KV mapping would read).
    const swapped = cloneWeights(ref);
    const hd = cfg.head_dim;
    const rows = hd * cfg.hidden_size;
    for (const n of ['k_proj', 'v_proj']) {
      const w = swapped.get(`model.layers.0.self_attn.${n}.weight`)!;
      const a = w.slice(0, rows);
      w.copyWithin(0, rows, 2 * rows);
      w.set(a, rows);
    }
    expect(relMaxErr(ours, flat(referenceLogits(cfg, swapped, ids)))).toBeGreaterThan(100 * REL_TOL);
    await model.dispose();
  });
});

describe('one copy of the base weights', () => {
  it('fromWeights transfers the Float32Arrays to the engine worker (they are left detached)', async () => {
    // This is the one-copy guarantee: the caller's buffers are moved, not cloned, into the worker,
    // so after fromWeights the only copy of the base model lives in the engine's weight set.
    const cfg = CONFIGS[1]![1];
    const { model, ref, transferred } = await build(cfg, 3);
    expect([...transferred.keys()].sort()).toEqual([...expectedTensorShapes(cfg).keys()].sort());
    for (const [name, arr] of transferred) {
      expect(arr.byteLength, name).toBe(0);
      expect(arr.length, name).toBe(0);
      expect(arr.buffer.byteLength, name).toBe(0);
    }
    // ...and the model still computes with them.
    const ids = randomTokens(new Rng(9), cfg.vocab_size, 6);
    const got = await model.nll([ids]);
    expect(Math.abs(got.nll - referenceNll(cfg, ref, [ids]).nll)).toBeLessThan(1e-4);
    await model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('checkpoints', () => {
  const cfg = config({ num_key_value_heads: 2, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 });
  const seed = 21;
  let good: string;
  const sequences = [randomTokens(new Rng(1), cfg.vocab_size, 9), randomTokens(new Rng(2), cfg.vocab_size, 6)];

  beforeAll(async () => {
    good = join(tmpRoot, 'good');
    await saveCheckpoint(good, cfg, initWeights(cfg, seed, STD));
  });

  /** A copy of the good checkpoint whose tensors are rewritten by `edit`. */
  async function corrupted(name: string, edit: (t: Map<string, TensorF32>) => void): Promise<string> {
    const dir = join(tmpRoot, name);
    await mkdir(dir, { recursive: true });
    await copyFile(join(good, 'config.json'), join(dir, 'config.json'));
    const { tensors } = readSafetensors(await readFile(join(good, 'model.safetensors')));
    edit(tensors);
    await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tensors));
    return dir;
  }

  async function loadError(dir: string): Promise<Error> {
    let err: unknown;
    try {
      const m = await LlamaModel.load(dir, engine);
      await m.dispose();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain(join(dir, 'model.safetensors'));
    return err as Error;
  }

  it('round trip: load gives the same config and a bit-identical nll', async () => {
    const direct = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, seed, STD));
    const loaded = await LlamaModel.load(good, engine);
    // The saved config records the dtype it was written in; everything else is the same.
    expect(loaded.cfg).toEqual({ ...cfg, torch_dtype: 'float32' });
    const a = await direct.nll(sequences);
    const b = await loaded.nll(sequences);
    expect(b.tokens).toBe(a.tokens);
    expect(b.nll === a.nll).toBe(true);
    // Saving the loaded model again reproduces the file byte for byte.
    const again = join(tmpRoot, 'again');
    await loaded.save(again);
    expect(Buffer.compare(await readFile(join(again, 'model.safetensors')), await readFile(join(good, 'model.safetensors')))).toBe(0);
    await direct.dispose();
    await loaded.dispose();
  });

  it('config.json uses LlamaConfig field names; model.safetensors holds HF tensor names', async () => {
    const json = JSON.parse(await readFile(join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 80,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 8,
      hidden_act: 'silu',
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
    });
    expect(json.torch_dtype).toBe('float32');
    expect(parseLlamaConfig(json)).toEqual({ ...cfg, torch_dtype: 'float32' });

    const header = parseSafetensorsHeader(await readFile(join(good, 'model.safetensors')));
    const shapes = Object.fromEntries([...header.entries].map(([k, e]) => [k, e.shape]));
    expect(shapes).toMatchObject({
      'model.embed_tokens.weight': [80, 32],
      'model.layers.0.input_layernorm.weight': [32],
      'model.layers.0.self_attn.q_proj.weight': [32, 32],
      'model.layers.0.self_attn.k_proj.weight': [16, 32],
      'model.layers.1.mlp.down_proj.weight': [32, 64],
      'model.norm.weight': [32],
      'lm_head.weight': [80, 32],
    });
    expect(Object.keys(shapes).sort()).toEqual([...expectedTensorShapes(cfg).keys()].sort());
    expect([...header.entries.values()].every((e) => e.dtype === 'F32')).toBe(true);
  });

  it('a tied checkpoint has no lm_head.weight', async () => {
    const tied = config({ tie_word_embeddings: true });
    const dir = join(tmpRoot, 'tied');
    await saveCheckpoint(dir, tied, initWeights(tied, 1));
    const header = parseSafetensorsHeader(await readFile(join(dir, 'model.safetensors')));
    expect(header.entries.has('lm_head.weight')).toBe(false);
    expect(header.entries.has('model.embed_tokens.weight')).toBe(true);
    const m = await LlamaModel.load(dir, engine);
    expect(m.cfg.tie_word_embeddings).toBe(true);
    await m.dispose();
  });

  it('missing tensor', async () => {
    const name = 'model.layers.1.mlp.up_proj.weight';
    const err = await loadError(await corrupted('missing', (t) => t.delete(name)));
    expect(err.message).toContain(`missing tensor '${name}'`);
  });

  it('wrong shape', async () => {
    const name = 'model.layers.1.self_attn.k_proj.weight';
    const err = await loadError(
      await corrupted('shape', (t) => {
        const k = t.get(name)!;
        t.set(name, { shape: [k.shape[1]!, k.shape[0]!], data: k.data }); // same bytes, transposed shape
      }),
    );
    expect(err.message).toContain(`'${name}'`);
    expect(err.message).toMatch(/shape \[32,16\].*\[16,32\]/);
  });

  it('an extra unexpected tensor (e.g. a layer the config does not have)', async () => {
    const name = 'model.layers.2.self_attn.q_proj.weight';
    const err = await loadError(await corrupted('extra', (t) => t.set(name, { shape: [32, 32], data: new Float32Array(32 * 32) })));
    expect(err.message).toContain(`'${name}'`);
  });

  it('lm_head.weight in a checkpoint whose config says tied is rejected as extra', async () => {
    const dir = await corrupted('extra-head', () => {});
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...json, tie_word_embeddings: true }));
    const err = await loadError(dir);
    expect(err.message).toContain(`'lm_head.weight'`);
  });

  it('old rotary_emb.inv_freq buffers are ignored, as transformers does', async () => {
    const dir = await corrupted('inv-freq', (t) =>
      t.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) }),
    );
    const m = await LlamaModel.load(dir, engine);
    expect((await m.nll(sequences)).tokens).toBe(13);
    await m.dispose();
  });

  it('truncated safetensors file names the tensor cut off', async () => {
    const dir = join(tmpRoot, 'truncated');
    await mkdir(dir, { recursive: true });
    await copyFile(join(good, 'config.json'), join(dir, 'config.json'));
    const bytes = await readFile(join(good, 'model.safetensors'));
    const header = parseSafetensorsHeader(bytes);
    const last = [...header.entries].reduce((a, b) => (b[1].end > a[1].end ? b : a))[0];
    await writeFile(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 20));
    const err = await loadError(dir);
    expect(err.message).toContain(`'${last}'`);
    expect(err.message).toMatch(/truncated/);
  });

  /** A copy of the good checkpoint with config.json edited. */
  async function withConfig(name: string, edit: (json: Record<string, unknown>) => void): Promise<string> {
    const dir = await corrupted(name, () => {});
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    edit(json);
    await writeFile(join(dir, 'config.json'), JSON.stringify(json));
    return dir;
  }

  it('num_hidden_layers 1000000000 is one clear error naming config.json (was: 40 s, 2.5 GB, RangeError)', async () => {
    const dir = await withConfig('layers-1e9', (j) => (j.num_hidden_layers = 1_000_000_000));
    await expectCleanError(() => LlamaModel.load(dir, engine), [`${join(dir, 'config.json')}: 'num_hidden_layers' is 1000000000`], {
      ms: 5000,
      peakRiseMb: 200,
    });
  });

  it('a config within the bounds but not matching the checkpoint is refused from the header, naming the layer counts', async () => {
    const dir = await withConfig('layers-1000', (j) => (j.num_hidden_layers = 1000));
    await expectCleanError(
      () => LlamaModel.load(dir, engine),
      [
        `${join(dir, 'model.safetensors')}: missing tensor 'model.layers.2.input_layernorm.weight'`,
        'config.json has num_hidden_layers 1000, the checkpoint holds 2 layers',
      ],
      { ms: 5000, peakRiseMb: 200 },
    );
  });

  it('NaN or Inf weights are refused naming the tensor and index (was: nll NaN, exit 0)', async () => {
    const name = 'model.layers.1.mlp.down_proj.weight';
    const nan = await corrupted('nan', (t) => {
      t.get(name)!.data[3 * 64 + 5] = Number.NaN; // [out 32, in 64]: row 3, column 5
    });
    await expectCleanError(
      () => LlamaModel.load(nan, engine),
      [`${join(nan, 'model.safetensors')}: tensor '${name}' holds NaN at index [3, 5]`],
    );
    const inf = await corrupted('inf', (t) => {
      t.get('model.norm.weight')!.data[31] = Number.NEGATIVE_INFINITY;
    });
    await expectCleanError(() => LlamaModel.load(inf, engine), ["tensor 'model.norm.weight' holds -Infinity at index [31]"]);
  });

  it('integer tensors where weights belong are refused from the header', async () => {
    const dir = join(tmpRoot, 'int-dtype');
    await mkdir(dir, { recursive: true });
    await copyFile(join(good, 'config.json'), join(dir, 'config.json'));
    // Same bytes, relabelled I32: a valid safetensors file, but not weights.
    const bytes = await readFile(join(good, 'model.safetensors'));
    const text = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
    const relabelled = text.replace('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"I32"');
    expect(relabelled).not.toBe(text);
    await writeFile(
      join(dir, 'model.safetensors'),
      Buffer.concat([bytes.subarray(0, 8), Buffer.from(relabelled), bytes.subarray(8 + text.length)]),
    );
    await expectCleanError(
      () => LlamaModel.load(dir, engine),
      ["tensor 'model.norm.weight' has dtype I32; weights must be F32, F16, BF16, F64"],
    );
  });

  it('model.safetensors as a FIFO or a symlink to /dev/zero is refused at once (was: hang / > 3.5 GB)', async () => {
    const fifo = await corrupted('fifo', () => {});
    await rm(join(fifo, 'model.safetensors'));
    execFileSync('mkfifo', [join(fifo, 'model.safetensors')]);
    await expectCleanError(() => LlamaModel.load(fifo, engine), [`${join(fifo, 'model.safetensors')}: not a regular file`], { ms: 5000 });
    const zero = await corrupted('zero', () => {});
    await rm(join(zero, 'model.safetensors'));
    await symlink('/dev/zero', join(zero, 'model.safetensors'));
    await expectCleanError(() => LlamaModel.load(zero, engine), [`${join(zero, 'model.safetensors')}: not a regular file`], {
      ms: 5000,
      peakRiseMb: 100,
    });
    const cfgFifo = await corrupted('config-fifo', () => {});
    await rm(join(cfgFifo, 'config.json'));
    execFileSync('mkfifo', [join(cfgFifo, 'config.json')]);
    await expectCleanError(() => LlamaModel.load(cfgFifo, engine), [`${join(cfgFifo, 'config.json')}: not a regular file`], { ms: 5000 });
  });

  it('initWeights refuses a model too big to create (vocab 2^40 never gets this far: parseLlamaConfig refuses it)', async () => {
    const big = parseLlamaConfig({
      vocab_size: 128256,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
    });
    await expectCleanError(() => initWeights(big, 0), ['a model of 8030261248 parameters', 'over the limit of 1073741824'], {
      peakRiseMb: 100,
    });
    expect(initWeights(cfg, 0, 0.02, 50_000).size).toBe(expectedTensorShapes(cfg).size);
    await expectCleanError(() => initWeights(cfg, 0, 0.02, 1000), ['over the limit of 1000']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('generation with the KV cache', () => {
  const cfg = config({ num_key_value_heads: 2, tie_word_embeddings: false });
  let model: LlamaModel;
  let ref: Map<string, Float32Array>;
  const rng = new Rng(77);
  const prompts = [randomTokens(rng, cfg.vocab_size, 5), randomTokens(rng, cfg.vocab_size, 2), randomTokens(rng, cfg.vocab_size, 8)];
  const N = 6;
  let solo: number[][];

  beforeAll(async () => {
    ({ model, ref } = await build(cfg, 31));
    solo = [];
    for (const p of prompts) solo.push((await model.generate([p], { maxNewTokens: N }))[0]!);
  });
  afterAll(async () => model?.dispose());

  it('greedy generate equals argmax of full recomputation (and of the reference) on the growing sequence', async () => {
    for (let i = 0; i < prompts.length; i++) {
      const seq = [...prompts[i]!];
      const refSeq = [...prompts[i]!];
      for (let step = 0; step < N; step++) {
        const logits = (await model.logits([seq]))[0]!;
        seq.push(argmax(logits, (seq.length - 1) * cfg.vocab_size, cfg.vocab_size));
        refSeq.push(argmax(referenceLogits(cfg, ref, refSeq).at(-1)!));
      }
      expect(solo[i]).toHaveLength(N);
      expect(solo[i]).toEqual(seq.slice(prompts[i]!.length));
      expect(solo[i]).toEqual(refSeq.slice(prompts[i]!.length));
    }
  });

  it('batched prompts of different lengths (left padded) generate as each prompt alone, whatever the pad id', async () => {
    expect(await model.generate(prompts, { maxNewTokens: N })).toEqual(solo);
    expect(await model.generate(prompts, { maxNewTokens: N, padId: 7 })).toEqual(solo);
    expect(await model.generate([prompts[2]!, prompts[1]!], { maxNewTokens: N })).toEqual([solo[2], solo[1]]);
  });

  it('eosId stops a row (eos not returned) while other rows continue', async () => {
    // Pick as eos the first token of row 0 that did not occur before it, at index k >= 1.
    const k = solo[0]!.findIndex((t, j) => j >= 1 && !solo[0]!.slice(0, j).includes(t));
    expect(k).toBeGreaterThan(0);
    const eos = solo[0]![k]!;
    const cut = (s: number[]) => (s.includes(eos) ? s.slice(0, s.indexOf(eos)) : s);
    const out = await model.generate(prompts, { maxNewTokens: N, eosId: eos });
    expect(out[0]).toEqual(solo[0]!.slice(0, k));
    expect(out).toEqual(solo.map(cut));
    // A single row that hits eos stops even with a huge budget.
    expect(await model.generate([prompts[0]!], { maxNewTokens: 10_000, eosId: eos })).toEqual([solo[0]!.slice(0, k)]);
  });

  it('never generates past max_position_embeddings, whatever maxNewTokens asks (the KV cache would grow without end)', async () => {
    const short = config({ max_position_embeddings: 12 });
    const m = (await build(short, 9)).model;
    try {
      const p = [randomTokens(new Rng(8), short.vocab_size, 9), randomTokens(new Rng(9), short.vocab_size, 4)];
      const out = await m.generate(p, { maxNewTokens: 1_000_000_000 });
      // Room is set by the longest prompt: 12 - 9 positions for every row.
      expect(out.map((o) => o.length)).toEqual([3, 3]);
    } finally {
      await m.dispose();
    }
  });

  it('tiny topP with temperature is greedy', async () => {
    expect(await model.generate(prompts, { maxNewTokens: N, temperature: 1, topP: 1e-9, seed: 5 })).toEqual(solo);
  });

  it('temperature / topP sampling is deterministic per seed and differs across seeds', async () => {
    // Flat-ish logits (default 0.02 init) so sampling has real choices.
    const flatCfg = config({});
    const flatModel = (await build(flatCfg, 5, 0.02)).model;
    const p = [randomTokens(new Rng(3), flatCfg.vocab_size, 4), randomTokens(new Rng(4), flatCfg.vocab_size, 2)];
    const opts = { maxNewTokens: 12, temperature: 1, topP: 0.9 };
    const a1 = await flatModel.generate(p, { ...opts, seed: 1 });
    const a2 = await flatModel.generate(p, { ...opts, seed: 1 });
    const b = await flatModel.generate(p, { ...opts, seed: 2 });
    const greedy = await flatModel.generate(p, { maxNewTokens: 12 });
    expect(a1).toEqual(a2);
    expect(a1.map((r) => r.length)).toEqual([12, 12]);
    expect(b).not.toEqual(a1);
    expect(a1).not.toEqual(greedy);
    expect(new Set(a1.flat()).size).toBeGreaterThan(6);
    await flatModel.dispose();
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([0.1, 2.0, -1, 1.9, 0.5]);

  it('is the argmax for temperature 0 and for a tiny topP', () => {
    const rng = new Rng(1);
    expect(sampleToken(logits, 0, 1, rng)).toBe(1);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, 1, 1e-9, rng)).toBe(1);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, 50, 1e-6, rng)).toBe(1);
  });

  it('samples softmax(logits / T), truncated to the top-p nucleus', () => {
    const rng = new Rng(2);
    const count = (l: Float32Array, t: number, p: number, n: number) => {
      const c = new Array<number>(l.length).fill(0);
      for (let i = 0; i < n; i++) c[sampleToken(l, t, p, rng)]!++;
      return c.map((x) => x / n);
    };
    // p = [0.25, 0.75] at T = 1; [1/(1+9), 9/10] at T = 0.5.
    const two = Float32Array.from([0, Math.log(3)]);
    expect(count(two, 1, 1, 20000)[1]).toBeCloseTo(0.75, 1);
    expect(Math.abs(count(two, 1, 1, 20000)[1]! - 0.75)).toBeLessThan(0.015);
    expect(Math.abs(count(two, 0.5, 1, 20000)[1]! - 0.9)).toBeLessThan(0.015);
    // probs 0.5, 0.3, 0.2: topP 0.6 keeps {0, 1}, renormalised to 5/8, 3/8.
    const three = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const f = count(three, 1, 0.6, 20000);
    expect(f[2]).toBe(0);
    expect(Math.abs(f[0]! - 5 / 8)).toBeLessThan(0.015);
  });

  it('same seed, same draws', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, 1.5, 0.95, rng));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });
});
