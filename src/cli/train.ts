// `fedhpo train`: LoRA fine-tuning of a checkpoint on a data file, with a progress bar.
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import type { OptimizerConfig } from '../engine/optim.js';
import type { ScheduleKind } from '../engine/schedule.js';
import { isTaskName, TASK_NAMES } from '../data/tasks/index.js';
import { finetune, type DataSource, type FinetuneOptions, type FinetuneSummary } from '../fl/finetune.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { PROJECTIONS, type Projection } from '../model/llama.js';
import { LORA_RECIPE, SGD_MOMENTUM } from '../fl/recipes.js';
import { DEFAULT_THREADS } from '../model/source.js';
import { UsageError } from './util.js';

/** Defaults: the recipe the README's task table was made with (every training default is there). */
const R = LORA_RECIPE;

export function trainOptions(y: Argv) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'base model directory (HF layout)' })
    .option('data', { type: 'string', describe: 'JSONL/JSON of {"text"} or instruction records' })
    .option('task', {
      type: 'string',
      describe: `built-in task instead of --data: ${TASK_NAMES.join(', ')} (pooled train split; validation split held out)`,
    })
    .option('valid', { type: 'string', describe: 'validation file (default: the last 10% of --data)' })
    .option('out', { type: 'string', demandOption: true, describe: 'adapter output directory (PEFT layout)' })
    .option('lora-r', { type: 'number', default: R.lora.r, describe: 'LoRA rank' })
    .option('lora-alpha', { type: 'number', default: R.lora.alpha, describe: 'LoRA alpha (scaling alpha/r)' })
    .option('lora-dropout', { type: 'number', default: R.lora.dropout, describe: 'LoRA dropout probability, in [0, 1)' })
    .option('lora-targets', { type: 'string', default: R.lora.targets.join(','), describe: `comma list of ${PROJECTIONS.join(', ')}` })
    .option('steps', { type: 'number', default: R.steps, describe: 'optimizer steps' })
    .option('batch-size', { type: 'number', default: R.batchSize, describe: 'examples per micro-batch' })
    .option('seq-len', { type: 'number', default: R.seqLen, describe: 'max tokens per example (longer ones are cut)' })
    .option('grad-accum', { type: 'number', default: R.gradAccum, describe: 'micro-batches per optimizer step' })
    .option('lr', { type: 'number', default: R.lr, describe: 'peak learning rate' })
    .option('optimizer', { choices: ['adamw', 'sgd'] as const, default: R.optimizer.kind, describe: 'optimizer' })
    .option('weight-decay', { type: 'number', default: R.optimizer.weightDecay, describe: 'decoupled (AdamW) or L2 (SGD) weight decay' })
    .option('momentum', { type: 'number', default: SGD_MOMENTUM, describe: 'SGD momentum' })
    .option('schedule', {
      choices: ['cosine', 'constant', 'linear'] as const,
      default: R.schedule.kind,
      describe: 'learning-rate schedule after warmup',
    })
    .option('warmup', { type: 'number', default: R.schedule.warmupSteps, describe: 'warmup steps' })
    .option('clip-norm', { type: 'number', default: R.clipNorm, describe: 'gradient L2 norm bound (0 = off)' })
    .option('eval-every', { type: 'number', describe: 'validate every N steps (always at the end)' })
    .option('seed', { type: 'number', default: R.seed, describe: 'seed for adapter init, shuffling and dropout' })
    .option('threads', { type: 'number', default: DEFAULT_THREADS, describe: 'onnxruntime intra-op threads' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON, no progress bar' });
}

type TrainArgs = Awaited<ReturnType<typeof trainOptions>['argv']>;

export function finetuneOptions(a: TrainArgs): FinetuneOptions {
  const targets = a['lora-targets']
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of targets)
    if (!PROJECTIONS.includes(t as Projection))
      throw new UsageError(`--lora-targets: unknown module '${t}' (known: ${PROJECTIONS.join(', ')})`);
  if (!targets.length) throw new UsageError(`--lora-targets: name at least one of ${PROJECTIONS.join(', ')}`);
  // Checked here so a bad flag is named before the model and data are loaded (and without a stack trace).
  for (const k of ['steps', 'batch-size', 'seq-len', 'grad-accum', 'lora-r'] as const)
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new UsageError(`--${k}: expected a positive integer, got ${a[k]}`);
  for (const k of ['lr', 'weight-decay', 'clip-norm', 'momentum'] as const)
    if (!(a[k] >= 0)) throw new UsageError(`--${k}: expected a number >= 0, got ${a[k]}`);
  if (!(a['lora-alpha'] > 0)) throw new UsageError(`--lora-alpha: expected a number > 0, got ${a['lora-alpha']}`);
  if (!(a['lora-dropout'] >= 0 && a['lora-dropout'] < 1))
    throw new UsageError(`--lora-dropout: expected a number in [0, 1), got ${a['lora-dropout']}`);
  if (!Number.isInteger(a.warmup) || a.warmup < 0) throw new UsageError(`--warmup: expected an integer >= 0, got ${a.warmup}`);
  if (!Number.isSafeInteger(a.seed)) throw new UsageError(`--seed: expected an integer, got ${a.seed}`);
  if (a['eval-every'] !== undefined && (!Number.isInteger(a['eval-every']) || a['eval-every'] < 1))
    throw new UsageError(`--eval-every: expected a positive integer, got ${a['eval-every']}`);
  const optimizer: OptimizerConfig =
    a.optimizer === 'sgd'
      ? { kind: 'sgd', momentum: a.momentum, weightDecay: a['weight-decay'] }
      : { kind: 'adamw', weightDecay: a['weight-decay'] };
  if (!a.data === !a.task) throw new UsageError('give exactly one of --data FILE or --task NAME');
  if (a.task !== undefined && !isTaskName(a.task))
    throw new UsageError(`--task: unknown task '${a.task}' (known: ${TASK_NAMES.join(', ')})`);
  const data: DataSource = a.task ? { task: a.task, split: 'train' } : { file: a.data! };
  const valid: DataSource | undefined = a.valid ? { file: a.valid } : a.task ? { task: a.task, split: 'validation' } : undefined;
  return {
    model: { dir: a.model, threads: a.threads },
    data,
    ...(valid ? { valid } : {}),
    outDir: a.out,
    lora: { r: a['lora-r'], alpha: a['lora-alpha'], dropout: a['lora-dropout'], targets: targets as Projection[] },
    steps: a.steps,
    batchSize: a['batch-size'],
    seqLen: a['seq-len'],
    gradAccum: a['grad-accum'],
    lr: a.lr,
    optimizer,
    schedule: { kind: a.schedule as ScheduleKind, warmupSteps: a.warmup, minRatio: R.schedule.minRatio },
    clipNorm: a['clip-norm'],
    seed: a.seed,
    ...(a['eval-every'] ? { evalEvery: a['eval-every'] } : {}),
  };
}

/** A progress bar on stderr, driven by trainer hooks. */
export function progressHooks(steps: number): TrainerHooks {
  const bar = new cliProgress.SingleBar(
    {
      format: 'train |{bar}| {value}/{total} steps | loss {loss} | {tps} tok/s | eta {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    },
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

/** Without a terminal: one stderr line every `every` steps (for logs of long runs). */
export function logHooks(steps: number, every: number): TrainerHooks {
  let started = 0;
  let tokens = 0;
  return {
    beforeRun: () => {
      started = performance.now();
    },
    afterStep: (_c, s) => {
      tokens += s.tokens;
      if ((s.step + 1) % every !== 0 && s.step + 1 !== steps) return;
      const secs = (performance.now() - started) / 1000;
      console.error(
        `step ${s.step + 1}/${steps} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)} ${Math.round(tokens / secs)} tok/s ${secs.toFixed(0)} s`,
      );
    },
    afterEval: (_c, e) => console.error(`eval at step ${e.step}: loss ${e.loss.toFixed(4)} over ${e.tokens} tokens`),
  };
}

/** Progress bar on a terminal, periodic log lines otherwise. */
export function progressFor(steps: number): TrainerHooks {
  return process.stderr.isTTY ? progressHooks(steps) : logHooks(steps, Math.max(1, Math.round(steps / 20)));
}

export function printSummary(s: FinetuneSummary): void {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  console.log(`status        ${s.status}${s.divergence ? ` at step ${s.divergence.step}: ${s.divergence.reason}` : ''}`);
  console.log(`steps         ${s.steps} on ${s.trainExamples} examples (${s.validExamples} held out, ${s.skippedRecords} records skipped)`);
  console.log(`valid loss    ${f(s.validLossBefore)} -> ${f(s.validLossAfter)}`);
  console.log(`train loss    ${f(s.finalTrainLoss)} (last step)`);
  console.log(`throughput    ${Math.round(s.tokensPerSecond)} tokens/s, ${s.seconds.toFixed(1)} s`);
  console.log(
    `adapter       ${s.adapterParams} trainable values${s.adapterDir ? `, saved to ${s.adapterDir}` : ' (not saved: training diverged)'}`,
  );
}

export function trainCommand(y: Argv): Argv {
  return y.command(
    'train',
    'LoRA fine-tuning of a model on a data file; writes a PEFT adapter',
    (a) => trainOptions(a),
    async (a) => {
      const opts = finetuneOptions(a as TrainArgs);
      const summary = await finetune({
        ...opts,
        hooks: a.json ? [] : [progressFor(opts.steps)],
        log: (l) => console.error(l),
      });
      if (a.json) console.log(JSON.stringify(summary));
      else printSummary(summary);
      if (summary.status === 'diverged') process.exitCode = 3;
    },
  );
}
