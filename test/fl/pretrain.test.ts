// Pretraining from a recipe: document packing, recipe validation, and one tiny end-to-end run whose
// saved model + tokenizer reload to the trained weights and the same vocabulary.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatches } from '../../src/data/batching.js';
import { trainBpe } from '../../src/data/bpe/index.js';
import { corpusFingerprint, pretrainCorpus } from '../../src/data/pretrain-corpus.js';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { Engine } from '../../src/engine/engine.js';
import { loadModelTokenizer } from '../../src/data/tokenizer-io.js';
import { packDocuments, pretrain, type PretrainSummary } from '../../src/fl/pretrain.js';
import {
  ConfigFileError,
  PretrainConfigSchema,
  loadPretrainConfig,
  parseWithSchema,
  type PretrainConfig,
} from '../../src/fl/pretrain-config.js';
import { LlamaModel } from '../../src/model/model.js';
import { parseSafetensorsHeader } from '../../src/model/safetensors.js';

describe('packDocuments', () => {
  const tok = new ByteTokenizer();
  const enc = (s: string) => tok.encode(s);

  it('frames each document with bos/eos and cuts windows of seqLen + 1 that overlap by one token', () => {
    // stream: [bos a b eos bos c d e eos] = 9 tokens; seqLen 3 -> windows at 0 and 3 (6 + 4 > 9).
    const w = packDocuments(['ab', 'cde'], tok, 3);
    const stream = [1, ...enc('ab'), 2, 1, ...enc('cde'), 2];
    expect(w).toHaveLength(2);
    expect(w[0]!.ids).toEqual(stream.slice(0, 4));
    expect(w[1]!.ids).toEqual(stream.slice(3, 7));
    expect(w[0]!.ids.at(-1)).toBe(w[1]!.ids[0]);
    for (const x of w) expect(x.labels).toEqual(x.ids.slice(1));
  });

  it('covers the stream without gaps and drops only a short tail', () => {
    const docs = ['the cat sat', 'on the mat.', 'x', 'a much longer document about nothing in particular'];
    const stream = docs.flatMap((d) => [tok.bosId, ...enc(d), tok.eosId]);
    for (const seqLen of [1, 2, 5, 16, stream.length - 1]) {
      const w = packDocuments(docs, tok, seqLen);
      expect(w).toHaveLength(Math.floor((stream.length - 1) / seqLen));
      for (const x of w) {
        expect(x.ids).toHaveLength(seqLen + 1);
        expect(x.labels).toHaveLength(seqLen);
        expect(x.labels).toEqual(x.ids.slice(1));
      }
      // Inputs of consecutive windows tile the stream; labels likewise, shifted by one.
      expect(w.flatMap((x) => x.ids.slice(0, -1))).toEqual(stream.slice(0, w.length * seqLen));
      expect(w.flatMap((x) => x.labels)).toEqual(stream.slice(1, w.length * seqLen + 1));
    }
    expect(packDocuments(docs, tok, stream.length)).toEqual([]);
    expect(packDocuments([], tok, 4)).toEqual([]);
  });
});

const BASE = {
  seed: 3,
  out: 'unused',
  corpus: { chars: 60_000 },
  tokenizer: { vocab_size: 300 },
  model: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 },
  train: { steps: 20, batch_size: 8, seq_len: 32, lr: 1e-2, warmup_steps: 2, save_every: 10, eval_every: 10 },
  threads: 1,
  save_dtype: 'F16',
};

describe('corpusFingerprint', () => {
  it('changes with any document, with where documents split, and with their order', () => {
    const docs = ['the cat sat', 'on the mat', 'été'];
    const fp = corpusFingerprint(docs);
    expect(fp).toMatchObject({ documents: 3, chars: 24 });
    expect(fp.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(corpusFingerprint([...docs]).sha256).toBe(fp.sha256);
    const variants = [
      ['the cat sat', 'on the mat', 'ete'],
      ['the cat sa', 't on the mat', 'été'],
      ['the cat sat', 'on the mat'],
      ['on the mat', 'the cat sat', 'été'],
      ['the cat sat', 'on the mat', 'été', ''],
    ];
    for (const v of variants) expect(corpusFingerprint(v).sha256, JSON.stringify(v)).not.toBe(fp.sha256);
  });
});

describe('pretrain recipe schema', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the cases break the schema on purpose
  const bad = (mutate: (c: any) => void): string => {
    const c: unknown = structuredClone(BASE);
    mutate(c);
    try {
      parseWithSchema(PretrainConfigSchema, c, 'recipes/tiny.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigFileError);
      return (e as Error).message;
    }
    throw new Error('expected the recipe to be rejected');
  };

  it('accepts the shipped recipe and fills defaults', async () => {
    const c = await loadPretrainConfig('configs/pretrain-base.yaml');
    expect(c.model.hidden_size).toBe(192);
    const min = parseWithSchema(
      PretrainConfigSchema,
      { ...BASE, threads: undefined, save_dtype: undefined, train: { steps: 1, batch_size: 1, seq_len: 8, lr: 1 } },
      'x',
    );
    expect(min).toMatchObject({
      threads: 2,
      save_dtype: 'F16',
      train: { schedule: 'cosine', clip_norm: 1, warmup_steps: 0, beta1: 0.9, beta2: 0.95, valid_fraction: 0.02 },
      tokenizer: { min_frequency: 1 },
    });
    expect(min.model.tie_word_embeddings).toBe(true);
  });

  it('the shipped base model is the output of the shipped recipe', async () => {
    const dir = 'models/fedhpo-base';
    const recipe = await loadPretrainConfig('configs/pretrain-base.yaml');
    expect(recipe.out).toBe(dir);
    expect(await readFile(join(dir, 'recipe.yaml'), 'utf8')).toBe(await readFile('configs/pretrain-base.yaml', 'utf8'));
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ ...recipe.model, vocab_size: recipe.tokenizer.vocab_size });
    const log = JSON.parse(await readFile(join(dir, 'pretrain_log.json'), 'utf8'));
    expect(log.summary).toMatchObject({ steps: recipe.train.steps, status: 'completed' });
    const capacity = recipe.train.steps * recipe.train.batch_size * recipe.train.seq_len;
    expect(log.summary.trainTokens).toBeLessThanOrEqual(capacity);
    expect(log.summary.trainTokens).toBeGreaterThan(0.99 * capacity);
    const tok = await loadModelTokenizer(dir, cfg.vocab_size);
    expect(tok.vocabSize).toBe(recipe.tokenizer.vocab_size);
    const header = parseSafetensorsHeader(new Uint8Array(await readFile(join(dir, 'model.safetensors'))));
    expect(new Set([...header.entries.values()].map((e) => e.dtype))).toEqual(new Set([recipe.save_dtype]));

    // The corpus the recipe generates today is the one the model was pretrained on (sha256 recorded
    // by pretrain), and it still trains exactly the shipped tokenizer.
    const docs = pretrainCorpus(recipe.seed, recipe.corpus.chars);
    const recorded = JSON.parse(await readFile(join(dir, 'corpus.json'), 'utf8'));
    expect(corpusFingerprint(docs)).toEqual(recorded);
    const retrained = trainBpe(docs, { vocabSize: recipe.tokenizer.vocab_size, minFrequency: recipe.tokenizer.min_frequency });
    expect(retrained.toJSON()).toEqual(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')));
  });

  it("the shipped 12-layer base is the output of its recipe, with the 4-layer base's corpus and tokenizer", async () => {
    const dir = 'models/fedhpo-base-deep';
    const recipe = await loadPretrainConfig('configs/pretrain-deep.yaml');
    const shallow = await loadPretrainConfig('configs/pretrain-base.yaml');
    expect(recipe.out).toBe(dir);
    expect(recipe.model.num_hidden_layers).toBe(12);
    expect({ ...recipe.model, num_hidden_layers: 4 }).toEqual(shallow.model);
    expect([recipe.seed, recipe.corpus, recipe.tokenizer]).toEqual([shallow.seed, shallow.corpus, shallow.tokenizer]);
    expect(await readFile(join(dir, 'recipe.yaml'), 'utf8')).toBe(await readFile('configs/pretrain-deep.yaml', 'utf8'));
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ ...recipe.model, vocab_size: recipe.tokenizer.vocab_size });
    const log = JSON.parse(await readFile(join(dir, 'pretrain_log.json'), 'utf8'));
    expect(log.summary).toMatchObject({ steps: recipe.train.steps, status: 'completed' });
    // Same corpus (its sha256 is checked against a regenerated one above) and a byte-identical tokenizer.
    expect(await readFile(join(dir, 'corpus.json'), 'utf8')).toBe(await readFile('models/fedhpo-base/corpus.json', 'utf8'));
    expect(await readFile(join(dir, 'tokenizer.json'), 'utf8')).toBe(await readFile('models/fedhpo-base/tokenizer.json', 'utf8'));
  });

  it('rejects unknown keys, naming the dotted key and the file', () => {
    const m1 = bad((c) => (c.model.hiden_size = 32));
    expect(m1).toMatch(/^recipes\/tiny\.yaml: /);
    expect(m1).toContain('model.hiden_size');
    expect(bad((c) => (c.train.learning_rate = 1))).toContain('train.learning_rate');
    expect(bad((c) => (c.extra = true))).toMatch(/^\s+extra: /m);
    const two = bad((c) => {
      c.corpus.size = 1;
      c.corpus.lang = 'en';
    });
    expect(two).toContain('corpus.size');
    expect(two).toContain('corpus.lang');
  });

  it('rejects wrong types and values, naming the dotted key', () => {
    expect(bad((c) => (c.train.lr = 'fast'))).toMatch(/train\.lr: .*number/);
    expect(bad((c) => (c.train.steps = 2.5))).toContain('train.steps');
    expect(bad((c) => (c.model.num_hidden_layers = 0))).toContain('model.num_hidden_layers');
    expect(bad((c) => (c.tokenizer.vocab_size = 100))).toContain('tokenizer.vocab_size');
    expect(bad((c) => (c.train.schedule = 'step'))).toContain('train.schedule');
    expect(bad((c) => (c.save_dtype = 'BF16'))).toContain('save_dtype');
    expect(bad((c) => delete c.out)).toMatch(/^\s+out: /m);
    expect(bad((c) => (c.corpus = 5))).toMatch(/^\s+corpus: /m);
    // Every problem is listed, not just the first.
    const many = bad((c) => {
      c.train.lr = -1;
      c.model.hidden_size = '32';
    });
    expect(many).toContain('train.lr');
    expect(many).toContain('model.hidden_size');
  });

  it('names the file for unreadable, invalid YAML and invalid recipe files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-recipe-'));
    try {
      await expect(loadPretrainConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read/);
      await writeFile(join(dir, 'broken.yaml'), 'train: [1, 2\n');
      await expect(loadPretrainConfig(join(dir, 'broken.yaml'))).rejects.toThrow(/broken\.yaml: invalid YAML/);
      await writeFile(join(dir, 'typo.yaml'), stringify({ ...BASE, train: { ...BASE.train, stpes: 3 } }));
      await expect(loadPretrainConfig(join(dir, 'typo.yaml'))).rejects.toThrow(/typo\.yaml: invalid config[\s\S]*train\.stpes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pretrain (tiny recipe)', () => {
  let dir: string;
  let recipeFile: string;
  let cfg: PretrainConfig;
  let summary: PretrainSummary;
  let engine: Engine;
  let midRun: { checkpoint: boolean; steps: number[] };
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-pretrain-'));
    recipeFile = join(dir, 'tiny.yaml');
    await writeFile(recipeFile, `# tiny recipe\n${stringify({ ...BASE, out: join(dir, 'model') })}`);
    cfg = await loadPretrainConfig(recipeFile);
    midRun = { checkpoint: false, steps: [] };
    summary = await pretrain(cfg, {
      configFile: recipeFile,
      log: (l) => logLines.push(l),
      hooks: [
        {
          afterStep: (_c, s) => {
            midRun.steps.push(s.step);
            // save_every 10: the checkpoint hook (which runs first) has written step 10's model.
            if (s.step === 9)
              midRun.checkpoint = existsSync(join(cfg.out, 'model.safetensors')) && existsSync(join(cfg.out, 'tokenizer.json'));
          },
        },
      ],
    });
    engine = new Engine({ threads: 1 });
  });

  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains every step, lowers the loss and reports a consistent summary', () => {
    expect(summary.status).toBe('completed');
    expect(summary.steps).toBe(20);
    expect(midRun.steps).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(midRun.checkpoint).toBe(true);
    expect(summary.outDir).toBe(cfg.out);
    expect(summary.trainTokens).toBe(20 * 8 * 32);
    expect(summary.corpusTokens).toBeGreaterThan(summary.trainTokens);
    expect(summary.firstLoss).toBeGreaterThan(Math.log(300) - 0.5);
    expect(summary.finalTrainLoss).toBeLessThan(summary.firstLoss - 0.5);
    expect(Number.isFinite(summary.validLoss)).toBe(true);
    expect(summary.validLoss).toBeLessThan(summary.firstLoss);
    // 32*300 embeddings (tied) + 4 attention + 3 MLP matrices + 3 norms.
    expect(summary.params).toBe(300 * 32 + 4 * 32 * 32 + 3 * 32 * 64 + 3 * 32);
    expect(logLines.some((l) => l.startsWith('tokenizer: byte-level BPE, 300 tokens'))).toBe(true);
  });

  it('writes config.json, an F16 model.safetensors, tokenizer.json, pretrain_log.json and recipe.yaml', async () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'pretrain_log.json', 'recipe.yaml', 'corpus.json'])
      expect(existsSync(join(cfg.out, f)), f).toBe(true);
    const config = JSON.parse(await readFile(join(cfg.out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'llama',
      vocab_size: 300,
      hidden_size: 32,
      num_hidden_layers: 1,
      torch_dtype: 'float16',
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 0,
    });
    const header = parseSafetensorsHeader(new Uint8Array(await readFile(join(cfg.out, 'model.safetensors'))));
    expect(header.entries.size).toBeGreaterThan(0);
    for (const [name, e] of header.entries) expect(e.dtype, name).toBe('F16');
    const log = JSON.parse(await readFile(join(cfg.out, 'pretrain_log.json'), 'utf8'));
    expect(log.summary).toEqual(summary);
    expect(log.history).toHaveLength(20);
    expect(log.evals.map((e: { step: number }) => e.step)).toEqual([10, 20]);
    expect(await readFile(join(cfg.out, 'recipe.yaml'), 'utf8')).toBe(await readFile(recipeFile, 'utf8'));
    const corpus = corpusFingerprint(pretrainCorpus(cfg.seed, cfg.corpus.chars));
    expect(JSON.parse(await readFile(join(cfg.out, 'corpus.json'), 'utf8'))).toEqual(corpus);
    expect(summary.corpusSha256).toBe(corpus.sha256);
    expect(corpus.chars).toBeGreaterThanOrEqual(cfg.corpus.chars);
  });

  it('reloads to the trained weights and the same tokenizer', async () => {
    const model = await LlamaModel.load(cfg.out, engine);
    const tok = await loadModelTokenizer(cfg.out, model.cfg.vocab_size);
    expect(model.cfg.vocab_size).toBe(300);
    expect(tok.vocabSize).toBe(300);
    expect([tok.padId, tok.bosId, tok.eosId]).toEqual([0, 1, 2]);
    // The tokenizer is the one the recipe trains (deterministic), and round-trips the corpus.
    const docs = pretrainCorpus(cfg.seed, cfg.corpus.chars);
    const fresh = trainBpe(docs, { vocabSize: 300, minFrequency: cfg.tokenizer.min_frequency });
    for (const d of docs.slice(0, 5)) {
      expect(tok.encode(d)).toEqual(fresh.encode(d));
      expect(tok.decode(tok.encode(d))).toBe(d);
    }
    // The reloaded model reproduces the final validation loss (up to F16 rounding of the weights),
    // so it holds the trained weights, not the initial ones (those score about ln 300 = 5.7).
    const windows = packDocuments(docs, tok, cfg.train.seq_len);
    const nValid = Math.max(1, Math.floor(windows.length * cfg.train.valid_fraction));
    let lossSum = 0;
    let tokens = 0;
    for (const b of makeBatches(windows.slice(windows.length - nValid), { batchSize: 8, seqLen: 32, shuffle: false, padId: 0 })) {
      const r = await model.loss(b);
      lossSum += r.lossSum;
      tokens += r.tokens;
    }
    expect(tokens).toBe(nValid * 32);
    expect(Math.abs(lossSum / tokens - summary.validLoss)).toBeLessThan(0.02);
    await model.dispose();
  });
});
