// The federated clients of the built-in tasks: a partition of the training split, cut as each
// task's registry entry says (iid clients of equal size, or one client per category).
import { describe, expect, it } from 'vitest';
import { taskClients } from '../../src/data/tasks/clients.js';
import { loadTask, TASK_NAMES, TASKS } from '../../src/data/tasks/index.js';

describe('taskClients', () => {
  it.each(TASK_NAMES)('%s: as many clients as the registry says, partitioning the training split', (name) => {
    const clients = taskClients(name);
    const train = loadTask(name).train;
    expect(clients).toHaveLength(TASKS[name].clients);
    expect(clients.flat().sort((a, b) => train.indexOf(a) - train.indexOf(b))).toEqual(train);
    if (TASKS[name].splitter === 'meta') for (const c of clients) expect(new Set(c.map((r) => r.category)).size).toBe(1);
    else for (const c of clients) expect(Math.abs(c.length - train.length / clients.length)).toBeLessThanOrEqual(1);
  });

  it('is deterministic for a seed; iid clients differ between seeds', () => {
    expect(taskClients('arith', 3)).toEqual(taskClients('arith', 3));
    expect(taskClients('arith', 3)[0]).not.toEqual(taskClients('arith', 4)[0]);
  });

  it('refuses names that are not its own', () => {
    expect(() => taskClients('toString')).toThrow(/unknown task 'toString'/);
  });
});
