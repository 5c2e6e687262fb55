// The client tasks a client runs by name, and the two halves of running one: on the client
// (`runClientTask`: validate the args, run the local trials through a cache, compute the reply) and on
// the server (`checkClientTaskResult`: validate the reply against the task's own schema).
import type { JsonValue } from '../../engine/json.js';
import { UserError } from '../../engine/errors.js';
import { floraLocalHpoTask } from './flora-task.js';
import { ftsWeightsTask } from './fts-task.js';
import type { ClientTask, LocalEvaluation, LocalObjective, LocalTrialResult } from './task.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry of tasks of different argument types; each validates its own
type AnyClientTask = ClientTask<any, JsonValue>;

export const CLIENT_TASKS: Readonly<Record<string, AnyClientTask>> = {
  [ftsWeightsTask.name]: ftsWeightsTask,
  [floraLocalHpoTask.name]: floraLocalHpoTask,
};

/** A task request or reply that does not fit its task (unknown name, bad args, bad result). */
export class ClientTaskError extends UserError {
  override name = 'ClientTaskError';
}

export function clientTask(name: string): AnyClientTask {
  if (!Object.hasOwn(CLIENT_TASKS, name))
    throw new ClientTaskError(`unknown client task '${name}' (known: ${Object.keys(CLIENT_TASKS).join(', ')})`);
  return CLIENT_TASKS[name]!;
}

function issueOf(e: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const i = e.issues[0]!;
  return `${i.path.map(String).join('.') || '(root)'}: ${i.message}`;
}

/** The task's plan for these args: its local trials and how to finish (throws ClientTaskError for bad args). */
export function planClientTask(
  name: string,
  rawArgs: JsonValue,
  clientId: string,
): { trials: ReturnType<AnyClientTask['evaluations']>; finish: (results: readonly LocalTrialResult[]) => JsonValue } {
  const task = clientTask(name);
  const parsed = task.args.safeParse(rawArgs);
  if (!parsed.success) throw new ClientTaskError(`client task ${name}: args.${issueOf(parsed.error)}`);
  const args = parsed.data;
  return { trials: task.evaluations(args, clientId), finish: (results) => task.compute(args, results, clientId) };
}

/** A reply's result checked against its task's schema (throws ClientTaskError). */
export function checkClientTaskResult(name: string, result: unknown): JsonValue {
  const parsed = clientTask(name).result.safeParse(result);
  if (!parsed.success) throw new ClientTaskError(`client task ${name}: result.${issueOf(parsed.error)}`);
  return parsed.data;
}

/** What one run of a task produced on a client. */
export interface ClientTaskOutput {
  readonly result: JsonValue;
  readonly localSteps: number;
  readonly clientRounds: number;
}

/**
 * A client's runner of tasks: local trials go through its LocalObjective once per (config, rounds)
 * — a later task that needs the same local trial reuses it at no cost — then the task computes the reply.
 */
export class ClientTaskHost {
  private readonly cache = new Map<string, LocalEvaluation>();

  constructor(
    readonly clientId: string,
    private readonly objective: LocalObjective,
  ) {}

  async run(name: string, args: JsonValue): Promise<ClientTaskOutput> {
    const plan = planClientTask(name, args, this.clientId);
    let localSteps = 0;
    let clientRounds = 0;
    const results: LocalTrialResult[] = [];
    for (const t of plan.trials) {
      const key = `${JSON.stringify(Object.entries(t.config).sort(([a], [b]) => (a < b ? -1 : 1)))}@${t.rounds}`;
      let e = this.cache.get(key);
      if (!e) {
        e = await this.objective.evaluate(t.config, t.rounds);
        this.cache.set(key, e);
        localSteps += e.localSteps;
        clientRounds += e.clientRounds;
      }
      results.push({ ...t, loss: e.loss });
    }
    return { result: checkClientTaskResult(name, plan.finish(results)), localSteps, clientRounds };
  }
}
