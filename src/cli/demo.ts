// `fedhpo demo`: the embedded quick start. The shipped base model and one built-in task: score the
// base model on test samples, LoRA fine-tune it on the task's pooled training data, score again.
// No server, no download.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { TASK_NAMES, TASKS, type TaskName } from '../data/tasks/index.js';
import { EVAL_DEFAULTS } from '../eval/evaluate.js';
import { evalTask } from '../fl/eval-task.js';
import { finetune } from '../fl/finetune.js';
import { LORA_RECIPE } from '../fl/recipes.js';
import { SHIPPED_BASE_MODEL, withModel } from '../model/source.js';
import { printSummary, progressFor } from './train.js';
import { numberFlag } from './flags.js';
import { checkOutputPath } from '../engine/files.js';

export function demoCommand(y: Argv): Argv {
  return y.command(
    'demo',
    'Quick start, no server or download: score the shipped base model on a built-in task, LoRA fine-tune it, score again',
    (a) =>
      a
        .option('task', { choices: TASK_NAMES, default: 'code' as TaskName, describe: 'built-in task' })
        .option('steps', numberFlag('steps', 'LoRA optimizer steps (the task recipe, shortened)', 100))
        .option('limit', numberFlag('limit', 'test samples scored before and after', 60))
        .option('dir', { type: 'string', describe: 'where the adapter goes (default: a new temp dir)' })
        .option('threads', numberFlag('threads', 'onnxruntime intra-op threads', EVAL_DEFAULTS.threads))
        .option('seed', numberFlag('seed', 'seed of the adapter init, shuffling and dropout', LORA_RECIPE.seed))
        .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON, no progress' }),
    async (a) => {
      if (a.dir !== undefined) await checkOutputPath(a.dir, 'directory', '--dir');
      const dir = a.dir ?? (await mkdtemp(join(tmpdir(), 'fedhpo-demo-')));
      await mkdir(dir, { recursive: true });
      const say = (line: string) => !a.json && console.log(line);
      const scoreName = TASKS[a.task].score;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

      say(`base model ${SHIPPED_BASE_MODEL}, task ${a.task}`);
      // The base model is loaded once and serves both evaluations and the training between them.
      const { base, training, tuned } = await withModel({ dir: SHIPPED_BASE_MODEL, threads: a.threads }, async (model) => {
        const evalOpts = { model, task: a.task, limit: a.limit };
        const base = await evalTask(evalOpts);
        say(`base model:  ${scoreName} ${pct(base.score)} on ${base.samples} test samples`);
        const training = await finetune({
          ...LORA_RECIPE,
          steps: a.steps,
          model,
          data: { task: a.task, split: 'train' },
          valid: { task: a.task, split: 'validation' },
          outDir: join(dir, 'adapter'),
          seed: a.seed,
          hooks: a.json ? [] : [progressFor(a.steps)],
        });
        const tuned = training.adapterDir ? await evalTask({ ...evalOpts, adapter: training.adapterDir }) : null;
        return { base, training, tuned };
      });
      if (a.json) {
        console.log(
          JSON.stringify({ task: a.task, score: scoreName, samples: base.samples, base: base.score, lora: tuned?.score ?? null, training }),
        );
        return;
      }
      printSummary(training);
      say(
        tuned
          ? `+ LoRA:      ${scoreName} ${pct(tuned.score)} on the same ${tuned.samples} samples`
          : '+ LoRA:      not scored (training diverged)',
      );
    },
  );
}
