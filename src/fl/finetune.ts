// LoRA fine-tuning of a checkpoint on a data file: what `fedhpo train` runs, as a library call.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IGNORE_INDEX, encodeExample, makeBatches, type Encoded } from '../data/batching.js';
import { DataError, describeSkipped, loadExamples, toExample, type Example } from '../data/records.js';
import { loadTask } from '../data/tasks/index.js';
import type { TaskSplit } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { CostMeter } from '../engine/costs.js';
import type { OptimizerConfig } from '../engine/optim.js';
import type { ScheduleKind } from '../engine/schedule.js';
import { UserError } from '../engine/errors.js';
import type { LlamaConfig } from '../model/config.js';
import { withModel, type ModelSource } from '../model/source.js';
import type { LoraConfig } from '../peft/lora.js';
import { initAdapter, loraSettings, type PeftSettings } from '../peft/methods.js';
import { LocalTrainer, adapterTarget, evaluate, type TrainerHooks, type TrainResult } from './local-trainer.js';
import { checkOutputPath } from '../engine/files.js';

export interface FinetuneOptions {
  /** The base model: a directory (loaded on a new or a given engine), or a model already loaded. */
  model: ModelSource;
  data: DataSource;
  valid?: DataSource;
  /** Fraction of the training file held out for validation when no validFile (default 0.1). */
  validFraction?: number;
  outDir: string;
  lora: LoraConfig;
  /** The PEFT method and its settings (default: LoRA with `lora`); its `lora` is `lora` above. */
  peft?: Omit<PeftSettings, 'lora'>;
  steps: number;
  batchSize: number;
  seqLen: number;
  gradAccum: number;
  lr: number;
  optimizer: OptimizerConfig;
  schedule: { kind: ScheduleKind; warmupSteps: number; minRatio: number };
  clipNorm: number;
  seed: number;
  evalEvery?: number;
  hooks?: TrainerHooks[];
  /** Counts the graph runs of the validation passes and of training. */
  meter?: CostMeter;
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

/**
 * Refuses a sequence length the model was not built for (positions beyond max_position_embeddings),
 * before any data is read: `--seq-len 1000000000` is a typo, not a plan.
 */
export function checkSeqLen(
  seqLen: number,
  cfg: LlamaConfig,
  configFile: string,
  peft?: Pick<PeftSettings, 'method' | 'numVirtualTokens'>,
): void {
  if (!Number.isSafeInteger(seqLen) || seqLen < 1) throw new UserError(`--seq-len: expected a positive integer, got ${seqLen}`);
  if (seqLen > cfg.max_position_embeddings)
    throw new UserError(`--seq-len ${seqLen} is over the model's max_position_embeddings ${cfg.max_position_embeddings} (${configFile})`);
  const taken = peft && peft.method !== 'lora' ? peft.numVirtualTokens : 0;
  if (seqLen + taken > cfg.max_position_embeddings)
    throw new UserError(
      `--seq-len ${seqLen} plus --num-virtual-tokens ${taken} is over the model's max_position_embeddings ${cfg.max_position_embeddings} (${configFile})`,
    );
}

/** Training data: a file (JSONL/JSON records) or a built-in task's split. */
export type DataSource = { file: string } | { task: string; split: TaskSplit; seed?: number };

const describeSource = (src: DataSource): string => ('task' in src ? `task ${src.task} (${src.split})` : src.file);

async function loadEncoded(
  src: DataSource,
  tok: Tokenizer,
  seqLen: number,
  log: (l: string) => void,
): Promise<{ encoded: Encoded[]; skipped: number }> {
  let examples: Example[];
  let skipped = 0;
  if ('task' in src) {
    examples = loadTask(src.task, src.seed ?? 0)[src.split].map(toExample);
  } else {
    const parsed = await loadExamples(src.file);
    for (const line of describeSkipped(parsed).slice(0, 10)) log(`skipped ${line}`);
    if (parsed.skipped.length > 10) log(`... and ${parsed.skipped.length - 10} more skipped records in ${src.file}`);
    examples = parsed.examples;
    skipped = parsed.skipped.length;
  }
  const encoded = examples.map((ex) => encodeExample(tok, ex, seqLen));
  // A prompt as long as seqLen leaves no answer token to learn from.
  const empty = encoded.filter((e) => e.labels.every((l) => l === IGNORE_INDEX)).length;
  if (empty === encoded.length)
    throw new DataError(
      `${describeSource(src)}: no example has an answer token within --seq-len ${seqLen} (prompts are longer); raise --seq-len`,
    );
  if (empty) log(`${describeSource(src)}: ${empty} of ${encoded.length} examples have no answer token within --seq-len ${seqLen}`);
  return { encoded, skipped };
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneSummary> {
  const log = o.log ?? (() => {});
  // Before the model loads and training runs: a path that cannot take the adapter fails now, not at save time.
  await checkOutputPath(o.outDir, 'directory', 'output directory');
  return withModel(o.model, async ({ model, tokenizer: tok, dir: modelDir }) => {
    checkSeqLen(o.seqLen, model.cfg, modelDir ? join(modelDir, 'config.json') : 'the loaded model', o.peft);
    const train = await loadEncoded(o.data, tok, o.seqLen, log);
    let trainSet = train.encoded;
    let validSet: Encoded[];
    let skipped = train.skipped;
    if (o.valid) {
      const valid = await loadEncoded(o.valid, tok, o.seqLen, log);
      validSet = valid.encoded;
      skipped += valid.skipped;
    } else {
      // Deterministic tail split; the file's order is kept so the split is reproducible.
      const n = Math.floor(trainSet.length * (o.validFraction ?? 0.1));
      validSet = trainSet.slice(trainSet.length - n);
      trainSet = trainSet.slice(0, trainSet.length - n);
    }
    const adapter = await initAdapter(model, { ...(o.peft ?? loraSettings(o.lora)), lora: o.lora }, o.seed);
    const target = adapterTarget(adapter);
    const validBatches = makeBatches(validSet, { batchSize: o.batchSize, seqLen: o.seqLen, shuffle: false, padId: tok.padId });
    const before = validBatches.length ? (await evaluate(model, target, validBatches, o.meter)).loss : NaN;
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
    const result = await trainer.run(target, trainSet, validSet, o.meter ? { meter: o.meter } : {});
    const after = result.evals.at(-1)?.loss ?? NaN;
    let adapterDir: string | null = null;
    if (result.status !== 'diverged') {
      await adapter.save(o.outDir, modelDir ?? '');
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
    await writeFile(
      join(o.outDir, 'train_log.json'),
      `${JSON.stringify({ summary, history: result.history, evals: result.evals }, null, 2)}\n`,
    );
    return summary;
  });
}
