// A study's clients as its client tasks reach them (the study config's `client_tasks`): a
// ClientTaskCoordinator on the transport (in-process by default, NATS with --nats) and, unless the
// clients are remote (separate `fedhpo clients serve` processes), one TaskClientActor per client in
// this process, each on its own transport connection. On the synthetic objective each client's local
// objective is the synthetic bowl with its own optimum; in a federated study it is LoRA fine-tuning
// on the client's own records of the built-in task (LoraLocalObjective), on the shared base model.
import { createHash } from 'node:crypto';
import { UserError } from '../engine/errors.js';
import type { ClientTaskReply, ClientTaskRequest, ClientTaskRunner } from '../hpo/client-task.js';
import { ClientTaskHost } from '../hpo/client-tasks/registry.js';
import { SyntheticLocalObjective } from '../hpo/client-tasks/synthetic-objective.js';
import type { LocalObjective } from '../hpo/client-tasks/task.js';
import { clientTaskIds, type StudyConfig, studySpace } from '../hpo/study-config.js';
import { type ActorSystemRef, startActorSystem, stopActorSystem } from './actor-system.js';
import { ClientTaskCoordinator } from './client-task-coordinator.js';
import { ComputeLock } from './compute-lock.js';
import { checkFederatedStudy, isFederatedTrial } from './federated-trial-config.js';
import { LoraLocalObjective } from './lora-local-objective.js';
import { acquireModel, releaseModel } from './shared-models.js';
import { federatedData } from '../fl/client-files.js';
import { dataName } from '../fl/fl-config.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
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
  /** Federated studies: trainer hooks on every local step of every local client (tests: privacy checks). */
  readonly trainerHooks?: (clientId: string) => TrainerHooks[];
  /** Sees every local trial's validation loss of a local client (tests: privacy checks). */
  readonly onLocalLoss?: (clientId: string, loss: number) => void;
  /** What hellos must carry (default: the synthetic stand-in, or a federated study's base model sha256). */
  readonly modelSha256?: string;
  readonly log?: (line: string) => void;
}

/** A federated study's clients with their own data on one shared base model (they train in turn). */
export interface FederatedClients {
  readonly ids: string[];
  readonly modelSha256: string;
  objectiveFor(id: string): LocalObjective;
  close(): Promise<void>;
}

export async function federatedClients(config: StudyConfig, deps: ClientTasksDeps = {}): Promise<FederatedClients> {
  const fl = checkFederatedStudy(config, 'study config');
  const shared = await acquireModel(fl.model, fl.threads);
  const task = await federatedData(fl.data);
  const lock = new ComputeLock();
  return {
    ids: task.clients.map((c) => c.id),
    modelSha256: shared.sha256,
    objectiveFor: (id) => {
      const records = task.clients.find((c) => c.id === id);
      if (!records) throw new UserError(`client ${id}: not a client of ${dataName(fl.data)} (${task.clients.map((c) => c.id).join(', ')})`);
      return new LoraLocalObjective({
        study: config,
        model: shared.model,
        records,
        lock,
        ...(deps.trainerHooks ? { hooks: deps.trainerHooks(id) } : {}),
        ...(deps.onLocalLoss ? { onLoss: (loss: number) => deps.onLocalLoss!(id, loss) } : {}),
      });
    },
    close: async () => {
      await lock.idle();
      await releaseModel(fl.model, fl.threads);
    },
  };
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
      `client tasks: trial.kind ${JSON.stringify(config.trial.kind)}: not the synthetic objective (federated studies' clients train on their own data: federatedClients)`,
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
          modelSha256: deps.modelSha256 ?? SYNTHETIC_MODEL_SHA256,
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
  if (c?.remote && !deps.nats && !deps.connect)
    throw new UserError('client_tasks.remote: clients in separate processes are reached through NATS: run the study with --nats');
  const fed = isFederatedTrial(config.trial) ? await federatedClients(config, deps) : undefined;
  const ids = c?.clients !== undefined || !fed ? clientTaskIds(c) : fed.ids;
  const modelSha256 = deps.modelSha256 ?? fed?.modelSha256 ?? SYNTHETIC_MODEL_SHA256;
  const connect = connectorOf(deps);
  const system = startActorSystem();
  let coordinator: ClientTaskCoordinator | undefined;
  const transport = await connect('client-tasks', { onStatus: (s) => coordinator?.onTransportStatus(s) });
  coordinator = new ClientTaskCoordinator({
    system,
    transport,
    scope: clientTasksScope(config),
    clients: ids,
    modelSha256,
    deadlineSeconds: c?.deadline ?? 600,
    joinTimeoutSeconds: c?.join_timeout ?? 60,
    retries: c?.retries ?? 1,
    ...(deps.log ? { log: deps.log } : {}),
  });
  await coordinator.ready;
  const clients = c?.remote
    ? undefined
    : await LocalTaskClients.start(config, ids, {
        ...deps,
        connect,
        modelSha256,
        ...(fed && !deps.objectiveFor ? { objectiveFor: (id: string) => fed.objectiveFor(id) } : {}),
      });
  const co = coordinator;
  return {
    run: (request: ClientTaskRequest): Promise<ClientTaskReply[]> => co.run(request),
    close: async () => {
      await co.close();
      await clients?.close();
      stopActorSystem(system);
      await transport.close().catch(() => undefined);
      await fed?.close();
    },
  };
}
