// The 'lean' training graph (layers recomputed in the backward pass, vocabulary-chunked loss) gives
// the loss and gradients of the 'keep' graph, for LoRA and full training, tied and untied heads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { Rng } from '../../src/engine/rng.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LOSS_VOCAB_CHUNK, activationMemoryFor, evalMemoryFor, keptActivationBytes, trainingGraph } from '../../src/model/graphs.js';
import { LlamaModel, initWeights, lmBatch } from '../../src/model/model.js';
import { LoraAdapter } from '../../src/peft/lora.js';

let engine: Engine;
beforeAll(() => {
  engine = new Engine({ threads: 2 });
});
afterAll(async () => {
  await engine.close();
});

/** max |a - b| / max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  return err / scale;
}

// Vocabulary above LOSS_VOCAB_CHUNK and not a multiple of it: three chunks, the last one short.
const VOCAB = 2 * LOSS_VOCAB_CHUNK + 77;

describe.each([
  ['tied, GQA', true],
  ['untied', false],
])('lean vs keep training graph (%s)', (_name, tied) => {
  const cfg = parseLlamaConfig({
    vocab_size: VOCAB,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: tied ? 2 : 4,
    tie_word_embeddings: tied,
  });
  const rng = new Rng(3);
  const seqs = Array.from({ length: 3 }, (_, i) => Array.from({ length: 6 + i }, () => rng.int(VOCAB)));
  const batch = lmBatch(seqs); // right padded: ignored labels included
  let model: LlamaModel;
  beforeAll(async () => {
    model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 5, 0.2));
  });
  afterAll(async () => model.dispose());

  const step = async (memory: 'keep' | 'lean', trainable: 'adapter' | 'all') => {
    model.activationMemory = memory;
    if (trainable === 'all') return model.gradients('all', batch, {});
    const adapter = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }, 1);
    // B is zero at init; make it random so A's gradient is not zero.
    for (const [name, t] of adapter.tensors) if (name.includes('lora_B')) new Rng(7).fillNormal(t, 0.3);
    return model.gradients('adapter', batch, adapter.feeds(), adapter.graphSpec);
  };

  for (const trainable of ['adapter', 'all'] as const)
    it(`${trainable}: same loss, tokens and gradients (float32, 1e-4 relative)`, async () => {
      const keep = await step('keep', trainable);
      const lean = await step('lean', trainable);
      expect(lean.tokens).toBe(keep.tokens);
      expect(Math.abs(lean.lossSum - keep.lossSum) / keep.lossSum).toBeLessThan(1e-5);
      expect([...lean.grads.keys()].sort()).toEqual([...keep.grads.keys()].sort());
      for (const [name, g] of keep.grads) expect(relErr(lean.grads.get(name)!, g), name).toBeLessThan(1e-4);
    });

  it('evaluation: the chunked loss gives the per-position losses of the full logits (0 where ignored)', async () => {
    model.activationMemory = 'keep';
    const keep = await model.loss(batch);
    model.activationMemory = 'lean';
    const lean = await model.loss(batch);
    expect(lean.tokens).toBe(keep.tokens);
    expect(relErr(lean.tokenLoss, keep.tokenLoss)).toBeLessThan(1e-5);
    expect(keep.tokenLoss.filter((x) => x === 0).length).toBeGreaterThan(0);
    expect(Array.from(lean.tokenLoss, (x) => x === 0)).toEqual(Array.from(keep.tokenLoss, (x) => x === 0));
  });

  it('the lean graph recomputes: it has more MatMuls than the keep graph', () => {
    const spec = LoraAdapter.init(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 1).graphSpec;
    const keep = trainingGraph(cfg, 'adapter', spec, 'keep');
    const lean = trainingGraph(cfg, 'adapter', spec, 'lean');
    expect(lean.matmuls.length).toBeGreaterThan(keep.matmuls.length);
  });
});

describe('activationMemoryFor', () => {
  it('keeps activations for the reference shape and goes lean for SmolLM-135M at 4 x 256', () => {
    const reference = parseLlamaConfig({
      vocab_size: 1024,
      hidden_size: 256,
      intermediate_size: 688,
      num_hidden_layers: 4,
      num_attention_heads: 4,
    });
    const smol = parseLlamaConfig({
      vocab_size: 49152,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
    });
    expect(activationMemoryFor(reference, 4, 256)).toBe('keep');
    expect(activationMemoryFor(smol, 4, 256)).toBe('lean');
    expect(activationMemoryFor(smol, 1, 8)).toBe('keep');
    expect(keptActivationBytes(smol, 4, 256)).toBeGreaterThan(keptActivationBytes(smol, 2, 256));
    // Evaluation chunks its loss once the logits pass 64 MiB (201 MB here), not for the reference.
    expect(evalMemoryFor(smol, 4, 256)).toBe('lean');
    expect(evalMemoryFor(reference, 4, 256)).toBe('keep');
  });
});
