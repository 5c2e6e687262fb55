// `fedhpo train`: PEFT fine-tuning (LoRA, prompt tuning, P-tuning, prefix tuning) of a checkpoint on a data file, with a progress bar.
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
import { PEFT_METHODS, type PeftMethod } from '../peft/adapter.js';
import { DEFAULT_PROMPT_SETTINGS } from '../peft/methods.js';
import { PROMPT_INITS, type PromptInit } from '../peft/prompt-tuning.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';

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
    .option('lora-r', numberFlag('lora-r', 'LoRA rank', R.lora.r))
    .option('lora-alpha', numberFlag('lora-alpha', 'LoRA alpha (scaling alpha/r)', R.lora.alpha))
    .option('lora-dropout', numberFlag('lora-dropout', 'LoRA dropout probability', R.lora.dropout))
    .option('lora-targets', { type: 'string', default: R.lora.targets.join(','), describe: `comma list of ${PROJECTIONS.join(', ')}` })
    .option('peft-method', {
      choices: PEFT_METHODS,
      default: 'lora' as PeftMethod,
      describe: 'PEFT method: LoRA, prompt tuning, P-tuning or prefix tuning',
    })
    .option(
      'num-virtual-tokens',
      numberFlag('num-virtual-tokens', 'virtual tokens (prompt, ptuning, prefix)', DEFAULT_PROMPT_SETTINGS.numVirtualTokens),
    )
    .option('prompt-init', {
      choices: PROMPT_INITS,
      default: DEFAULT_PROMPT_SETTINGS.promptInit as PromptInit,
      describe: 'prompt tuning init: vocabulary rows or N(0, 1)',
    })
    .option(
      'encoder-hidden-size',
      numberFlag(
        'encoder-hidden-size',
        'encoder MLP width (ptuning; prefix with --prefix-projection)',
        DEFAULT_PROMPT_SETTINGS.encoderHiddenSize,
      ),
    )
    .option('prefix-projection', { type: 'boolean', default: false, describe: 'prefix tuning through the reparameterisation MLP' })
    .option('steps', numberFlag('steps', 'optimizer steps', R.steps))
    .option('batch-size', numberFlag('batch-size', 'examples per micro-batch', R.batchSize))
    .option('seq-len', numberFlag('seq-len', 'max tokens per example (longer ones are cut)', R.seqLen))
    .option('grad-accum', numberFlag('grad-accum', 'micro-batches per optimizer step', R.gradAccum))
    .option('lr', numberFlag('lr', 'peak learning rate', R.lr))
    .option('optimizer', { choices: ['adamw', 'sgd'] as const, default: R.optimizer.kind, describe: 'optimizer' })
    .option('weight-decay', numberFlag('weight-decay', 'decoupled (AdamW) or L2 (SGD) weight decay', R.optimizer.weightDecay))
    .option('momentum', numberFlag('momentum', 'SGD momentum', SGD_MOMENTUM))
    .option('schedule', {
      choices: ['cosine', 'constant', 'linear'] as const,
      default: R.schedule.kind,
      describe: 'learning-rate schedule after warmup',
    })
    .option('warmup', numberFlag('warmup', 'warmup steps', R.schedule.warmupSteps))
    .option('clip-norm', numberFlag('clip-norm', 'gradient L2 norm bound (0 = off)', R.clipNorm))
    .option('eval-every', numberFlag('eval-every', 'validate every N steps (always at the end)'))
    .option('seed', numberFlag('seed', 'seed for adapter init, shuffling and dropout', R.seed))
    .option('threads', numberFlag('threads', 'onnxruntime intra-op threads', DEFAULT_THREADS))
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
  // Numeric flags were checked while parsing (src/cli/flags.ts).
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
    // LoRA (the default) is the recipe as it was; another method brings its settings.
    ...(a['peft-method'] !== 'lora'
      ? {
          peft: {
            method: a['peft-method'],
            numVirtualTokens: a['num-virtual-tokens'],
            promptInit: a['prompt-init'],
            encoderHiddenSize: a['encoder-hidden-size'],
            prefixProjection: a['prefix-projection'],
          },
        }
      : {}),
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
