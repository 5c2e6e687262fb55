// `fedhpo data ...`: built-in tasks (list, inspect, export) and federated splits.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Argv } from 'yargs';
import { formatHistogram, histogram } from '../data/splitters.js';
import { taskClients } from '../data/tasks/clients.js';
import { isTaskName, loadTask, TASK_NAMES, TASKS } from '../data/tasks/index.js';
import { dataSplitCommand } from './data-split.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';
import { checkOutputPath } from '../engine/files.js';

const taskNames = TASK_NAMES;

/** A built-in task named on the command line (own names only: not `toString` or `__proto__`). */
function taskInfo(name: string) {
  if (!isTaskName(name)) throw new UsageError(`unknown task '${name}' (known: ${taskNames.join(', ')})`);
  return TASKS[name];
}

export function dataCommands(y: Argv): Argv {
  const withTasks = y
    .command(
      'list',
      'List the built-in tasks',
      (a) => a.option('json', { type: 'boolean', default: false }),
      async (a) => {
        const rows = taskNames.map((n) => {
          const t = taskInfo(n);
          const d = loadTask(n, 0);
          return {
            name: n,
            like: t.like,
            score: t.score,
            clients: t.clients,
            splitter: t.splitter,
            train: d.train.length,
            validation: d.validation.length,
            test: d.test.length,
            description: t.description,
          };
        });
        if (a.json) return console.log(JSON.stringify(rows));
        for (const r of rows)
          console.log(
            `${r.name.padEnd(9)} like ${r.like}: ${r.clients} ${r.splitter} clients, ${r.score}, ${r.train}/${r.validation}/${r.test} train/validation/test\n          ${r.description}`,
          );
      },
    )
    .command(
      'inspect <task>',
      'Sizes, client histograms and samples of a built-in task',
      (a) =>
        a
          .positional('task', { type: 'string', demandOption: true, describe: `one of ${taskNames.join(', ')}` })
          .option('seed', numberFlag('seed', '', 0))
          .option('samples', numberFlag('samples', 'samples to print', 2)),
      // async: yargs only routes a handler's error to .fail (exit 2, no stack) when it rejects.
      async (a) => {
        const t = taskInfo(a.task);
        const d = loadTask(a.task, a.seed);
        console.log(`${a.task}: ${t.description}\nlike ${t.like}; score ${t.score}; ${t.clients} ${t.splitter} clients`);
        console.log(`train ${d.train.length}, validation ${d.validation.length}, test ${d.test.length}\n`);
        console.log(formatHistogram(histogram(taskClients(a.task, a.seed), (r) => r.category)));
        for (const r of d.train.slice(0, a.samples)) console.log(`\n--- ${r.category}\n${JSON.stringify(r, null, 2)}`);
      },
    )
    .command(
      'export <task>',
      'Write a task split as JSONL instruction records (usable as fedhpo train --data)',
      (a) =>
        a
          .positional('task', { type: 'string', demandOption: true })
          .option('split', { choices: ['train', 'validation', 'test'] as const, default: 'train' as const })
          .option('seed', numberFlag('seed', '', 0))
          .option('out', { type: 'string', demandOption: true, describe: 'output .jsonl file' }),
      async (a) => {
        taskInfo(a.task);
        await checkOutputPath(a.out, 'file', '--out');
        const records = loadTask(a.task, a.seed)[a.split];
        await mkdir(dirname(a.out), { recursive: true });
        await writeFile(a.out, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
        console.log(`wrote ${records.length} records to ${a.out}`);
      },
    );
  return dataSplitCommand(withTasks).demandCommand(1, 'name a data command: list, inspect, export or split');
}
