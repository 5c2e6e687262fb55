// `fedhpo demo`: the embedded quick start — make a small model and a corpus, LoRA fine-tune, report.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { grammarSentences } from '../data/synthetic.js';
import { finetune } from '../fl/finetune.js';
import { parseLlamaConfig, llamaConfigToJson } from '../model/config.js';
import { modelInit } from './model.js';
import { printSummary, progressFor } from './train.js';

export const DEMO_MODEL = {
  vocab_size: 320, // byte-level tokenizer: 3 specials + 256 bytes, rounded up
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
};

export function demoCommand(y: Argv): Argv {
  return y.command(
    'demo',
    'Quick start, no server or download: init a small model, LoRA fine-tune it on a generated corpus',
    (a) =>
      a
        .option('dir', { type: 'string', describe: 'working directory (default: a new temp dir)' })
        .option('steps', { type: 'number', default: 100, describe: 'LoRA optimizer steps' })
        .option('threads', { type: 'number', default: 2, describe: 'onnxruntime intra-op threads' })
        .option('seed', { type: 'number', default: 0, describe: 'seed of the model, corpus and training' })
        .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }),
    async (a) => {
      const dir = a.dir ?? (await mkdtemp(join(tmpdir(), 'fedhpo-demo-')));
      await mkdir(dir, { recursive: true });
      const configFile = join(dir, 'demo-config.json');
      await writeFile(configFile, JSON.stringify(llamaConfigToJson(parseLlamaConfig(DEMO_MODEL)), null, 2));
      await modelInit({ config: configFile, out: join(dir, 'model'), seed: a.seed });
      const data = join(dir, 'corpus.jsonl');
      await writeFile(data, grammarSentences(600, a.seed).map((text) => JSON.stringify({ text })).join('\n') + '\n');
      if (!a.json) console.log(`model and corpus in ${dir}`);
      const summary = await finetune({
        modelDir: join(dir, 'model'),
        data: { file: data },
        outDir: join(dir, 'adapter'),
        lora: { r: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
        steps: a.steps,
        batchSize: 16,
        seqLen: 64,
        gradAccum: 1,
        lr: 5e-3,
        optimizer: { kind: 'adamw', weightDecay: 0 },
        schedule: { kind: 'cosine', warmupSteps: 5, minRatio: 0.1 },
        clipNorm: 1,
        seed: a.seed,
        threads: a.threads,
        hooks: a.json ? [] : [progressFor(a.steps)],
      });
      if (a.json) console.log(JSON.stringify(summary));
      else printSummary(summary);
    },
  );
}
