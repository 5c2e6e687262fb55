// LoRA fine-tuning of a checkpoint on a data file: what `fedhpo train` runs, as a library call.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeExample, type Encoded } from '../data/batching.js';
import { describeSkipped, loadExamples } from '../data/records.js';
import { ByteTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { Engine } from '../engine/engine.js';
import type { OptimizerConfig } from '../engine/optim.js';
import type { ScheduleKind } from '../engine/schedule.js';
import { LlamaModel } from '../model/model.js';
import { LoraAdapter, type LoraConfig } from '../peft/lora.js';
import { LocalTrainer, evaluate, loraTarget, type TrainerHooks, type TrainResult } from './local-trainer.js';
import { makeBatches } from '../data/batching.js';

export interface FinetuneOptions {
  modelDir: string;
  dataFile: string;
  validFile?: string;
  /** Fraction of the training file held out for validation when no validFile (default 0.1). */
  validFraction?: number;
  outDir: string;
  lora: LoraConfig;
  steps: number;
  batchSize: number;
  seqLen: number;
  gradAccum: number;
  lr: number;
  optimizer: OptimizerConfig;
  schedule: { kind: ScheduleKind; warmupSteps: number; minRatio: number };
  clipNorm: number;
  seed: number;
  threads: number;
  evalEvery?: number;
  hooks?: TrainerHooks[];
  log?: (line: string) => void;
}

export interface FinetuneSummary {
  status: TrainResult['status'];
  divergence?: TrainResult['divergence'];
  steps: number;
  trainExamples: number;
  validExamples: number;
  skippedRecords: number;
  validLossBefore: number;
  validLossAfter: number;
  finalTrainLoss: number;
  trainTokens: number;
  tokensPerSecond: number;
  seconds: number;
  adapterParams: number;
  adapterDir: string | null;
}

/** The tokenizer that goes with a model directory. */
export function tokenizerFor(vocabSize: number): Tokenizer {
  // Byte-level until the BPE tokenizer lands; it needs 259 ids (3 specials + 256 bytes).
  return ByteTokenizer.forVocab(vocabSize);
}

async function loadEncoded(file: string, tok: Tokenizer, seqLen: number, log: (l: string) => void): Promise<{ encoded: Encoded[]; skipped: number }> {
  const parsed = await loadExamples(file);
  for (const line of describeSkipped(parsed).slice(0, 10)) log(`skipped ${line}`);
  if (parsed.skipped.length > 10) log(`... and ${parsed.skipped.length - 10} more skipped records in ${file}`);
  return { encoded: parsed.examples.map((ex) => encodeExample(tok, ex, seqLen)), skipped: parsed.skipped.length };
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneSummary> {
  const log = o.log ?? (() => {});
  const engine = new Engine({ threads: o.threads });
  try {
    const model = await LlamaModel.load(o.modelDir, engine);
    const tok = tokenizerFor(model.cfg.vocab_size);
    const train = await loadEncoded(o.dataFile, tok, o.seqLen, log);
    let trainSet = train.encoded;
    let validSet: Encoded[];
    let skipped = train.skipped;
    if (o.validFile) {
      const valid = await loadEncoded(o.validFile, tok, o.seqLen, log);
      validSet = valid.encoded;
      skipped += valid.skipped;
    } else {
      // Deterministic tail split; the file's order is kept so the split is reproducible.
      const n = Math.floor(trainSet.length * (o.validFraction ?? 0.1));
      validSet = trainSet.slice(trainSet.length - n);
      trainSet = trainSet.slice(0, trainSet.length - n);
    }
    const adapter = LoraAdapter.init(model.cfg, o.lora, o.seed);
    const target = loraTarget(adapter);
    const validBatches = makeBatches(validSet, { batchSize: o.batchSize, seqLen: o.seqLen, shuffle: false, padId: tok.padId });
    const before = validBatches.length ? (await evaluate(model, target, validBatches)).loss : NaN;
    const trainer = new LocalTrainer(
      model,
      {
        steps: o.steps,
        batchSize: o.batchSize,
        seqLen: o.seqLen,
        gradAccum: o.gradAccum,
        lr: o.lr,
        optimizer: o.optimizer,
        schedule: o.schedule,
        clipNorm: o.clipNorm,
        seed: o.seed,
        padId: tok.padId,
        ...(o.evalEvery ? { evalEvery: o.evalEvery } : {}),
      },
      o.hooks ?? [],
    );
    const result = await trainer.run(target, trainSet, validSet);
    const after = result.evals.at(-1)?.loss ?? NaN;
    let adapterDir: string | null = null;
    if (result.status !== 'diverged') {
      await adapter.save(o.outDir, o.modelDir);
      adapterDir = o.outDir;
    }
    const summary: FinetuneSummary = {
      status: result.status,
      ...(result.divergence ? { divergence: result.divergence } : {}),
      steps: result.steps,
      trainExamples: trainSet.length,
      validExamples: validSet.length,
      skippedRecords: skipped,
      validLossBefore: before,
      validLossAfter: after,
      finalTrainLoss: result.history.at(-1)?.loss ?? NaN,
      trainTokens: result.trainTokens,
      tokensPerSecond: result.trainTokens / result.seconds,
      seconds: result.seconds,
      adapterParams: adapter.size,
      adapterDir,
    };
    await mkdir(o.outDir, { recursive: true });
    await writeFile(join(o.outDir, 'train_log.json'), JSON.stringify({ summary, history: result.history, evals: result.evals }, null, 2) + '\n');
    return summary;
  } finally {
    await engine.close();
  }
}
