// `fedhpo model ...`: checkpoints and likelihoods.
import type { Argv } from 'yargs';
import { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import { checkOutputPath, readRegularText } from '../engine/files.js';
import { parseJsonText, previewJson } from '../engine/json.js';
import { parseLlamaConfig } from '../model/config.js';
import { LlamaModel, initWeights, saveCheckpoint } from '../model/model.js';
import { DEFAULT_THREADS } from '../model/source.js';
import { loadAdapter } from '../peft/methods.js';
import { UsageError, readJson } from './util.js';
import { numberFlag } from './flags.js';

/** Token files: 64 MiB (about 10M token ids as JSON). */
const MAX_TOKEN_FILE_BYTES = 64 * 2 ** 20;

/**
 * Validated token-id sequences from a JSON file (array of arrays of ids in [0, vocab)). A bad
 * entry is an error naming it (skipping it would silently change the likelihood measured); values
 * are shown through previewJson, which never recurses into a deeply nested entry.
 */
export async function readTokenFile(file: string, vocab: number): Promise<number[][]> {
  const data = parseJsonText(await readRegularText(file, { maxBytes: MAX_TOKEN_FILE_BYTES }), file);
  if (!Array.isArray(data)) throw new UserError(`${file}: expected a JSON array of token-id arrays`);
  const seqs = data.map((seq, i) => {
    if (!Array.isArray(seq)) throw new UserError(`${file}: entry ${i} is not an array of token ids, got ${previewJson(seq, 40)}`);
    seq.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab)
        throw new UserError(`${file}: entry ${i}, position ${j}: ${previewJson(id, 40)} is not a token id in [0, ${vocab})`);
    });
    return seq as number[];
  });
  if (!seqs.some((s) => s.length >= 2)) throw new UserError(`${file}: no sequence has 2 or more tokens, so there is nothing to predict`);
  return seqs;
}

export async function modelNll(o: { model: string; adapter?: string | undefined; tokens: string; threads: number; batchSize: number }) {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw new UsageError(`--batch-size: expected a positive integer, got ${o.batchSize}`);
  const engine = new Engine({ threads: o.threads });
  try {
    const model = await LlamaModel.load(o.model, engine);
    const seqs = await readTokenFile(o.tokens, model.cfg.vocab_size);
    const adapter = o.adapter ? await loadAdapter(o.adapter, model.cfg) : undefined;
    return await model.nll(seqs, {
      batchSize: o.batchSize,
      ...(adapter ? { adapter: adapter.inference() } : {}),
    });
  } finally {
    await engine.close();
  }
}

export async function modelInit(o: { config: string; out: string; seed: number }) {
  if (!Number.isSafeInteger(o.seed)) throw new UsageError(`--seed: expected an integer, got ${o.seed}`);
  const cfg = parseLlamaConfig(await readJson(o.config), o.config);
  await checkOutputPath(o.out, 'directory', '--out');
  await saveCheckpoint(o.out, cfg, initWeights(cfg, o.seed, cfg.initializer_range));
  return cfg;
}

export function modelCommands(y: Argv): Argv {
  return y
    .command(
      'nll',
      'Mean next-token negative log-likelihood of token sequences',
      (a) =>
        a
          .option('model', { type: 'string', demandOption: true, describe: 'model directory (HF layout: config.json + model.safetensors)' })
          .option('adapter', { type: 'string', describe: 'LoRA adapter directory (PEFT layout)' })
          .option('tokens', { type: 'string', demandOption: true, describe: 'JSON file: array of token-id arrays' })
          .option('batch-size', numberFlag('batch-size', 'sequences per forward pass', 8))
          .option('threads', numberFlag('threads', 'onnxruntime intra-op threads', DEFAULT_THREADS))
          .option('json', { type: 'boolean', default: false, describe: 'print {"nll": ..., "tokens": N}' }),
      async (a) => {
        const r = await modelNll({ model: a.model, adapter: a.adapter, tokens: a.tokens, threads: a.threads, batchSize: a['batch-size'] });
        console.log(
          a.json ? JSON.stringify(r) : `nll ${r.nll} over ${r.tokens} predicted tokens (perplexity ${Math.exp(r.nll).toFixed(3)})`,
        );
      },
    )
    .command(
      'init',
      'Write a randomly initialised model in the HF layout',
      (a) =>
        a
          .option('config', { type: 'string', demandOption: true, describe: 'LlamaConfig JSON (HF config.json field names)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output directory' })
          .option('seed', numberFlag('seed', 'weight initialisation seed', 0)),
      async (a) => {
        const cfg = await modelInit({ config: a.config, out: a.out, seed: a.seed });
        console.log(`wrote ${a.out}: ${cfg.num_hidden_layers} layers, hidden ${cfg.hidden_size}, vocab ${cfg.vocab_size}`);
      },
    )
    .demandCommand(1, 'name a model command: nll or init');
}
