// Entry points take an already loaded model as an alternative to a directory: finetune and
// evalTask on a model loaded once give what loading the directory gives, leave the caller's model
// loaded, and load the base weights into the engine only once for eval -> train -> eval.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { trainBpe } from '../../src/data/bpe/index.js';
import { formatInstruction } from '../../src/data/records.js';
import { loadTask } from '../../src/data/tasks/index.js';
import { saveTokenizer } from '../../src/data/tokenizer-io.js';
import { Engine } from '../../src/engine/engine.js';
import { evalTask } from '../../src/fl/eval-task.js';
import { finetune, type FinetuneOptions, type FinetuneSummary } from '../../src/fl/finetune.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { openModel, type ModelSource } from '../../src/model/source.js';
import { closeSandboxPool } from '../../src/eval/sandbox.js';

let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-entry-'));
  modelDir = join(dir, 'model');
  const arith = loadTask('arith').train;
  const tok = trainBpe(
    arith.slice(0, 200).flatMap((r) => [formatInstruction(r.instruction, r.input), r.output]),
    { vocabSize: 400 },
  );
  const cfg = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 256,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
  });
  await saveCheckpoint(modelDir, cfg, initWeights(cfg, 0));
  await saveTokenizer(tok, join(modelDir, 'tokenizer.json'));
});

afterAll(async () => {
  closeSandboxPool();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const train = (model: ModelSource, outDir: string): Omit<FinetuneOptions, 'hooks'> => ({
  model,
  data: { task: 'arith', split: 'train' },
  valid: { task: 'arith', split: 'validation' },
  outDir,
  lora: { r: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] },
  steps: 3,
  batchSize: 4,
  seqLen: 96,
  gradAccum: 1,
  lr: 1e-2,
  optimizer: { kind: 'adamw', weightDecay: 0 },
  schedule: { kind: 'cosine', warmupSteps: 1, minRatio: 0.1 },
  clipNorm: 1,
  seed: 3,
});
const withoutTimes = ({ tokensPerSecond: _t, seconds: _s, adapterDir: _d, ...rest }: FinetuneSummary) => rest;
const EVAL = { task: 'arith', limit: 3, maxNewTokens: 6 } as const;

describe('entry points on a model loaded once', () => {
  it('eval -> train -> eval on one loaded model equals loading the directory each time', async () => {
    // From the directory (each call loads the model on an engine of its own).
    const fromDir = { dir: modelDir, threads: 1 };
    const evalDir = await evalTask({ ...EVAL, model: fromDir });
    const trainedDir = await finetune(train(fromDir, join(dir, 'a-dir')));
    const tunedDir = await evalTask({ ...EVAL, model: fromDir, adapter: trainedDir.adapterDir! });

    // Loaded once on the caller's engine, handed to every step.
    const engine = new Engine({ threads: 1 });
    const setWeights = vi.spyOn(engine, 'setWeights');
    const dropWeights = vi.spyOn(engine, 'dropWeights');
    try {
      const loaded = await openModel({ dir: modelDir, engine });
      const evalOnce = await evalTask({ ...EVAL, model: loaded });
      const trainedOnce = await finetune(train(loaded, join(dir, 'a-once')));
      const tunedOnce = await evalTask({ ...EVAL, model: loaded, adapter: trainedOnce.adapterDir! });
      expect(setWeights).toHaveBeenCalledTimes(1);
      expect(dropWeights).not.toHaveBeenCalled();

      const same = (r: typeof evalDir) => [r.score, r.loss, r.results.map((s) => s.output), r.costs.tokens, r.costs.flops];
      expect(same(evalOnce)).toEqual(same(evalDir));
      expect(withoutTimes(trainedOnce)).toEqual(withoutTimes(trainedDir));
      expect(same(tunedOnce)).toEqual(same(tunedDir));
      // LoRA training is bit-exact: the same adapter bytes either way.
      const bytes = (d: string) => readFile(join(d, 'adapter_model.safetensors'));
      expect((await bytes(trainedOnce.adapterDir!)).equals(await bytes(trainedDir.adapterDir!))).toBe(true);
      // The adapter names the base model's directory either way.
      const cfgOf = async (d: string) => JSON.parse(await readFile(join(d, 'adapter_config.json'), 'utf8'));
      expect((await cfgOf(trainedOnce.adapterDir!)).base_model_name_or_path).toBe(modelDir);

      // The caller's model is still loaded and usable; closing it drops only its weights.
      expect((await loaded.model.nll([[1, 5, 6, 7]])).tokens).toBe(3);
      await loaded.close();
      expect(dropWeights).toHaveBeenCalledTimes(1);
      await expect(loaded.model.nll([[1, 5, 6, 7]])).rejects.toThrow();
    } finally {
      await engine.close();
    }
  });

  it('a directory on its own engine: a bad thread count is refused before anything loads', async () => {
    await expect(openModel({ dir: modelDir, threads: 0 })).rejects.toThrow(/threads: expected an integer in \[1, 256\], got 0/);
    await expect(evalTask({ ...EVAL, model: { dir: join(dir, 'missing') } })).rejects.toThrow(/missing/);
  });
});
