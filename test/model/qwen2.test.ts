// Qwen2 (model_type qwen2: LLaMA with q/k/v_proj biases) end to end, against the independent float64
// reference (./reference.ts): the KV-cache decode path, LoRA on biased projections, checkpoints with
// bias tensors, `model init`, and a LoRA training run. The prefill logits and NLL of a qwen2 model are
// checked with every other architecture in llama.test.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelInit } from '../../src/cli/model.js';
import { Engine } from '../../src/engine/engine.js';
import { Rng } from '../../src/engine/rng.js';
import { LocalTrainer, loraTarget } from '../../src/fl/local-trainer.js';
import { expectedTensorShapes, parseLlamaConfig, type LlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights, lmBatch, saveCheckpoint } from '../../src/model/model.js';
import { CheckpointError, parseSafetensorsHeader, readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { referenceLogits, referenceNll } from './reference.js';

const REL_TOL = 1e-4;
const STD = 0.2;

const qwen2 = (over: Record<string, unknown> = {}): LlamaConfig =>
  parseLlamaConfig({
    model_type: 'qwen2',
    architectures: ['Qwen2ForCausalLM'],
    vocab_size: 80,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rope_theta: 1e6,
    use_sliding_window: false,
    sliding_window: 4096,
    max_window_layers: 2,
    tie_word_embeddings: true,
    ...over,
  });

let engine: Engine;
let tmp: string;

beforeAll(async () => {
  engine = new Engine({ threads: 2 });
  tmp = await mkdtemp(join(tmpdir(), 'fedhpo-qwen2-test-'));
});

afterAll(async () => {
  await engine?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** initWeights plus random biases (initWeights zeroes them, as HF's init does). */
function weightsWithBiases(cfg: LlamaConfig, seed: number, std = STD): Map<string, Float32Array> {
  const w = initWeights(cfg, seed, std);
  const rng = new Rng(seed).fork('bias');
  for (const [name, t] of w) if (name.endsWith('.bias')) rng.fillNormal(t, std);
  return w;
}

const copy = (w: Map<string, Float32Array>) => new Map([...w].map(([k, v]) => [k, v.slice()]));

const tokens = (rng: Rng, vocab: number, n: number) => Array.from({ length: n }, () => rng.int(vocab));

/** max |a - b| / max |b|. */
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

const flat = (rows: Float64Array[]) => Float64Array.from(rows.flatMap((r) => Array.from(r)));

const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

describe('qwen2 forward and KV-cache decode vs the float64 reference', () => {
  const cfg = qwen2();
  let model: LlamaModel;
  let ref: Map<string, Float32Array>;
  const rng = new Rng(5);
  const prompts = [tokens(rng, cfg.vocab_size, 5), tokens(rng, cfg.vocab_size, 2), tokens(rng, cfg.vocab_size, 8)];
  const N = 6;

  beforeAll(async () => {
    const w = weightsWithBiases(cfg, 3);
    ref = copy(w);
    model = await LlamaModel.fromWeights(engine, cfg, w);
  });
  afterAll(async () => model?.dispose());

  it('greedy generation with the KV cache (batched, left padded) follows the reference argmax step by step', async () => {
    const batched = await model.generate(prompts, { maxNewTokens: N, padId: 7 });
    for (let i = 0; i < prompts.length; i++) {
      const seq = [...prompts[i]!];
      for (let step = 0; step < N; step++) seq.push(argmax(referenceLogits(cfg, ref, seq).at(-1)!));
      const want = seq.slice(prompts[i]!.length);
      expect(batched[i]).toEqual(want);
      expect((await model.generate([prompts[i]!], { maxNewTokens: N }))[0]).toEqual(want);
    }
  });

  it('the biases matter: the same weights with the biases zeroed are far from the model', async () => {
    const ids = prompts[2]!;
    const ours = (await model.logits([ids]))[0]!;
    expect(relMaxErr(ours, flat(referenceLogits(cfg, ref, ids)))).toBeLessThan(REL_TOL);
    for (const proj of ['q_proj', 'k_proj', 'v_proj']) {
      const zeroed = copy(ref);
      zeroed.get(`model.layers.0.self_attn.${proj}.bias`)!.fill(0);
      expect(relMaxErr(ours, flat(referenceLogits(cfg, zeroed, ids))), proj).toBeGreaterThan(100 * REL_TOL);
    }
    // A bias Qwen2 does not have is refused by the reference rather than ignored.
    const extra = copy(ref).set('model.layers.0.self_attn.o_proj.bias', new Float32Array(cfg.hidden_size));
    expect(() => referenceLogits(cfg, extra, ids)).toThrow(/o_proj\.bias/);
  });

  it('LoRA on the biased projections adds to the biased output, as PEFT does: equal to the merged weights', async () => {
    const adapter = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, 9);
    const bRng = new Rng(10);
    for (const [name, t] of adapter.tensors) if (name.endsWith('lora_B.weight')) bRng.fillNormal(t, 0.2);
    const merged = adapter.mergeInto(ref);
    const ids = prompts[0]!;
    const ours = (await model.logits([ids], { spec: adapter.graphSpec, feeds: adapter.feeds() }))[0]!;
    expect(relMaxErr(ours, flat(referenceLogits(cfg, merged, ids)))).toBeLessThan(REL_TOL);
    expect(relMaxErr(ours, flat(referenceLogits(cfg, ref, ids)))).toBeGreaterThan(100 * REL_TOL);
  });
});

describe('qwen2 checkpoints', () => {
  const cfg = qwen2({ tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 });
  const seqs = [tokens(new Rng(1), cfg.vocab_size, 9), tokens(new Rng(2), cfg.vocab_size, 6)];
  let good: string;

  beforeAll(async () => {
    good = join(tmp, 'good');
    await saveCheckpoint(good, cfg, weightsWithBiases(cfg, 4));
  });

  it('round trip: a Qwen2Config config.json, bias tensors in model.safetensors, the reference nll', async () => {
    const json = JSON.parse(await readFile(join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], use_sliding_window: false });
    const header = parseSafetensorsHeader(await readFile(join(good, 'model.safetensors')));
    expect(header.entries.get('model.layers.1.self_attn.k_proj.bias')?.shape).toEqual([16]);
    expect([...header.entries.keys()].sort()).toEqual([...expectedTensorShapes(cfg).keys()].sort());
    const loaded = await LlamaModel.load(good, engine);
    try {
      expect(loaded.cfg).toEqual({ ...cfg, torch_dtype: 'float32' });
      const got = await loaded.nll(seqs);
      const want = referenceNll(cfg, weightsWithBiases(cfg, 4), seqs);
      expect(got.tokens).toBe(want.tokens);
      expect(Math.abs(got.nll - want.nll) / want.nll).toBeLessThan(1e-5);
    } finally {
      await loaded.dispose();
    }
  });

  /** The good checkpoint with its tensors edited and/or its config.json replaced. */
  async function variant(name: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void, config?: object) {
    const dir = join(tmp, name);
    await saveCheckpoint(dir, cfg, weightsWithBiases(cfg, 4));
    const { tensors } = readSafetensors(await readFile(join(dir, 'model.safetensors')));
    edit(tensors);
    await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tensors));
    if (config) await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  async function loadError(dir: string): Promise<string> {
    const err = await LlamaModel.load(dir, engine).then(
      async (m) => {
        await m.dispose();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CheckpointError);
    return (err as Error).message;
  }

  it('a missing bias is refused naming the tensor and its shape', async () => {
    const dir = await variant('no-bias', (t) => t.delete('model.layers.1.self_attn.v_proj.bias'));
    expect(await loadError(dir)).toContain(
      `${join(dir, 'model.safetensors')}: missing tensor 'model.layers.1.self_attn.v_proj.bias' (config.json needs shape [16])`,
    );
  });

  it('the same checkpoint under a plain LLaMA config.json is refused at a bias, saying which biases the config gives', async () => {
    const json = JSON.parse(await readFile(join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
    const llama = { ...json, model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    const dir = await variant('as-llama', () => {}, llama);
    const msg = await loadError(dir);
    expect(msg).toMatch(/tensor 'model\.layers\.\d\.self_attn\.[qkv]_proj\.bias' is not part of a llama model with this config\.json/);
    expect(msg).toContain(`config.json's model_type "llama" with attention_bias false, mlp_bias false has no biases`);
  });

  it('an o_proj bias (which Qwen2 does not have) is refused as extra', async () => {
    const dir = await variant('o-bias', (t) => t.set('model.layers.0.self_attn.o_proj.bias', { shape: [32], data: new Float32Array(32) }));
    expect(await loadError(dir)).toContain(
      `tensor 'model.layers.0.self_attn.o_proj.bias' is not part of a qwen2 model with this config.json; ` +
        `config.json's model_type "qwen2" has biases only on q_proj, k_proj, v_proj`,
    );
  });

  it('model init makes a qwen2 checkpoint with zero q/k/v biases (HF nn.Linear init), loadable as such', async () => {
    const config = join(tmp, 'qwen2-config.json');
    await writeFile(config, JSON.stringify({ ...cfg, bos_token_id: undefined, eos_token_id: undefined }));
    const out = join(tmp, 'init');
    await modelInit({ config, out, seed: 3 });
    const { tensors } = readSafetensors(await readFile(join(out, 'model.safetensors')));
    const biases = [...tensors.keys()].filter((k) => k.endsWith('.bias'));
    expect(biases).toHaveLength(3 * cfg.num_hidden_layers);
    for (const b of biases) expect(tensors.get(b)!.data.every((x) => x === 0)).toBe(true);
    expect(tensors.get('model.layers.0.self_attn.q_proj.weight')!.data.some((x) => x !== 0)).toBe(true);
    const m = await LlamaModel.load(out, engine);
    expect(m.cfg.model_type).toBe('qwen2');
    await m.dispose();
  });
});

describe('LoRA training on a qwen2 model', () => {
  it('lowers the loss on its data; only adapter tensors train', async () => {
    const cfg = qwen2();
    const model = await LlamaModel.fromWeights(engine, cfg, weightsWithBiases(cfg, 6, 0.05));
    try {
      // A learnable pattern: each sequence counts up from a random start.
      const rng = new Rng(8);
      const data = Array.from({ length: 16 }, () => {
        const start = rng.int(cfg.vocab_size - 10);
        const ids = Array.from({ length: 9 }, (_, j) => start + j);
        return { ids, labels: ids.slice(1) };
      });
      const adapter = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, 1);
      const target = loraTarget(adapter);
      const batch = lmBatch(data.map((d) => d.ids));
      const before = await model.meanLoss([batch], target.evalFeeds());
      const trainer = new LocalTrainer(model, {
        steps: 10,
        batchSize: 8,
        seqLen: 8,
        lr: 2e-2,
        optimizer: { kind: 'adamw' },
        seed: 1,
        padId: 0,
      });
      const res = await trainer.run(target, data);
      expect(res.status).toBe('completed');
      expect(res.history.map((h) => h.loss).every(Number.isFinite)).toBe(true);
      const after = await model.meanLoss([batch], target.evalFeeds());
      expect(after.tokens).toBe(before.tokens);
      expect(after.loss).toBeLessThan(before.loss - 0.1);
      expect(Object.keys(target.params).length).toBeGreaterThan(0);
      expect(Object.keys(target.params).every((k) => k.includes('lora_'))).toBe(true);
    } finally {
      await model.dispose();
    }
  });
});
