// A study's clients as its client tasks reach them (the study config's `client_tasks`): a
// ClientTaskCoordinator on the transport (in-process by default, NATS with --nats) and, unless the
// clients are remote (separate `fedhpo clients serve` processes), one TaskClientActor per client in
// this process, each on its own transport connection. On the synthetic objective each client's local
// objective is the synthetic bowl with its own optimum; federated trials bring their clients' own
// data once the federated trial runner exists.
import { createHash } from 'node:crypto';
import { UserError } from '../engine/errors.js';
import type { ClientTaskReply, ClientTaskRequest, ClientTaskRunner } from '../hpo/client-task.js';
import { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { SyntheticLocalObjective } from '../hpo/client-tasks/synthetic-objective.js';
import type { LocalObjective } from '../hpo/client-tasks/task.js';
import { clientTaskIds, type StudyConfig, studySpace } from '../hpo/study-config.js';
import { type ActorSystemRef, startActorSystem, stopActorSystem } from './actor-system.js';
import { ClientTaskCoordinator } from './client-task-coordinator.js';
import { type ConnectTransport, inProcessConnector } from './federation.js';
import { TaskClientActor } from './task-client-actor.js';
import type { Transport } from './transport.js';
import { NatsTransport } from './transport-nats.js';
import type { NatsConnectOptions } from './transport-nats-options.js';
import type { TrialScope } from './transport-subjects.js';

/** The trial token of the client tasks' subjects: fedhpo.<scope>.tasks.… */
export const CLIENT_TASKS_TRIAL = 'tasks';

/** What a synthetic study's clients say in their hello instead of a base model's sha256. */
export const SYNTHETIC_MODEL_SHA256 = createHash('sha256').update('fedhpo synthetic objective').digest('hex');

export interface ClientTasksDeps {
  /** Connect through NATS (each actor its own connection) instead of an in-process bus. */
  readonly nats?: NatsConnectOptions;
  /** Overrides both (tests). */
  readonly connect?: ConnectTransport;
  /** Each client's local objective (default: the study's synthetic one). */
  readonly objectiveFor?: (clientId: string) => LocalObjective;
  /** Sees every message a local client publishes (tests: privacy checks). */
  readonly onClientSend?: (clientId: string, subject: string, bytes: Uint8Array) => void;
  readonly log?: (line: string) => void;
}

export function clientTasksScope(config: StudyConfig): TrialScope {
  return {
    study: config.client_tasks?.scope ?? config.name?.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) ?? 'study',
    trial: CLIENT_TASKS_TRIAL,
  };
}

function connectorOf(deps: ClientTasksDeps): ConnectTransport {
  if (deps.connect) return deps.connect;
  const connection = deps.nats;
  if (connection) return (name, hooks) => NatsTransport.connect({ connection, name: `fedhpo-${name}`, ...hooks });
  return inProcessConnector();
}

/** The synthetic objective of client `id` of a study on the synthetic objective. */
export function syntheticObjectiveFor(config: StudyConfig, id: string, onLoss?: (loss: number) => void): LocalObjective {
  if (config.trial.kind !== 'synthetic')
    throw new UserError(
      `client tasks: trial.kind ${JSON.stringify(config.trial.kind)}: clients with their own data need the federated trial runner; only synthetic studies run client tasks so far`,
    );
  const c = config.client_tasks;
  return new SyntheticLocalObjective(
    studySpace(config),
    { clientId: id, heterogeneity: c?.heterogeneity ?? 0.3, localStepsPerRound: c?.local_steps_per_round ?? 10 },
    onLoss,
  );
}

/** Client-task clients of a study running in this process (also what `fedhpo clients serve` starts). */
export class LocalTaskClients {
  private constructor(
    private readonly system: ActorSystemRef,
    private readonly transports: Transport[],
    readonly actors: TaskClientActor[],
  ) {}

  static async start(config: StudyConfig, ids: readonly string[], deps: ClientTasksDeps): Promise<LocalTaskClients> {
    const connect = connectorOf(deps);
    const scope = clientTasksScope(config);
    const system = startActorSystem();
    const out = new LocalTaskClients(system, [], []);
    try {
      for (const id of ids) {
        let actor: TaskClientActor | undefined;
        const t = await connect(`client-${id}`, { onStatus: (s) => actor?.onTransportStatus(s) });
        out.transports.push(t);
        const objective = deps.objectiveFor?.(id) ?? syntheticObjectiveFor(config, id);
        actor = new TaskClientActor({
          system,
          transport: t,
          scope,
          clientId: id,
          host: new ClientTaskHost(id, objective),
          modelSha256: SYNTHETIC_MODEL_SHA256,
          ...(deps.onClientSend ? { onSend: (subject: string, bytes: Uint8Array) => deps.onClientSend!(id, subject, bytes) } : {}),
          ...(deps.log ? { log: deps.log } : {}),
        });
        out.actors.push(actor);
        actor.start();
      }
      return out;
    } catch (e) {
      await out.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    for (const a of this.actors) a.stop();
    stopActorSystem(this.system);
    await Promise.all(this.transports.map((t) => t.close().catch(() => undefined)));
  }
}

/** The study's ClientTaskRunner: a coordinator, and its clients unless they are remote. */
export async function clientTasksFor(
  config: StudyConfig,
  deps: ClientTasksDeps = {},
): Promise<ClientTaskRunner & { close(): Promise<void> }> {
  const c = config.client_tasks;
  const ids = clientTaskIds(c);
  if (c?.remote && !deps.nats && !deps.connect)
    throw new UserError('client_tasks.remote: clients in separate processes are reached through NATS: run the study with --nats');
  const connect = connectorOf(deps);
  const system = startActorSystem();
  let coordinator: ClientTaskCoordinator | undefined;
  const transport = await connect('client-tasks', { onStatus: (s) => coordinator?.onTransportStatus(s) });
  coordinator = new ClientTaskCoordinator({
    system,
    transport,
    scope: clientTasksScope(config),
    clients: ids,
    modelSha256: SYNTHETIC_MODEL_SHA256,
    deadlineSeconds: c?.deadline ?? 600,
    joinTimeoutSeconds: c?.join_timeout ?? 60,
    retries: c?.retries ?? 1,
    ...(deps.log ? { log: deps.log } : {}),
  });
  await coordinator.ready;
  const clients = c?.remote ? undefined : await LocalTaskClients.start(config, ids, { ...deps, connect });
  const co = coordinator;
  return {
    run: (request: ClientTaskRequest): Promise<ClientTaskReply[]> => co.run(request),
    close: async () => {
      await co.close();
      await clients?.close();
      stopActorSystem(system);
      await transport.close().catch(() => undefined);
    },
  };
}
