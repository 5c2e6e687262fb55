// LoRA adapters against the HF PEFT definition: init, file layout, W + (alpha/r) B A, symbolic rank,
// which tensors train, a finite-difference gradient check and dropout masks.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/batching.js';
import { Engine, type DropoutMaskFeed } from '../../src/engine/engine.js';
import { Graph } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';

import { UserError } from '../../src/engine/errors.js';
import { Rng } from '../../src/engine/rng.js';
import { dropoutMask } from '../../src/engine/xoshiro.js';
import { LocalTrainer, loraTarget } from '../../src/fl/local-trainer.js';
import { parseLlamaConfig, type LlamaConfig } from '../../src/model/config.js';
import { trainingGraph } from '../../src/model/graphs.js';
import { PROJECTIONS, projectionShape, type Projection } from '../../src/model/llama.js';
import { LlamaModel, initWeights, lmBatch } from '../../src/model/model.js';
import { CheckpointError, loadSafetensorsFile, saveSafetensorsFile, type TensorF32 } from '../../src/model/safetensors.js';
import { LoraAdapter, dropoutMaskName, loraName, type LoraConfig } from '../../src/peft/lora.js';
import { deepJson, expectCleanError } from '../bounded.js';

// Small GQA model: q_proj [64, 64], k/v_proj [32, 64], o_proj [64, 64], gate/up [96, 64], down [64, 96].
const cfg: LlamaConfig = parseLlamaConfig({
  vocab_size: 48,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});
const ALL: Projection[] = [...PROJECTIONS];
const BASE_SEED = 11;

let engine: Engine;
let base: LlamaModel;
let tmp: string;

beforeAll(async () => {
  engine = new Engine({ threads: 2 });
  base = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, BASE_SEED));
  tmp = await mkdtemp(join(tmpdir(), 'fedhpo-lora-'));
});
afterAll(async () => {
  await engine?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Deterministic token sequences in [1, vocab). */
function sequences(n: number, len: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => 1 + rng.int(cfg.vocab_size - 1)));
}

/** Fill every lora_B with N(0, std) so the adapter changes the model. */
function randomizeB(adapter: LoraAdapter, seed: number, std = 0.1): LoraAdapter {
  const rng = new Rng(seed);
  for (const [name, t] of adapter.tensors) if (name.endsWith('lora_B.weight')) rng.fillNormal(t, std);
  return adapter;
}

const overlay = (a: LoraAdapter) => ({ spec: a.graphSpec, feeds: a.feeds() });

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('LoraAdapter.init', () => {
  it('draws A from U(-1/sqrt(in), 1/sqrt(in)) with shape [r, in] and sets B to zeros [out, r]', () => {
    const r = 8;
    const a = LoraAdapter.init(cfg, { r, alpha: 16, dropout: 0, targets: ALL }, 3);
    expect(a.tensors.size).toBe(2 * ALL.length * cfg.num_hidden_layers);
    for (let layer = 0; layer < cfg.num_hidden_layers; layer++)
      for (const proj of ALL) {
        const [out, inp] = projectionShape(cfg, proj);
        const A = a.tensors.get(loraName(layer, proj, 'A'))!;
        const B = a.tensors.get(loraName(layer, proj, 'B'))!;
        expect(a.shapeOf(loraName(layer, proj, 'A'))).toEqual([r, inp]);
        expect(a.shapeOf(loraName(layer, proj, 'B'))).toEqual([out, r]);
        expect(A.length).toBe(r * inp);
        expect(B.length).toBe(out * r);
        expect(B.every((v) => v === 0)).toBe(true);
        const bound = 1 / Math.sqrt(inp);
        let sum = 0;
        let sq = 0;
        for (const v of A) {
          expect(Math.abs(v)).toBeLessThanOrEqual(bound);
          sum += v;
          sq += v * v;
        }
        // U(-b, b): mean 0, variance b^2/3; with r*in >= 512 draws these are within a few std errors.
        const n = A.length;
        const mean = sum / n;
        const variance = sq / n - mean * mean;
        expect(Math.abs(mean)).toBeLessThan((4 * bound) / Math.sqrt(3 * n));
        expect(variance / ((bound * bound) / 3)).toBeGreaterThan(0.8);
        expect(variance / ((bound * bound) / 3)).toBeLessThan(1.2);
        // It really spans the range (not e.g. U(0, b) or a narrower one).
        expect(Math.min(...A)).toBeLessThan(-0.9 * bound);
        expect(Math.max(...A)).toBeGreaterThan(0.9 * bound);
      }
    expect(a.scaling).toBe(2);
    expect(a.size).toBe([...a.tensors.values()].reduce((s, t) => s + t.length, 0));
  });

  it('is deterministic for the seed and differs across seeds', () => {
    const c: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] };
    const a = LoraAdapter.init(cfg, c, 1);
    const b = LoraAdapter.init(cfg, c, 1);
    const d = LoraAdapter.init(cfg, c, 2);
    const n = loraName(1, 'v_proj', 'A');
    expect(b.tensors.get(n)).toEqual(a.tensors.get(n));
    expect(d.tensors.get(n)).not.toEqual(a.tensors.get(n));
  });

  it('rejects bad configs', () => {
    expect(() => LoraAdapter.init(cfg, { r: 0, alpha: 8, dropout: 0, targets: ['q_proj'] }, 1)).toThrow(/r must be a positive integer/);
    expect(() => LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 1, targets: ['q_proj'] }, 1)).toThrow(/dropout/);
    expect(() => LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: [] }, 1)).toThrow(/must not be empty/);
    expect(() => LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['lm_head' as Projection] }, 1)).toThrow(
      /unknown target module 'lm_head'/,
    );
  });

  it('a fresh adapter (B = 0) leaves logits and nll equal to the base model', async () => {
    const a = LoraAdapter.init(cfg, { r: 8, alpha: 16, dropout: 0, targets: ALL }, 5);
    const seqs = sequences(3, 12, 100);
    const [lBase, lAd] = [await base.logits(seqs), await base.logits(seqs, overlay(a))];
    for (let i = 0; i < seqs.length; i++) {
      expect(lBase[i]!.length).toBe(12 * cfg.vocab_size);
      expect(maxAbsDiff(lBase[i]!, lAd[i]!)).toBeLessThanOrEqual(1e-6 * maxAbs(lBase[i]!));
    }
    const nBase = await base.nll(seqs);
    const nAd = await base.nll(seqs, { adapter: overlay(a) });
    expect(nAd.tokens).toBe(nBase.tokens);
    expect(Math.abs(nAd.nll - nBase.nll)).toBeLessThanOrEqual(1e-6 * nBase.nll);
  });
});

describe('PEFT files', () => {
  const config: LoraConfig = { r: 4, alpha: 8, dropout: 0.05, targets: ['v_proj', 'q_proj', 'down_proj'] };
  let saved: LoraAdapter;
  let dir: string;

  beforeAll(async () => {
    saved = randomizeB(LoraAdapter.init(cfg, config, 21), 22);
    dir = join(tmp, 'adapter');
    await saved.save(dir, 'my/base-model');
  });

  it('writes adapter_config.json as PEFT does', async () => {
    const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'my/base-model',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      bias: 'none',
      use_dora: false,
      use_rslora: false,
      fan_in_fan_out: false,
    });
    expect([...(json.target_modules as string[])].sort()).toEqual(['down_proj', 'q_proj', 'v_proj']);
  });

  it('writes adapter_model.safetensors with PEFT names and [r, in] / [out, r] shapes', async () => {
    const f = await loadSafetensorsFile(join(dir, 'adapter_model.safetensors'));
    const want = new Map<string, number[]>();
    for (let layer = 0; layer < cfg.num_hidden_layers; layer++)
      for (const proj of ['q_proj', 'v_proj', 'down_proj'] as const) {
        const [out, inp] = projectionShape(cfg, proj);
        want.set(loraName(layer, proj, 'A'), [4, inp]);
        want.set(loraName(layer, proj, 'B'), [out, 4]);
      }
    expect(new Map([...f.tensors].map(([k, t]) => [k, t.shape]))).toEqual(want);
    // Spelled out once, exactly as PEFT's get_peft_model_state_dict names them.
    expect(f.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([4, 64]);
    expect(f.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.shape).toEqual([64, 4]);
    expect(f.tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape).toEqual([32, 4]);
    expect(f.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.shape).toEqual([4, 96]);
    expect([...f.dtypes.values()].every((d) => d === 'F32')).toBe(true);
    expect(f.metadata).toEqual({ format: 'pt' });
  });

  it('load round-trips exactly', async () => {
    const back = await LoraAdapter.load(dir, cfg);
    expect(back.config).toEqual({ ...config, targets: ['q_proj', 'v_proj', 'down_proj'] });
    expect(back.scaling).toBe(2);
    expect([...back.tensors.keys()].sort()).toEqual([...saved.tensors.keys()].sort());
    for (const [k, v] of saved.tensors) expect(back.tensors.get(k)).toEqual(v);
  });

  /** A copy of the saved adapter directory with its config and/or tensors edited. */
  async function variant(
    name: string,
    edit: { config?: (c: Record<string, unknown>) => void; tensors?: (t: Map<string, TensorF32>) => void },
  ): Promise<string> {
    const d = join(tmp, name);
    const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    edit.config?.(json);
    const { tensors } = await loadSafetensorsFile(join(dir, 'adapter_model.safetensors'));
    edit.tensors?.(tensors);
    await saveSafetensorsFile(join(d, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    await writeFile(join(d, 'adapter_config.json'), JSON.stringify(json));
    return d;
  }

  async function loadError(d: string): Promise<Error> {
    const e = await LoraAdapter.load(d, cfg).then(
      () => null,
      (err: Error) => err,
    );
    expect(e).toBeInstanceOf(Error);
    return e!;
  }

  it('names the file and tensor when a tensor is missing', async () => {
    const missing = loraName(1, 'down_proj', 'B');
    const d = await variant('missing', { tensors: (t) => t.delete(missing) });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(join(d, 'adapter_model.safetensors'));
    expect(e.message).toContain(`missing tensor '${missing}'`);
  });

  it('names the file, tensor and both shapes when a shape is wrong', async () => {
    const bad = loraName(0, 'q_proj', 'A');
    const d = await variant('shape', { tensors: (t) => t.set(bad, { shape: [4, 32], data: new Float32Array(128) }) });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(join(d, 'adapter_model.safetensors'));
    expect(e.message).toContain(bad);
    expect(e.message).toContain('[4,32]');
    expect(e.message).toContain('[4,64]');
  });

  it('rejects tensors whose rank disagrees with adapter_config r', async () => {
    const d = await variant('rank', { config: (c) => (c.r = 8) });
    const e = await loadError(d);
    expect(e.message).toContain(join(d, 'adapter_model.safetensors'));
    expect(e.message).toMatch(/has shape \[4,64\] but .* need \[8,64\]/);
  });

  it('names adapter_config.json and the module for an unknown target module', async () => {
    const d = await variant('target', { config: (c) => (c.target_modules = ['q_proj', 'v_proj', 'down_proj', 'lm_head']) });
    const e = await loadError(d);
    expect(e.message).toContain(join(d, 'adapter_config.json'));
    expect(e.message).toContain("unknown target module 'lm_head'");
  });

  it('refuses use_dora=true (a different method) naming the file', async () => {
    const d = await variant('dora', { config: (c) => (c.use_dora = true) });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(join(d, 'adapter_config.json'));
    expect(e.message).toContain('use_dora');
  });

  it('refuses a non-LORA peft_type', async () => {
    const d = await variant('ia3', { config: (c) => (c.peft_type = 'IA3') });
    const e = await loadError(d);
    expect(e.message).toContain(join(d, 'adapter_config.json'));
    expect(e.message).toContain('IA3');
  });

  it('uses PEFT defaults for absent keys (lora_alpha = 8, lora_dropout = 0)', async () => {
    const d = await variant('defaults', {
      config: (c) => {
        delete c.lora_alpha;
        delete c.lora_dropout;
      },
    });
    const back = await LoraAdapter.load(d, cfg);
    expect(back.config.alpha).toBe(8);
    expect(back.config.dropout).toBe(0);
  });

  it('refuses per-module rank/alpha patterns and regex target_modules instead of misapplying them', async () => {
    for (const [name, edit, what] of [
      ['alpha-pattern', (c: Record<string, unknown>) => (c.alpha_pattern = { 'model.layers.0.self_attn.q_proj': 32 }), 'alpha_pattern'],
      ['rank-pattern', (c: Record<string, unknown>) => (c.rank_pattern = { q_proj: 2 }), 'rank_pattern'],
      ['regex', (c: Record<string, unknown>) => (c.target_modules = '.*(q|v)_proj'), 'target_modules'],
    ] as const) {
      const d = await variant(name, { config: edit });
      const e = await loadError(d);
      expect(e.message).toContain(join(d, 'adapter_config.json'));
      expect(e.message).toContain(what);
    }
    // Empty patterns, as PEFT writes them, are fine.
    const ok = await variant('empty-patterns', { config: (c) => Object.assign(c, { rank_pattern: {}, alpha_pattern: {} }) });
    await expect(LoraAdapter.load(ok, cfg)).resolves.toBeInstanceOf(LoraAdapter);
  });

  it('names an extra tensor that the config does not account for', async () => {
    const extra = loraName(0, 'k_proj', 'A');
    const d = await variant('extra', { tensors: (t) => t.set(extra, { shape: [4, 64], data: new Float32Array(256) }) });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(join(d, 'adapter_model.safetensors'));
    expect(e.message).toContain(extra);
  });

  it('refuses every malformed adapter_config.json with one error naming the file and key', async () => {
    const cases: [string, (c: Record<string, unknown>) => unknown, string][] = [
      ['null', () => null, 'expected a JSON object, got null'],
      ['array', () => [1, 2], 'expected a JSON object, got [1,2]'],
      ['r-0', (c) => Object.assign(c, { r: 0 }), "'r' must be a positive integer (at most 4096), got 0"],
      ['r-string', (c) => Object.assign(c, { r: '4' }), '\'r\' must be a positive integer (at most 4096), got "4"'],
      ['r-huge', (c) => Object.assign(c, { r: 1_000_000_000 }), "'r' must be a positive integer (at most 4096), got 1000000000"],
      ['alpha-inf', (c) => Object.assign(c, { lora_alpha: -1 }), "'lora_alpha' must be a finite number > 0, got -1"],
      ['dropout-1', (c) => Object.assign(c, { lora_dropout: 1 }), "'lora_dropout' must be a number in [0, 1), got 1"],
      [
        'targets-numbers',
        (c) => Object.assign(c, { target_modules: [1, 2] }),
        "'target_modules' entry 0 must be a module name (a string), got 1",
      ],
      [
        'targets-empty',
        (c) => Object.assign(c, { target_modules: [] }),
        "'target_modules' must be a non-empty list of module names, got []",
      ],
      ['targets-missing', (c) => delete c.target_modules, "missing required key 'target_modules'"],
      ['targets-null', (c) => Object.assign(c, { target_modules: null }), "missing required key 'target_modules'"],
      ['peft-missing', (c) => delete c.peft_type, "missing required key 'peft_type'"],
      [
        'peft-prefix',
        (c) => Object.assign(c, { peft_type: 'PREFIX_TUNING' }),
        `'peft_type' is "PREFIX_TUNING"; only "LORA" adapters are supported`,
      ],
      ['peft-object', (c) => Object.assign(c, { peft_type: { x: 1 } }), `'peft_type' is {"x":1}`],
      ['bias-all', (c) => Object.assign(c, { bias: 'all' }), `'bias' is "all"; only "none" is supported`],
      ['rslora-string', (c) => Object.assign(c, { use_rslora: 'yes' }), `'use_rslora' must be a boolean, got "yes"`],
      ['layers', (c) => Object.assign(c, { layers_to_transform: [0] }), `'layers_to_transform' is not supported`],
      ['save', (c) => Object.assign(c, { modules_to_save: ['lm_head'] }), `'modules_to_save' is not supported`],
      ['pattern-list', (c) => Object.assign(c, { rank_pattern: [1] }), `'rank_pattern' must be an object, got [1]`],
    ];
    await Promise.all(
      cases.map(async ([name, edit, message]) => {
        const d = await variant(`bad-${name}`, {});
        const json = JSON.parse(await readFile(join(d, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
        const edited = edit(json);
        await writeFile(join(d, 'adapter_config.json'), JSON.stringify(name === 'null' || name === 'array' ? edited : json));
        const e = await expectCleanError(() => LoraAdapter.load(d, cfg), [`${join(d, 'adapter_config.json')}: ${message}`]);
        expect(e, name).toBeInstanceOf(CheckpointError);
      }),
    );
  });

  it('shows a 100,000-deep value in adapter_config.json without overflowing the stack', async () => {
    const d = await variant('bad-deep', {});
    const text = await readFile(join(d, 'adapter_config.json'), 'utf8');
    await writeFile(
      join(d, 'adapter_config.json'),
      text.replace(/^\{/, `{"target_modules": ${deepJson(100_000, '"q_proj"')},`).replace(/"target_modules":\[[^\]]*\],?/, ''),
    );
    const e = await expectCleanError(
      () => LoraAdapter.load(d, cfg),
      [`${join(d, 'adapter_config.json')}: 'target_modules' entry 0 must be a module name`],
    );
    expect(e.message.length).toBeLessThan(300);
  });

  it('refuses tensors that disagree with adapter_config: dtype, NaN/Inf (naming tensor and index)', async () => {
    const a = loraName(1, 'v_proj', 'B');
    const nan = await variant('nan', {
      tensors: (t) => {
        t.get(a)!.data[2 * 4 + 1] = Number.NaN; // [out 32, r 4]: row 2, column 1
      },
    });
    await expectCleanError(
      () => LoraAdapter.load(nan, cfg),
      [`${join(nan, 'adapter_model.safetensors')}: tensor '${a}' holds NaN at index [2, 1]`],
    );
    const inf = await variant('inf', {
      tensors: (t) => {
        t.get(loraName(0, 'q_proj', 'A'))!.data[0] = Number.POSITIVE_INFINITY;
      },
    });
    await expectCleanError(() => LoraAdapter.load(inf, cfg), [`holds Infinity at index [0, 0]`]);
    // An I32 tensor of the right shape: valid safetensors, but not LoRA weights.
    const int = await variant('int', {});
    const bytes = await readFile(join(int, 'adapter_model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    const relabelled = header.replace(`"${a}":{"dtype":"F32"`, `"${a}":{"dtype":"I32"`);
    expect(relabelled).not.toBe(header);
    await writeFile(
      join(int, 'adapter_model.safetensors'),
      Buffer.concat([bytes.subarray(0, 8), Buffer.from(relabelled), bytes.subarray(8 + n)]),
    );
    await expectCleanError(() => LoraAdapter.load(int, cfg), [`tensor '${a}' has dtype I32; LoRA weights must be F32, F16, BF16, F64`]);
  });

  it('refuses adapter files that are FIFOs or /dev/zero at once', async () => {
    const fifo = await variant('fifo', {});
    await rm(join(fifo, 'adapter_config.json'));
    execFileSync('mkfifo', [join(fifo, 'adapter_config.json')]);
    await expectCleanError(() => LoraAdapter.load(fifo, cfg), [`${join(fifo, 'adapter_config.json')}: not a regular file`], { ms: 5000 });
    const zero = await variant('zero', {});
    await rm(join(zero, 'adapter_model.safetensors'));
    await symlink('/dev/zero', join(zero, 'adapter_model.safetensors'));
    await expectCleanError(() => LoraAdapter.load(zero, cfg), [`${join(zero, 'adapter_model.safetensors')}: not a regular file`], {
      ms: 5000,
      peakRiseMb: 100,
    });
  });

  it('names the missing adapter_config.json', async () => {
    const e = await loadError(join(tmp, 'does-not-exist'));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain(join(tmp, 'does-not-exist', 'adapter_config.json'));
  });
});

describe('applying the adapter like PEFT', () => {
  it('logits with the adapter equal the base with W + (alpha/r) B A merged in (all seven projections)', async () => {
    const a = randomizeB(LoraAdapter.init(cfg, { r: 4, alpha: 12, dropout: 0, targets: ALL }, 31), 32);
    expect(a.scaling).toBe(3);
    const merged = await LlamaModel.fromWeights(engine, cfg, a.mergeInto(initWeights(cfg, BASE_SEED)));
    try {
      const seqs = sequences(2, 10, 200);
      const lAd = await base.logits(seqs, overlay(a));
      const lMerged = await merged.logits(seqs);
      const lBase = await base.logits(seqs);
      for (let i = 0; i < seqs.length; i++) {
        const scale = maxAbs(lMerged[i]!);
        expect(maxAbsDiff(lAd[i]!, lMerged[i]!)).toBeLessThanOrEqual(1e-4 * scale);
        // Not vacuous: the adapter moves the logits far more than the tolerance.
        expect(maxAbsDiff(lAd[i]!, lBase[i]!)).toBeGreaterThan(0.05 * scale);
      }
    } finally {
      await merged.dispose();
    }
  });

  it('mergeInto computes W + (alpha/r) B A entrywise and leaves other tensors alone', () => {
    const a = randomizeB(LoraAdapter.init(cfg, { r: 2, alpha: 5, dropout: 0, targets: ['o_proj'] }, 41), 42);
    const w = initWeights(cfg, 3);
    const m = a.mergeInto(w);
    const key = 'model.layers.1.self_attn.o_proj.weight';
    const [out, inp] = projectionShape(cfg, 'o_proj');
    const A = a.tensors.get(loraName(1, 'o_proj', 'A'))!;
    const B = a.tensors.get(loraName(1, 'o_proj', 'B'))!;
    for (const [o, i] of [
      [0, 0],
      [out - 1, inp - 1],
      [7, 13],
    ] as const) {
      const want = w.get(key)![o * inp + i]! + 2.5 * (B[o * 2]! * A[i]! + B[o * 2 + 1]! * A[inp + i]!);
      expect(m.get(key)![o * inp + i]).toBeCloseTo(want, 6);
    }
    expect(m.get('model.layers.1.self_attn.q_proj.weight')).toBe(w.get('model.layers.1.self_attn.q_proj.weight'));
    expect(m.get(key)).not.toBe(w.get(key)); // the input map is not modified
    expect(() => a.mergeInto(new Map())).toThrow(/lack 'model.layers.0.self_attn.o_proj.weight'/);
  });
});

describe('training graph', () => {
  const targets: Projection[] = ['q_proj', 'v_proj', 'gate_proj'];
  const batch: Batch = lmBatch(sequences(2, 9, 300));

  it('keeps the rank symbolic: r=4 and r=16 share one exported graph, and both run', async () => {
    const a4 = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets }, 1);
    const a16 = LoraAdapter.init(cfg, { r: 16, alpha: 8, dropout: 0, targets }, 1);
    const g4 = trainingGraph(cfg, 'adapter', a4.graphSpec);
    const g16 = trainingGraph(cfg, 'adapter', a16.graphSpec);
    expect(g16).toBe(g4);
    expect(g16.signature).toBe(g4.signature);
    for (const a of [a4, a16]) {
      const r = await base.gradients('adapter', batch, a.feeds(), a.graphSpec);
      expect(r.tokens).toBe(16);
      expect(Number.isFinite(r.lossSum)).toBe(true);
      for (const [k, g] of r.grads) expect(g.length).toBe(a.tensors.get(k)!.length);
    }
  });

  it('trains only adapter tensors; for B = 0 grad A is zero and grad B is not', async () => {
    const a = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets }, 2);
    const graph = trainingGraph(cfg, 'adapter', a.graphSpec);
    expect([...graph.params].sort()).toEqual([...a.tensors.keys()].sort());
    // y = x W^T + s (x A^T) B^T:  dL/dB = s G^T (x A^T)  (non-zero),  dL/dA = s B^T G^T x = 0 when B = 0.
    const r = await base.gradients('adapter', batch, a.feeds(), a.graphSpec);
    expect([...r.grads.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [name, g] of r.grads) {
      if (name.endsWith('lora_A.weight')) expect(maxAbs(g)).toBe(0);
      else expect(maxAbs(g)).toBeGreaterThan(1e-6);
    }
    // Once B is non-zero, A gets a gradient too.
    randomizeB(a, 3);
    const r2 = await base.gradients('adapter', batch, a.feeds(), a.graphSpec);
    for (const g of r2.grads.values()) expect(maxAbs(g)).toBeGreaterThan(1e-6);
  });

  it('the lora_B gradient matches s * G^T (x A^T) in scale: it is linear in the scaling', async () => {
    // With B = 0 the forward pass does not depend on s, so dL/dB must be exactly proportional to s.
    const a = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets }, 4);
    const b = LoraAdapter.init(cfg, { r: 4, alpha: 24, dropout: 0, targets }, 4);
    const ra = await base.gradients('adapter', batch, a.feeds(), a.graphSpec);
    const rb = await base.gradients('adapter', batch, b.feeds(), b.graphSpec);
    const n = loraName(0, 'v_proj', 'B');
    const ga = ra.grads.get(n)!;
    const gb = rb.grads.get(n)!;
    for (let i = 0; i < ga.length; i++) expect(gb[i]!).toBeCloseTo(3 * ga[i]!, 5);
  });

  it('matches central finite differences of the loss for lora_A and lora_B entries', async () => {
    // The graph runs in float32, so each loss evaluation is only good to a few ulps of lossSum
    // (~62 here: ulp 3.8e-6). A central difference divides that by 2*eps, so eps must be large:
    // with eps = 1e-2 the rounding noise is <= ~8 ulp / 2eps ~ 3e-3 while the O(eps^2) truncation
    // error of this smooth model is far smaller. We check the largest-gradient entry of each tensor
    // (scaling 8 makes the LoRA gradients large), require it to dwarf that noise, and allow the
    // noise plus 1% relative error. (float64 would allow eps ~1e-6 and 1e-6 tolerances.)
    const a = randomizeB(LoraAdapter.init(cfg, { r: 4, alpha: 32, dropout: 0, targets }, 5), 6, 0.05);
    const { grads, lossSum } = await base.gradients('adapter', batch, a.feeds(), a.graphSpec);
    const lossAt = async (name: string, i: number, delta: number): Promise<number> => {
      const t = a.tensors.get(name)!;
      const old = t[i]!;
      t[i] = old + delta;
      try {
        return (await base.loss(batch, overlay(a))).lossSum;
      } finally {
        t[i] = old;
      }
    };
    expect((await base.loss(batch, overlay(a))).lossSum).toBeCloseTo(lossSum, 3);
    for (const name of [loraName(1, 'q_proj', 'A'), loraName(0, 'gate_proj', 'B'), loraName(1, 'v_proj', 'B')]) {
      const g = grads.get(name)!;
      let i = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]!) > Math.abs(g[i]!)) i = j;
      const eps = 1e-2;
      const fd = ((await lossAt(name, i, eps)) - (await lossAt(name, i, -eps))) / (2 * eps);
      const noise = (8 * 2 ** -23 * Math.abs(lossSum)) / (2 * eps);
      expect(Math.abs(g[i]!)).toBeGreaterThan(5 * noise);
      expect(Math.abs(fd - g[i]!)).toBeLessThanOrEqual(noise + 0.01 * Math.abs(g[i]!));
    }
  });
});

describe('dropout', () => {
  const targets: Projection[] = ['q_proj', 'o_proj', 'down_proj'];

  it('draws masks of 0 or 1/(1-p) with a fraction ~p of zeros, one [b, s, in] mask per site', () => {
    const p = 0.25;
    const a = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: p, targets }, 1);
    const feeds = a.dropoutFeeds(3, 7, new Rng(9));
    const maskOf = (f: DropoutMaskFeed) => dropoutMask(f.rng, f.dims[0]! * f.dims[1]! * f.dims[2]!, f.p);
    expect(Object.keys(feeds).sort()).toEqual(
      a
        .sites()
        .map(({ layer, proj }) => dropoutMaskName(layer, proj))
        .sort(),
    );
    let zeros = 0;
    let total = 0;
    for (const { layer, proj } of a.sites()) {
      const m = feeds[dropoutMaskName(layer, proj)]!;
      expect(m.dims).toEqual([3, 7, projectionShape(cfg, proj)[1]]);
      for (const v of maskOf(m)) {
        expect(v === 0 || v === Math.fround(1 / (1 - p))).toBe(true);
        if (v === 0) zeros++;
        total++;
      }
    }
    // total = 2 layers * 21 positions * (64 + 64 + 96) = 9408: std of the fraction ~0.0045.
    expect(Math.abs(zeros / total - p)).toBeLessThan(0.02);
    // Same rng state -> same masks; p = 0 -> no feeds.
    expect(a.dropoutFeeds(3, 7, new Rng(9))).toEqual(feeds);
    expect(a.dropoutFeeds(3, 7, new Rng(10))).not.toEqual(feeds);
    expect(LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets }, 1).dropoutFeeds(3, 7, new Rng(9))).toEqual({});
  });

  it('mask recipes give the masks of drawing every site in turn from the rng, which ends where those draws end', () => {
    const p = 0.3;
    const a = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: p, targets }, 1);
    const rng = new Rng(21).fork('dropout');
    const reference = Rng.fromState(rng.state());
    const feeds = a.dropoutFeeds(2, 5, rng);
    // The reference: two 16-bit halves of each 32-bit draw against p resolved to 1/65536.
    const threshold = Math.round(p * 65536);
    const keep = Math.fround(1 / (1 - p));
    for (const { layer, proj } of a.sites()) {
      const f = feeds[dropoutMaskName(layer, proj)]!;
      const n = 2 * 5 * projectionShape(cfg, proj)[1] + 1; // odd, so the last draw's high half is unused
      const want = new Float32Array(n - 1);
      for (let i = 0; i < want.length; i += 2) {
        const u = reference.nextU32();
        want[i] = (u & 0xffff) < threshold ? 0 : keep;
        want[i + 1] = u >>> 16 < threshold ? 0 : keep;
      }
      expect(dropoutMask(f.rng, n - 1, f.p)).toEqual(want);
      expect(dropoutMask(f.rng, n, f.p).subarray(0, n - 1)).toEqual(want);
    }
    expect(rng.nextU32()).toBe(reference.nextU32());
  });

  it('the engine worker builds the mask a recipe describes', async () => {
    const g = new Graph();
    const mask = g.input('mask', 'float32', [2, 3, 5]);
    const model = exportOnnx(g, { y: g.identity(mask) });
    const recipe: DropoutMaskFeed = { kind: 'dropout-mask', dims: [2, 3, 5], p: 0.5, rng: new Rng(4).state().s };
    const out = await engine.run(model, { mask: recipe });
    expect(out.y!.dims).toEqual([2, 3, 5]);
    expect(out.y!.data).toEqual(dropoutMask(recipe.rng, 30, 0.5));
    expect(new Set(out.y!.data as Float32Array)).toEqual(new Set([0, 2]));
  });

  it('applies the mask to the LoRA branch only (as PEFT: lora_B(lora_A(dropout(x))))', async () => {
    const batch = lmBatch(sequences(2, 8, 400));
    const a = randomizeB(LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0.5, targets }, 2), 3);
    const noDrop = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets }, 2);
    for (const [k, v] of a.tensors) noDrop.tensors.set(k, v);
    const masks = (value: number) =>
      Object.fromEntries(
        a.sites().map(({ layer, proj }) => {
          const inp = projectionShape(cfg, proj)[1];
          return [
            dropoutMaskName(layer, proj),
            { dtype: 'float32' as const, dims: [2, 7, inp], data: new Float32Array(2 * 7 * inp).fill(value) },
          ];
        }),
      );
    // All-ones masks: exactly the adapter without dropout.
    const ones = await base.gradients('adapter', batch, { ...a.feeds(), ...masks(1) }, a.graphSpec);
    const plain = await base.gradients('adapter', batch, noDrop.feeds(), noDrop.graphSpec);
    expect(ones.lossSum).toBeCloseTo(plain.lossSum, 4);
    for (const [k, g] of plain.grads) expect(maxAbsDiff(ones.grads.get(k)!, g)).toBeLessThanOrEqual(1e-5 * Math.max(1e-3, maxAbs(g)));
    // All-zero masks: the LoRA branch vanishes, the base path does not: base loss, zero gradients.
    const zeros = await base.gradients('adapter', batch, { ...a.feeds(), ...masks(0) }, a.graphSpec);
    const baseLoss = await base.loss(batch);
    expect(zeros.lossSum).toBeCloseTo(baseLoss.lossSum, 4);
    for (const g of zeros.grads.values()) expect(maxAbs(g)).toBe(0);
  });

  it('training with dropout is deterministic for the seed (and the seed matters)', async () => {
    const rng = new Rng(77);
    const data = Array.from({ length: 24 }, () => {
      const ids = Array.from({ length: 9 }, () => 1 + rng.int(cfg.vocab_size - 1));
      return { ids, labels: ids.slice(1) };
    });
    const run = async (seed: number) => {
      const a = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0.3, targets }, 8);
      const trainer = new LocalTrainer(base, { steps: 4, batchSize: 4, seqLen: 8, lr: 1e-2, optimizer: { kind: 'adamw' }, seed, padId: 0 });
      const res = await trainer.run(loraTarget(a), data);
      return { losses: res.history.map((h) => h.loss), b: a.tensors.get(loraName(1, 'down_proj', 'B'))!.slice() };
    };
    const r1 = await run(5);
    const r2 = await run(5);
    const r3 = await run(6);
    expect(r1.losses).toHaveLength(4);
    expect(r2.losses).toEqual(r1.losses);
    expect(r2.b).toEqual(r1.b);
    expect(r3.losses).not.toEqual(r1.losses);
  });
});
