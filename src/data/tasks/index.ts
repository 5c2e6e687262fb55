// Registry of the built-in benchmark tasks (generated from a seed; no downloads).
import { DataError } from '../records.js';
import { ARITH_TASK } from './arith.js';
import { CODE_TASK } from './code.js';
import { INSTRUCT_TASK } from './instruct.js';
import type { TaskData, TaskInfo } from './types.js';

export type { CodeTest, Reference, TaskData, TaskInfo, TaskRecord, TaskSplit } from './types.js';

export type TaskName = 'arith' | 'code' | 'instruct';

export const TASKS: Record<TaskName, TaskInfo> = {
  arith: ARITH_TASK,
  code: CODE_TASK,
  instruct: INSTRUCT_TASK,
};

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

export const isTaskName = (name: string): name is TaskName => Object.hasOwn(TASKS, name);

/** Look up a task's info; throws a DataError naming the known tasks for an unknown name. */
export function getTask(name: string): TaskInfo {
  if (!isTaskName(name)) throw new DataError(`unknown task '${name}' (known tasks: ${TASK_NAMES.join(', ')})`);
  return TASKS[name];
}

const cache = new Map<string, TaskData>();

/**
 * The train/validation/test splits of a built-in task for `seed` (deterministic; splits are
 * disjoint by instruction + input). Generation is cached per (name, seed); each call returns fresh
 * split arrays, but the records themselves are shared: do not mutate them.
 */
export function loadTask(name: string, seed = 0): TaskData {
  const task = getTask(name);
  if (!Number.isSafeInteger(seed)) throw new DataError(`task ${name}: seed must be an integer, got ${seed}`);
  const key = `${name}\u0000${seed}`;
  let data = cache.get(key);
  if (!data) {
    data = task.generate(seed);
    cache.set(key, data);
  }
  return { train: [...data.train], validation: [...data.validation], test: [...data.test] };
}
