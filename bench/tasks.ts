// Base model vs LoRA fine-tuned on each built-in task's pooled training data (centralised), scored
// on the test split. Prints a markdown table; the same runs as the README's commands (the base
// model is loaded once here and shared by every evaluation and training run).
//   npm run bench:tasks [-- --model models/fedhpo-base --steps 300 --json]
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { TASK_NAMES, TASKS, isTaskName } from '../src/data/tasks/index.js';
import { EVAL_DEFAULTS } from '../src/eval/evaluate.js';
import { evalTask } from '../src/fl/eval-task.js';
import { finetune } from '../src/fl/finetune.js';
import { LORA_RECIPE } from '../src/fl/recipes.js';
import { openModel } from '../src/model/source.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fedhpo-base' },
    out: { type: 'string', default: 'runs/tasks' },
    steps: { type: 'string', default: String(LORA_RECIPE.steps) },
    tasks: { type: 'string', default: TASK_NAMES.join(',') },
    json: { type: 'boolean', default: false },
  },
});
const rows: {
  task: string;
  metric: string;
  base: number;
  lora: number;
  baseLoss: number;
  loraLoss: number;
  trainSeconds: number;
  evalSeconds: number;
  genTokPerS: number;
}[] = [];
const model = await openModel({ dir: values.model, threads: EVAL_DEFAULTS.threads });
for (const task of values.tasks.split(',')) {
  if (!isTaskName(task)) throw new Error(`--tasks: unknown task '${task}' (known: ${TASK_NAMES.join(', ')})`);
  const evalOpts = { model, task };
  const base = await evalTask(evalOpts);
  const adapterDir = join(values.out, `${task}-lora`);
  const trained = await finetune({
    ...LORA_RECIPE,
    steps: Number(values.steps),
    model,
    data: { task, split: 'train' },
    valid: { task, split: 'validation' },
    outDir: adapterDir,
  });
  const lora = await evalTask({ ...evalOpts, adapter: adapterDir });
  const metric = TASKS[task].score === 'helm' ? 'EM/F1' : TASKS[task].score;
  rows.push({
    task,
    metric,
    base: base.score,
    lora: lora.score,
    baseLoss: base.loss,
    loraLoss: lora.loss,
    trainSeconds: trained.seconds,
    evalSeconds: base.costs.seconds,
    genTokPerS: base.generationTokensPerSecond,
  });
  console.error(
    `${task}: base ${(100 * base.score).toFixed(1)}% -> LoRA ${(100 * lora.score).toFixed(1)}% (train ${trained.seconds.toFixed(0)} s, eval ${base.costs.seconds.toFixed(0)} s)`,
  );
}
console.log('| task | score | base model | + LoRA (centralised) | test loss base -> LoRA | eval time (base) | generation tok/s |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.task} | ${r.metric} | ${(100 * r.base).toFixed(1)}% | ${(100 * r.lora).toFixed(1)}% | ${r.baseLoss.toFixed(3)} -> ${r.loraLoss.toFixed(3)} | ${r.evalSeconds.toFixed(0)} s | ${Math.round(r.genTokPerS)} |`,
  );
if (values.json) console.log(JSON.stringify(rows));
await model.close();
