// `fedhpo eval`: score a model (optionally with a LoRA adapter) on a built-in task split or on a
// user's data file (--data: the metric follows the file's format, see src/data/user-records.ts).
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import { isTaskName, TASK_NAMES, TASKS } from '../data/tasks/index.js';
import { EVAL_DEFAULTS, type EvalReport } from '../eval/evaluate.js';
import { METRICS, type MetricChoice } from '../data/user-records.js';
import { evalFile } from '../fl/eval-file.js';
import { evalTask } from '../fl/eval-task.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';

/** `scoreName` defaults to the built-in task's score name. */
export function printEvalReport(task: string, split: string, r: EvalReport, scoreName?: string): void {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const name = scoreName ?? (isTaskName(task) ? TASKS[task].score : 'score');
  const loss = Number.isNaN(r.loss) ? 'no reference answers' : r.loss.toFixed(4);
  console.log(`${task}${split ? `/${split}` : ''}: ${name} ${pct(r.score)} over ${r.samples} samples, loss ${loss}`);
  for (const [c, v] of Object.entries(r.byCategory).sort()) console.log(`  ${c.padEnd(24)} ${pct(v.score).padStart(8)}  (${v.samples})`);
  console.log(
    `generation: ${r.generatedTokens} tokens, ${Math.round(r.generationTokensPerSecond)} tokens/s; ` +
      `total ${r.costs.seconds.toFixed(1)} s, ${(r.costs.flops / 1e9).toFixed(1)} GFLOP of MatMul, peak RSS ${Math.round(r.costs.peakRssMb)} MB`,
  );
}

export function evalCommand(y: Argv): Argv {
  return y.command(
    'eval',
    'Score a model (and adapter) on a built-in task or a data file: accuracy, pass@1, EM/F1, or loss and token accuracy',
    (a) =>
      a
        .option('model', { type: 'string', demandOption: true, describe: 'model directory (HF layout)' })
        .option('adapter', { type: 'string', describe: 'LoRA adapter directory (PEFT layout)' })
        .option('task', { type: 'string', describe: `built-in task: ${TASK_NAMES.join(', ')}` })
        .option('data', {
          type: 'string',
          describe: 'a data file (JSONL/JSON): GSM8K, Dolly, HumanEval-style JS (prompt + test), or any training records',
        })
        .option('metric', { choices: METRICS, default: 'auto' as MetricChoice, describe: "--data: auto follows the file's format" })
        .option('by', { type: 'string', describe: '--data: report the score per value of this field (default: category, if present)' })
        .conflicts('task', 'data')
        .check((v) => {
          if (v.task === undefined && v.data === undefined) throw new UsageError('name --task (a built-in task) or --data (a data file)');
          if (v.task !== undefined && (v.by !== undefined || v.metric !== 'auto')) throw new UsageError('--metric and --by go with --data');
          return true;
        })
        .option('split', { choices: ['train', 'validation', 'test'] as const, default: EVAL_DEFAULTS.split })
        .option('limit', numberFlag('limit', 'first N samples only'))
        .option('batch-size', numberFlag('batch-size', '', EVAL_DEFAULTS.batchSize))
        .option('max-new-tokens', numberFlag('max-new-tokens', '', EVAL_DEFAULTS.maxNewTokens))
        .option('seed', numberFlag('seed', 'task generator seed', EVAL_DEFAULTS.seed))
        .option('threads', numberFlag('threads', '', EVAL_DEFAULTS.threads))
        .option('samples', { type: 'boolean', default: false, describe: 'print every generated answer' })
        .option('json', { type: 'boolean', default: false }),
    async (a) => {
      if (a.task !== undefined && !isTaskName(a.task))
        throw new UsageError(`--task: unknown task '${a.task}' (known: ${TASK_NAMES.join(', ')})`);
      const bar =
        !a.json && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'eval |{bar}| {value}/{total}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const onProgress = (done: number, total: number): void => {
        if (!bar) return;
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      };
      const common = {
        model: { dir: a.model, threads: a.threads },
        adapter: a.adapter,
        limit: a.limit,
        batchSize: a['batch-size'],
        maxNewTokens: a['max-new-tokens'],
        onProgress,
      };
      if (a.data !== undefined) {
        const r = await evalFile({ ...common, file: a.data, metric: a.metric, by: a.by });
        bar?.stop();
        for (const line of r.skipped.slice(0, 10)) console.error(`skipped ${line}`);
        if (r.skipped.length > 10) console.error(`... and ${r.skipped.length - 10} more skipped records in ${a.data}`);
        if (a.samples) for (const s of r.results) console.log(JSON.stringify(s));
        const { results: _results, ...rest } = r;
        if (a.json) console.log(JSON.stringify({ ...rest, skipped: r.skipped.length }));
        else printEvalReport(`${a.data} (${r.format})`, '', r, r.metric === 'loss' ? 'token accuracy' : r.metric);
        return;
      }
      const r = await evalTask({ ...common, task: a.task!, split: a.split, seed: a.seed });
      bar?.stop();
      if (a.samples) for (const s of r.results) console.log(JSON.stringify(s));
      if (a.json) {
        const { results: _results, ...rest } = r;
        console.log(JSON.stringify({ task: a.task, split: a.split, ...rest }));
      } else printEvalReport(a.task!, a.split, r);
    },
  );
}
