// `fedhpo train`: LoRA fine-tuning of a checkpoint on a data file, with a progress bar.
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import type { OptimizerConfig } from '../engine/optim.js';
import type { ScheduleKind } from '../engine/schedule.js';
import { finetune, type FinetuneOptions, type FinetuneSummary } from '../fl/finetune.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { PROJECTIONS, type Projection } from '../model/llama.js';
import { UsageError } from './util.js';

export function trainOptions(y: Argv) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'base model directory (HF layout)' })
    .option('data', { type: 'string', demandOption: true, describe: 'JSONL/JSON of {"text"} or instruction records' })
    .option('valid', { type: 'string', describe: 'validation file (default: the last 10% of --data)' })
    .option('out', { type: 'string', demandOption: true, describe: 'adapter output directory (PEFT layout)' })
    .option('lora-r', { type: 'number', default: 8, describe: 'LoRA rank' })
    .option('lora-alpha', { type: 'number', default: 16, describe: 'LoRA alpha (scaling alpha/r)' })
    .option('lora-dropout', { type: 'number', default: 0.05 })
    .option('lora-targets', { type: 'string', default: 'q_proj,v_proj', describe: `comma list of ${PROJECTIONS.join(', ')}` })
    .option('steps', { type: 'number', default: 100, describe: 'optimizer steps' })
    .option('batch-size', { type: 'number', default: 8 })
    .option('seq-len', { type: 'number', default: 128, describe: 'max tokens per example (longer ones are cut)' })
    .option('grad-accum', { type: 'number', default: 1, describe: 'micro-batches per optimizer step' })
    .option('lr', { type: 'number', default: 3e-4 })
    .option('optimizer', { choices: ['adamw', 'sgd'] as const, default: 'adamw' as const })
    .option('weight-decay', { type: 'number', default: 0 })
    .option('momentum', { type: 'number', default: 0.9, describe: 'SGD momentum' })
    .option('schedule', { choices: ['cosine', 'constant', 'linear'] as const, default: 'cosine' as const })
    .option('warmup', { type: 'number', default: 0, describe: 'warmup steps' })
    .option('clip-norm', { type: 'number', default: 1, describe: 'gradient L2 norm bound (0 = off)' })
    .option('eval-every', { type: 'number', describe: 'validate every N steps (always at the end)' })
    .option('seed', { type: 'number', default: 0 })
    .option('threads', { type: 'number', default: 2, describe: 'onnxruntime intra-op threads' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON, no progress bar' });
}

type TrainArgs = Awaited<ReturnType<typeof trainOptions>['argv']>;

export function finetuneOptions(a: TrainArgs): FinetuneOptions {
  const targets = a['lora-targets'].split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!PROJECTIONS.includes(t as Projection)) throw new UsageError(`--lora-targets: unknown module '${t}' (known: ${PROJECTIONS.join(', ')})`);
  const optimizer: OptimizerConfig =
    a.optimizer === 'sgd' ? { kind: 'sgd', momentum: a.momentum, weightDecay: a['weight-decay'] } : { kind: 'adamw', weightDecay: a['weight-decay'] };
  return {
    modelDir: a.model,
    dataFile: a.data,
    ...(a.valid ? { validFile: a.valid } : {}),
    outDir: a.out,
    lora: { r: a['lora-r'], alpha: a['lora-alpha'], dropout: a['lora-dropout'], targets: targets as Projection[] },
    steps: a.steps,
    batchSize: a['batch-size'],
    seqLen: a['seq-len'],
    gradAccum: a['grad-accum'],
    lr: a.lr,
    optimizer,
    schedule: { kind: a.schedule as ScheduleKind, warmupSteps: a.warmup, minRatio: 0 },
    clipNorm: a['clip-norm'],
    seed: a.seed,
    threads: a.threads,
    ...(a['eval-every'] ? { evalEvery: a['eval-every'] } : {}),
  };
}

/** A progress bar on stderr, driven by trainer hooks. */
export function progressHooks(steps: number): TrainerHooks {
  const bar = new cliProgress.SingleBar(
    { format: 'train |{bar}| {value}/{total} steps | loss {loss} | {tps} tok/s | eta {eta_formatted}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let tokens = 0;
  return {
    beforeRun: () => {
      started = performance.now();
      bar.start(steps, 0, { loss: '-', tps: '-' });
    },
    afterStep: (_c, s) => {
      tokens += s.tokens;
      bar.update(s.step + 1, { loss: s.loss.toFixed(4), tps: Math.round(tokens / ((performance.now() - started) / 1000)) });
    },
    afterRun: () => bar.stop(),
  };
}

export function printSummary(s: FinetuneSummary): void {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  console.log(`status        ${s.status}${s.divergence ? ` at step ${s.divergence.step}: ${s.divergence.reason}` : ''}`);
  console.log(`steps         ${s.steps} on ${s.trainExamples} examples (${s.validExamples} held out, ${s.skippedRecords} records skipped)`);
  console.log(`valid loss    ${f(s.validLossBefore)} -> ${f(s.validLossAfter)}`);
  console.log(`train loss    ${f(s.finalTrainLoss)} (last step)`);
  console.log(`throughput    ${Math.round(s.tokensPerSecond)} tokens/s, ${s.seconds.toFixed(1)} s`);
  console.log(`adapter       ${s.adapterParams} trainable values${s.adapterDir ? `, saved to ${s.adapterDir}` : ' (not saved: training diverged)'}`);
}

export function trainCommand(y: Argv): Argv {
  return y.command(
    'train',
    'LoRA fine-tuning of a model on a data file; writes a PEFT adapter',
    (a) => trainOptions(a),
    async (a) => {
      const opts = finetuneOptions(a as TrainArgs);
      const interactive = !a.json && process.stderr.isTTY;
      const summary = await finetune({
        ...opts,
        hooks: interactive ? [progressHooks(opts.steps)] : [],
        log: (l) => console.error(l),
      });
      if (a.json) console.log(JSON.stringify(summary));
      else printSummary(summary);
      if (summary.status === 'diverged') process.exitCode = 3;
    },
  );
}
