// The federated clients of a built-in task: its training split cut as the reference cuts it
// (uniformly at random, or one client per category).
import { iidSplit, metaSplit } from '../splitters.js';
import { getTask, loadTask } from './index.js';
import type { TaskRecord } from './types.js';

/** The task's federated clients of its training split (iid or one per category). */
export function taskClients(name: string, seed = 0): TaskRecord[][] {
  const t = getTask(name);
  const train = loadTask(name, seed).train;
  return t.splitter === 'iid' ? iidSplit(train, t.clients, seed).clients : metaSplit(train, (r) => r.category).clients;
}
