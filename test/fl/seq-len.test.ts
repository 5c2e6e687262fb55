// The sequence length is checked against the model's max_position_embeddings before any data is
// read, and batches are only as wide as their longest row: `--seq-len 1000000000` with 30 short
// records passed 4 GB in 11 s before.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { finetune, type FinetuneOptions } from '../../src/fl/finetune.js';
import { LocalTrainer, TrainerError } from '../../src/fl/local-trainer.js';
import { evaluateRecords } from '../../src/eval/evaluate.js';
import { loadTask } from '../../src/data/tasks/index.js';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights, saveCheckpoint } from '../../src/model/model.js';
import { expectCleanError } from '../bounded.js';

const cfg = parseLlamaConfig({
  vocab_size: 260, // the byte tokenizer needs 259 ids
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 64,
});

let dir: string;
let options: FinetuneOptions;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-seqlen-'));
  await saveCheckpoint(join(dir, 'model'), cfg, initWeights(cfg, 1));
  const records = Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `short record ${i}` }));
  await writeFile(join(dir, 'data.jsonl'), `${records.join('\n')}\n`);
  options = {
    model: { dir: join(dir, 'model'), threads: 1 },
    data: { file: join(dir, 'data.jsonl') },
    outDir: join(dir, 'out'),
    lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] },
    steps: 2,
    batchSize: 8,
    seqLen: 64,
    gradAccum: 1,
    lr: 1e-3,
    optimizer: { kind: 'adamw', weightDecay: 0 },
    schedule: { kind: 'constant', warmupSteps: 0, minRatio: 0 },
    clipNorm: 1,
    seed: 0,
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sequence length against max_position_embeddings', () => {
  it('finetune refuses --seq-len 1000000000 at once, naming the flag, the limit and config.json', async () => {
    await expectCleanError(
      () => finetune({ ...options, seqLen: 1_000_000_000 }),
      [`--seq-len 1000000000 is over the model's max_position_embeddings 64 (${join(dir, 'model', 'config.json')})`],
      { ms: 20_000, peakRiseMb: 300 },
    );
  });

  it('finetune at seq-len = max_position_embeddings trains on batches only as wide as the records', async () => {
    const widths: number[] = [];
    const summary = await finetune({ ...options, hooks: [{ beforeBatch: (_c, b) => void widths.push(b.seq) }] });
    expect(summary.status).toBe('completed');
    expect(widths).toHaveLength(2);
    // "short record NN" is 15 bytes: bos + 15 + eos = 17 ids -> 16 inputs, far below 64.
    for (const w of widths) expect(w).toBeLessThanOrEqual(16);
  });

  it('LocalTrainer and evaluateRecords refuse a seqLen past the model too', async () => {
    const engine = new Engine({ threads: 1 });
    try {
      const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 1));
      const config = { steps: 1, batchSize: 1, seqLen: 65, lr: 0, optimizer: { kind: 'sgd' as const }, seed: 0, padId: 0 };
      expect(() => new LocalTrainer(model, config)).toThrow(TrainerError);
      expect(() => new LocalTrainer(model, config)).toThrow("trainer: seqLen 65 is over the model's max_position_embeddings 64");
      const records = loadTask('arith', 0).test.slice(0, 1);
      await expectCleanError(
        () => evaluateRecords(model, ByteTokenizer.forVocab(260), records, { seqLen: 1_000_000_000 }),
        ["evaluate: seqLen 1000000000 is over the model's max_position_embeddings 64"],
      );
    } finally {
      await engine.close();
    }
  });
});
