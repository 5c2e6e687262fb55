// A client's side of client tasks, shared by the ClientActor (a client with a model and data) and the
// TaskClientActor (a client that only runs tasks): run a `task` message on the client's ClientTaskHost
// and build the typed reply — `task-result`, or `task-error` with the reason. The last reply is kept
// and sent again when the same task is asked for again (a retry), never recomputed.
import { UserError } from '../engine/errors.js';
import type { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { encodeMessage, MESSAGE_VERSION, type TaskMsg } from './messages.js';

export class ClientTaskResponder {
  private last: { taskId: number; bytes: Uint8Array } | undefined;

  constructor(
    private readonly clientId: string,
    private readonly host: ClientTaskHost | undefined,
  ) {}

  /** The encoded reply to `msg` (computed once per task id). */
  async answer(msg: TaskMsg): Promise<Uint8Array> {
    if (this.last?.taskId === msg.taskId) return this.last.bytes;
    const base = { v: MESSAGE_VERSION, from: this.clientId, taskId: msg.taskId, task: msg.task } as const;
    let bytes: Uint8Array;
    try {
      if (!this.host) throw new UserError(`client ${this.clientId} runs no client tasks (it was started without a local objective)`);
      const out = await this.host.run(msg.task, msg.args);
      bytes = encodeMessage({
        ...base,
        kind: 'task-result',
        result: out.result,
        localSteps: out.localSteps,
        clientRounds: out.clientRounds,
      });
    } catch (e) {
      const reason = e instanceof UserError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
      bytes = encodeMessage({ ...base, kind: 'task-error', error: reason.slice(0, 2000) });
    }
    this.last = { taskId: msg.taskId, bytes };
    return bytes;
  }
}
