// Full-parameter pretraining of a small base model from a recipe: generate the corpus, train the
// BPE tokenizer, initialise, train every weight on the engine, save model + tokenizer + recipe and
// the corpus's fingerprint (corpus.json), so a changed generator cannot pass for the same recipe.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Encoded } from '../data/batching.js';
import { trainBpe } from '../data/bpe/index.js';
import { corpusFingerprint, pretrainCorpus } from '../data/pretrain-corpus.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { saveTokenizer } from '../data/tokenizer-io.js';
import { Engine } from '../engine/engine.js';
import { expectedTensorShapes, parseLlamaConfig, type LlamaConfig } from '../model/config.js';
import { LlamaModel, initWeights, saveCheckpoint } from '../model/model.js';
import { LocalTrainer, TrainerError, fullTarget, type TrainerHooks, type TrainResult } from './local-trainer.js';
import type { PretrainConfig } from './pretrain-config.js';
import { checkOutputPath } from '../engine/files.js';

/** Documents as one token stream ([bos] doc [eos] ...), cut into windows of seqLen + 1. */
export function packDocuments(docs: string[], tok: Tokenizer, seqLen: number): Encoded[] {
  const stream: number[] = [];
  for (const d of docs) stream.push(tok.bosId, ...tok.encode(d), tok.eosId);
  const out: Encoded[] = [];
  for (let i = 0; i + seqLen + 1 <= stream.length; i += seqLen) {
    const ids = stream.slice(i, i + seqLen + 1);
    out.push({ ids, labels: ids.slice(1) });
  }
  return out;
}

export interface PretrainSummary {
  outDir: string;
  params: number;
  /** sha256 of the generated corpus (corpusFingerprint), also written to corpus.json. */
  corpusSha256: string;
  trainTokens: number;
  corpusTokens: number;
  steps: number;
  firstLoss: number;
  finalTrainLoss: number;
  validLoss: number;
  seconds: number;
  status: TrainResult['status'];
}

export async function pretrain(
  c: PretrainConfig,
  o: {
    configFile?: string;
    hooks?: TrainerHooks[];
    log?: (l: string) => void;
    /** Train on the caller's engine (left open) instead of a new one of `threads` threads. */
    engine?: Engine;
  } = {},
): Promise<PretrainSummary> {
  const log = o.log ?? (() => {});
  await checkOutputPath(c.out, 'directory', 'output directory');
  const docs = pretrainCorpus(c.seed, c.corpus.chars);
  const corpus = corpusFingerprint(docs);
  log(`corpus: ${corpus.documents} documents, ${corpus.chars} chars, sha256 ${corpus.sha256}`);
  const tok = trainBpe(docs, { vocabSize: c.tokenizer.vocab_size, minFrequency: c.tokenizer.min_frequency });
  log(`tokenizer: byte-level BPE, ${tok.vocabSize} tokens`);
  const windows = packDocuments(docs, tok, c.train.seq_len);
  const nValid = Math.max(1, Math.floor(windows.length * c.train.valid_fraction));
  const valid = windows.slice(windows.length - nValid);
  const train = windows.slice(0, windows.length - nValid);
  log(`tokens: ${windows.length * c.train.seq_len} in ${windows.length} windows (${nValid} held out)`);

  const cfg: LlamaConfig = parseLlamaConfig(
    { ...c.model, vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId },
    o.configFile ?? 'pretrain config',
  );
  const weights = initWeights(cfg, c.seed, cfg.initializer_range);
  const shapes = expectedTensorShapes(cfg);
  const engine = o.engine ?? new Engine({ threads: c.threads });
  let model: LlamaModel | undefined;
  try {
    // The engine's base set is a copy; training feeds the live params over it every step.
    model = await LlamaModel.fromWeights(engine, cfg, new Map([...weights].map(([k, v]) => [k, v.slice()])));
    const target = fullTarget(weights, shapes);
    const save = async (): Promise<void> => {
      await saveCheckpoint(c.out, cfg, weights, c.save_dtype);
      await saveTokenizer(tok, join(c.out, 'tokenizer.json'));
      await writeFile(join(c.out, 'corpus.json'), `${JSON.stringify(corpus, null, 2)}\n`);
    };
    const checkpointing: TrainerHooks = {
      afterStep: async (_ctx, s) => {
        if (c.train.save_every && (s.step + 1) % c.train.save_every === 0) await save();
      },
    };
    const trainer = new LocalTrainer(
      model,
      {
        steps: c.train.steps,
        batchSize: c.train.batch_size,
        seqLen: c.train.seq_len,
        lr: c.train.lr,
        optimizer: { kind: 'adamw', weightDecay: c.train.weight_decay, beta1: c.train.beta1, beta2: c.train.beta2 },
        schedule: { kind: c.train.schedule, warmupSteps: c.train.warmup_steps, minRatio: c.train.min_lr_ratio },
        clipNorm: c.train.clip_norm,
        seed: c.seed,
        padId: tok.padId,
        ...(c.train.eval_every ? { evalEvery: c.train.eval_every } : {}),
      },
      [checkpointing, ...(o.hooks ?? [])],
    );
    const result = await trainer.run(target, train, valid);
    if (result.status === 'diverged')
      throw new TrainerError(`pretraining diverged at step ${result.divergence!.step}: ${result.divergence!.reason}`);
    await mkdir(c.out, { recursive: true });
    await save();
    if (o.configFile) await copyFile(o.configFile, join(c.out, 'recipe.yaml'));
    const summary: PretrainSummary = {
      outDir: c.out,
      params: [...weights.values()].reduce((n, w) => n + w.length, 0),
      corpusSha256: corpus.sha256,
      trainTokens: result.trainTokens,
      corpusTokens: windows.length * c.train.seq_len,
      steps: result.steps,
      firstLoss: result.history[0]?.loss ?? NaN,
      finalTrainLoss: result.history.at(-1)?.loss ?? NaN,
      validLoss: result.evals.at(-1)?.loss ?? NaN,
      seconds: result.seconds,
      status: result.status,
    };
    await writeFile(join(c.out, 'pretrain_log.json'), `${JSON.stringify({ summary, history: result.history, evals: result.evals })}\n`);
    return summary;
  } finally {
    if (o.engine) await model?.dispose();
    else await engine.close();
  }
}
