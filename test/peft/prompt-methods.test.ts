// Prompt tuning, P-tuning and prefix tuning against PEFT's definitions: logits (training, evaluation
// and cached generation graphs) against the float64 reference fed as PEFT feeds the model, the
// graph's gradients against finite differences of that reference, the PEFT file layout (and
// refusal of malformed files), and training that lowers the loss. The reference side here (the
// encoders, P's [n, 2L, kv, hd] view) is written from PEFT's modules, not from src/peft.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatches, type Encoded } from '../../src/data/batching.js';
import { Engine } from '../../src/engine/engine.js';
import { Rng } from '../../src/engine/rng.js';
import { LocalTrainer, adapterTarget, evaluate } from '../../src/fl/local-trainer.js';
import { parseLlamaConfig, type LlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights, lmBatch } from '../../src/model/model.js';
import { CheckpointError } from '../../src/model/safetensors.js';
import type { Adapter } from '../../src/peft/adapter.js';
import { createAdapter, loadAdapter, loraSettings, type PeftSettings } from '../../src/peft/methods.js';
import { referenceLogits, type ReferencePrompt } from '../model/reference.js';

// Small GQA model (4 query heads, 2 kv heads, head_dim 16).
const cfg: LlamaConfig = parseLlamaConfig({
  vocab_size: 48,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});
const D = cfg.hidden_size;
const KV = cfg.num_key_value_heads;
const HD = cfg.head_dim;
const L = cfg.num_hidden_layers;

const settings = (method: PeftSettings['method'], o: Partial<PeftSettings> = {}): PeftSettings => ({
  ...loraSettings({ r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }),
  method,
  numVirtualTokens: 3,
  encoderHiddenSize: 24,
  ...o,
});
const CASES: [string, PeftSettings][] = [
  ['prompt tuning', settings('prompt')],
  ['P-tuning', settings('ptuning')],
  ['prefix tuning', settings('prefix')],
  ['prefix tuning with projection', settings('prefix', { prefixProjection: true })],
];

let engine: Engine;
let base: LlamaModel;
let weights: Map<string, Float32Array>;
let tmp: string;

beforeAll(async () => {
  engine = new Engine({ threads: 2 });
  weights = initWeights(cfg, 21, 0.2);
  const copy = new Map([...weights].map(([k, v]) => [k, v.slice()]));
  base = await LlamaModel.fromWeights(engine, cfg, copy);
  tmp = await mkdtemp(join(tmpdir(), 'fedhpo-prompt-'));
});
afterAll(async () => {
  await engine?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function sequences(n: number, len: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => 1 + rng.int(cfg.vocab_size - 1)));
}

const newAdapter = (s: PeftSettings, seed = 5): Adapter => createAdapter(cfg, s, seed, weights.get('model.embed_tokens.weight'));

// ---- the PEFT side, in float64 -------------------------------------------------------------

type Arr = Float32Array | Float64Array;

/** torch.nn.Linear: y = x W^T + b, W [out, in]. */
function linear(x: Float64Array, w: Arr, b: Arr): Float64Array {
  const out = b.length;
  const inp = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < inp; i++) s += x[i]! * w[o * inp + i]!;
    y[o] = s;
  }
  return y;
}
const rows = (t: Arr, width: number): Float64Array[] =>
  Array.from({ length: t.length / width }, (_, j) => Float64Array.from(t.subarray(j * width, (j + 1) * width)));

/** What PEFT feeds the model for an adapter's trainable tensors (prompt_encoder.default.* / prompt_embeddings). */
function pefts(method: PeftSettings['method'], t: ReadonlyMap<string, Arr>): ReferencePrompt {
  const get = (k: string) => t.get(k)!;
  const enc = (k: string) => get(`prompt_encoder.default.${k}`);
  if (method === 'prompt') return { virtual: rows(get('prompt_embeddings'), D) };
  if (method === 'ptuning') {
    // PromptEncoder (MLP): mlp_head = Linear, ReLU, Linear, ReLU, Linear.
    const relu = (x: Float64Array) => x.map((v) => Math.max(0, v));
    const virtual = rows(enc('embedding.weight'), D).map((e) => {
      const h1 = relu(linear(e, enc('mlp_head.0.weight'), enc('mlp_head.0.bias')));
      const h2 = relu(linear(h1, enc('mlp_head.2.weight'), enc('mlp_head.2.bias')));
      return linear(h2, enc('mlp_head.4.weight'), enc('mlp_head.4.bias'));
    });
    return { virtual };
  }
  // PrefixEncoder: P = embedding, or transform(embedding) = Linear, Tanh, Linear; then
  // P.view(n, 2L, kv, hd).permute(2, 0(batch), 3, 1, 4).split(2): layer l = slots (2l, 2l+1).
  const width = 2 * L * KV * HD;
  let P: Float64Array[];
  if (t.has('prompt_encoder.default.transform.0.weight')) {
    P = rows(enc('embedding.weight'), KV * HD).map((e) =>
      linear(
        linear(e, enc('transform.0.weight'), enc('transform.0.bias')).map(Math.tanh),
        enc('transform.2.weight'),
        enc('transform.2.bias'),
      ),
    );
  } else P = rows(enc('embedding.weight'), width);
  const slot = (s: number) => Array.from({ length: KV }, (_, h) => P.map((row) => row.slice((s * KV + h) * HD, (s * KV + h + 1) * HD)));
  return { prefix: Array.from({ length: L }, (_, l) => ({ key: slot(2 * l), value: slot(2 * l + 1) })) };
}

/** Summed next-token cross-entropy of sequences (inputs seq[:-1], labels seq[1:]) under the reference. */
function referenceLossSum(seqs: number[][], prompt: ReferencePrompt): number {
  let sum = 0;
  for (const seq of seqs) {
    const logits = referenceLogits(cfg, weights, seq.slice(0, -1), prompt);
    logits.forEach((row, j) => {
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - max);
      sum += max + Math.log(z) - row[seq[j + 1]!]!;
    });
  }
  return sum;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe.each(CASES)('%s', (_name, s) => {
  it('logits of the inference graph match the float64 reference fed as PEFT feeds it', async () => {
    const a = newAdapter(s);
    const seqs = sequences(2, 7, 3);
    const got = await base.logits(seqs, a.inference());
    for (let i = 0; i < seqs.length; i++) {
      const want = referenceLogits(cfg, weights, seqs[i]!, pefts(s.method, a.tensors));
      expect(got[i]!.length).toBe(want.length * cfg.vocab_size);
      let scale = 0;
      let err = 0;
      want.forEach((row, j) => {
        row.forEach((x, k) => {
          scale = Math.max(scale, Math.abs(x));
          err = Math.max(err, Math.abs(x - got[i]![j * cfg.vocab_size + k]!));
        });
      });
      expect(err).toBeLessThan(1e-4 * scale);
    }
    // The adapter changes the model: the reference without it disagrees.
    const plain = referenceLogits(cfg, weights, seqs[0]!);
    expect(Math.abs(plain[0]![0]! - got[0]![0]!)).toBeGreaterThan(1e-3);
  });

  it('training and evaluation losses equal the reference loss; gradients match its finite differences', async () => {
    const a = newAdapter(s);
    const seqs = sequences(3, 8, 4);
    const batch = lmBatch(seqs);
    const want = referenceLossSum(seqs, pefts(s.method, a.tensors));
    const { lossSum, tokens, grads } = await base.gradients(
      'adapter',
      batch,
      a.trainFeeds(batch.batch, batch.seq, new Rng(1)),
      a.graphSpec,
    );
    expect(tokens).toBe(3 * 7); // no loss on virtual tokens
    expect(Math.abs(lossSum - want)).toBeLessThan(1e-5 * want);
    expect(Math.abs((await base.loss(batch, a.inference())).lossSum - want)).toBeLessThan(1e-5 * want);
    expect([...grads.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    // Central differences of the float64 reference (eps 1e-4: truncation ~1e-8, rounding ~1e-12)
    // at each tensor's largest-gradient entry and one more; the graph computes in float32.
    for (const [name, g] of grads) {
      const t = a.tensors.get(name)!;
      let top = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]!) > Math.abs(g[top]!)) top = j;
      for (const i of [top, (top + 7) % g.length]) {
        const old = t[i]!;
        const eps = 1e-4;
        // On float64 copies: float32 storage would round old ± eps.
        const at = (x: number) => {
          const t64 = new Map([...a.tensors].map(([k, v]) => [k, Float64Array.from(v)]));
          t64.get(name)![i] = x;
          return referenceLossSum(seqs, pefts(s.method, t64));
        };
        const fd = (at(old + eps) - at(old - eps)) / (2 * eps);
        expect(Math.abs(fd - g[i]!)).toBeLessThan(2e-3 * Math.max(Math.abs(g[top]!), 1e-3));
      }
    }
  });

  it('greedy generation with a KV cache equals argmax decoding of the reference (left-padded batch)', async () => {
    const a = newAdapter(s);
    const prompts = [sequences(1, 3, 7)[0]!, sequences(1, 5, 8)[0]!];
    const out = await base.generate(prompts, { maxNewTokens: 4, adapter: a.inference() });
    const prompt = pefts(s.method, a.tensors);
    prompts.forEach((p, i) => {
      const seq = [...p];
      for (let k = 0; k < 4; k++) seq.push(argmax(referenceLogits(cfg, weights, seq, prompt).at(-1)!));
      expect(out[i]).toEqual(seq.slice(p.length));
    });
  });

  it('saves in the PEFT layout and loads back to the same model', async () => {
    const a = newAdapter(s);
    const dir = join(tmp, `${s.method}-${s.prefixProjection}`);
    await a.save(dir, 'base-dir');
    const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    const peftType = { prompt: 'PROMPT_TUNING', ptuning: 'P_TUNING', prefix: 'PREFIX_TUNING', lora: 'LORA' }[s.method];
    expect(json).toMatchObject({ peft_type: peftType, task_type: 'CAUSAL_LM', num_virtual_tokens: 3, num_layers: L });
    expect(json.token_dim).toBe(s.method === 'prefix' ? KV * HD : D);
    if (s.method === 'ptuning') expect(json).toMatchObject({ encoder_reparameterization_type: 'MLP', encoder_hidden_size: 24 });
    if (s.method === 'prefix') expect(json.prefix_projection).toBe(s.prefixProjection);
    const loaded = await loadAdapter(dir, cfg);
    const seqs = sequences(1, 6, 9);
    const [want] = await base.logits(seqs, a.inference());
    const [got] = await base.logits(seqs, loaded.inference());
    expect(Array.from(got!)).toEqual(Array.from(want!));
    // Saved again, the file is the same adapter.
    await loaded.save(join(dir, 'again'));
    expect(JSON.parse(await readFile(join(dir, 'again', 'adapter_config.json'), 'utf8')).peft_type).toBe(peftType);
  });

  it('refuses a malformed adapter_config.json, naming the key', async () => {
    const a = newAdapter(s);
    const dir = join(tmp, `bad-${s.method}-${s.prefixProjection}`);
    await a.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    const write = (j: unknown) => writeFile(join(dir, 'adapter_config.json'), JSON.stringify(j));
    await write({ ...json, num_virtual_tokens: 0 });
    await expect(loadAdapter(dir, cfg)).rejects.toThrow(/num_virtual_tokens/);
    await write({ ...json, token_dim: 7 });
    await expect(loadAdapter(dir, cfg)).rejects.toThrow(/'token_dim' is 7/);
    await write({ ...json, num_virtual_tokens: 4 });
    await expect(loadAdapter(dir, cfg)).rejects.toThrow(/prompt_embeddings' has shape/);
    await write({ ...json, peft_type: 'IA3' });
    await expect(loadAdapter(dir, cfg)).rejects.toThrow(CheckpointError);
    await expect(loadAdapter(dir, cfg)).rejects.toThrow(/'peft_type' is "IA3"/);
  });

  it('training lowers the held-out loss on arithmetic progressions', async () => {
    const data: Encoded[] = [];
    for (let start = 1; start < 20; start++)
      for (const step of [1, 2]) {
        const ids = Array.from({ length: 10 }, (_, i) => 1 + ((start + i * step) % (cfg.vocab_size - 1)));
        data.push({ ids, labels: ids.slice(1) });
      }
    const valid = data.filter((_, i) => i % 6 === 0);
    const train = data.filter((_, i) => i % 6 !== 0);
    const a = newAdapter(s, 3);
    const target = adapterTarget(a);
    const trainer = new LocalTrainer(base, {
      steps: 30,
      batchSize: 8,
      seqLen: 9,
      lr: s.method === 'prefix' && !s.prefixProjection ? 0.1 : 3e-2,
      optimizer: { kind: 'adamw', weightDecay: 0 },
      seed: 1,
      padId: 0,
      clipNorm: 1,
    });
    const validBatches = makeBatches(valid, { batchSize: 16, seqLen: 9, shuffle: false, padId: 0 });
    const before = await evaluate(base, target, validBatches);
    const res = await trainer.run(target, train, valid);
    expect(res.status).toBe('completed');
    expect(res.evals.at(-1)!.loss).toBeLessThan(0.9 * before.loss);
    // The adapter object itself was trained.
    expect((await evaluate(base, adapterTarget(a), validBatches)).loss).toBeCloseTo(res.evals.at(-1)!.loss, 5);
  });
});
