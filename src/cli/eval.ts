// `fedhpo eval`: score a model (optionally with a LoRA adapter) on a built-in task split.
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import { isTaskName, TASK_NAMES, TASKS } from '../data/tasks/index.js';
import { EVAL_DEFAULTS, type EvalReport } from '../eval/evaluate.js';
import { evalTask } from '../fl/eval-task.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';

export function printEvalReport(task: string, split: string, r: EvalReport): void {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(
    `${task}/${split}: ${isTaskName(task) ? TASKS[task].score : 'score'} ${pct(r.score)} over ${r.samples} samples, loss ${r.loss.toFixed(4)}`,
  );
  for (const [c, v] of Object.entries(r.byCategory).sort()) console.log(`  ${c.padEnd(24)} ${pct(v.score).padStart(8)}  (${v.samples})`);
  console.log(
    `generation: ${r.generatedTokens} tokens, ${Math.round(r.generationTokensPerSecond)} tokens/s; ` +
      `total ${r.costs.seconds.toFixed(1)} s, ${(r.costs.flops / 1e9).toFixed(1)} GFLOP of MatMul, peak RSS ${Math.round(r.costs.peakRssMb)} MB`,
  );
}

export function evalCommand(y: Argv): Argv {
  return y.command(
    'eval',
    'Score a model (and adapter) on a built-in task: accuracy, pass@1 or EM/F1',
    (a) =>
      a
        .option('model', { type: 'string', demandOption: true, describe: 'model directory (HF layout)' })
        .option('adapter', { type: 'string', describe: 'LoRA adapter directory (PEFT layout)' })
        .option('task', { type: 'string', demandOption: true, describe: `built-in task: ${TASK_NAMES.join(', ')}` })
        .option('split', { choices: ['train', 'validation', 'test'] as const, default: EVAL_DEFAULTS.split })
        .option('limit', numberFlag('limit', 'first N samples only'))
        .option('batch-size', numberFlag('batch-size', '', EVAL_DEFAULTS.batchSize))
        .option('max-new-tokens', numberFlag('max-new-tokens', '', EVAL_DEFAULTS.maxNewTokens))
        .option('seed', numberFlag('seed', 'task generator seed', EVAL_DEFAULTS.seed))
        .option('threads', numberFlag('threads', '', EVAL_DEFAULTS.threads))
        .option('samples', { type: 'boolean', default: false, describe: 'print every generated answer' })
        .option('json', { type: 'boolean', default: false }),
    async (a) => {
      if (!isTaskName(a.task)) throw new UsageError(`--task: unknown task '${a.task}' (known: ${TASK_NAMES.join(', ')})`);
      const bar =
        !a.json && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'eval |{bar}| {value}/{total}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const r = await evalTask({
        model: { dir: a.model, threads: a.threads },
        adapter: a.adapter,
        task: a.task,
        split: a.split,
        limit: a.limit,
        batchSize: a['batch-size'],
        maxNewTokens: a['max-new-tokens'],
        seed: a.seed,
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        },
      });
      bar?.stop();
      if (a.samples) for (const s of r.results) console.log(JSON.stringify(s));
      if (a.json) {
        const { results: _results, ...rest } = r;
        console.log(JSON.stringify({ task: a.task, split: a.split, ...rest }));
      } else printEvalReport(a.task, a.split, r);
    },
  );
}
