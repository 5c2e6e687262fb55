// The declared capability of strategies that need client-side work (FTS, FLoRA): before an ask the
// study asks the strategy for a client task — a NAME from the client-task registry with JSON args —
// has it run on every client (by whoever runs the federation: in-process actors or client processes
// over NATS; the strategy never sees a transport), and tells the strategy the replies. Each reply
// carries what the client spent locally, in client-rounds (local steps ÷ local steps per round), which
// the study charges to its budget beside the rounds of federated trials.
import type { JsonObject } from './config-paths.js';
import type { JsonValue } from '../engine/json.js';
import type { Strategy, StudyView } from './strategy.js';

/** Run the registered client task `task` with `args` on every client. */
export interface ClientTaskRequest {
  readonly task: string;
  readonly args: JsonObject;
}

/** One client's answer (its `result` already validated against the task's result schema). */
export interface ClientTaskReply {
  readonly client: string;
  readonly result: JsonValue;
  /** Local training steps the task cost this client (cached local trials cost nothing again). */
  readonly localSteps: number;
  /** The same in client-rounds: local steps ÷ local steps per round. */
  readonly clientRounds: number;
}

/** A strategy that asks clients for work. Both methods stay pure with respect to I/O, like ask/tell. */
export interface ClientTaskStrategy extends Strategy {
  /** Client work needed before the next ask, or undefined when none is needed now. */
  clientTask(study: StudyView): ClientTaskRequest | undefined;
  /** The replies to `request` (one per client that answered; none when no client did). */
  tellClientTask(request: ClientTaskRequest, replies: readonly ClientTaskReply[], study: StudyView): void;
}

/** Whether `s` declares the client-task capability. */
export function usesClientTasks(s: Strategy): s is ClientTaskStrategy {
  const c = s as Partial<ClientTaskStrategy>;
  return typeof c.clientTask === 'function' && typeof c.tellClientTask === 'function';
}

/** Runs client tasks on a federation's clients (implemented over transports in src/actors). */
export interface ClientTaskRunner {
  run(request: ClientTaskRequest): Promise<ClientTaskReply[]>;
  close?(): Promise<void>;
}
