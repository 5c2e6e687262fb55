// runFederation: one federated training run in this process — a ServerActor and one ClientActor per
// client, each on its own transport connection (the in-process bus by default; NATS connections to
// a real server when `connect` says so), all simulated clients sharing one loaded model and training
// in turn on its engine worker. Resolves with the server's result when the last round is done.
// runFederationServer is the same run's server alone, for clients in their own processes (fl client).
import type { Aggregator } from '../fl/aggregator.js';
import { resolveAggregator } from '../fl/aggregators.js';
import { resolveSettings } from '../fl/codec/format.js';
import { type ClientData, encodedClientData } from '../fl/client-data.js';
import { type FlConfig, peftSettingsOf } from '../fl/fl-config.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { modelSha256 } from '../fl/model-fingerprint.js';
import { adapterTensors, loadIntoAdapter, type NamedTensors } from '../fl/tensors.js';
import type { LoadedModel } from '../model/source.js';
import type { Adapter } from '../peft/adapter.js';
import { adapterLayout, initAdapter } from '../peft/methods.js';
import type { Transport, TransportHooks } from './transport.js';
import { type ActorSystemRef, startActorSystem, stopActorSystem } from './actor-system.js';
import { ClientActor } from './client-actor.js';
import { ComputeLock } from './compute-lock.js';
import type { FederationState, RoundRecord } from './federation-state.js';
import { ServerActor, type ServerEvent } from './server-actor.js';
import { InProcessBus } from './transport-in-process.js';

/** Opens one transport connection for an actor (`server` or `client-<id>`), reporting to `hooks`. */
export type ConnectTransport = (name: string, hooks: TransportHooks) => Promise<Transport>;

/** Connections to a fresh in-process bus: the default, everything in this process. */
export function inProcessConnector(bus = new InProcessBus()): ConnectTransport {
  return async (name, hooks) => bus.connect({ name, ...hooks });
}

/** What the server side of a federation needs; its clients live elsewhere (other processes) or come with FederationDeps. */
export interface FederationServerDeps {
  /** The base model (the server needs its shape for the adapter and its files' sha256). */
  model: LoadedModel;
  /** The clients' ids, in a fixed order. */
  clientIds: readonly string[];
  /** Default: a private in-process bus. */
  connect?: ConnectTransport;
  /** Default: config.aggregator (sample rate from config.clients). */
  aggregator?: Aggregator;
  /** Continue from this state (after its round). */
  resume?: FederationState;
  /** Stop after this round (default config.rounds). */
  stopAfterRound?: number;
  /** Default: computed from the model's files. */
  modelSha256?: string;
  /** Whether the final `stop` dismisses long-lived client processes (see ServerSettings). */
  dismissClients?: boolean;
  onEvent?: (e: ServerEvent) => void;
  log?: (line: string) => void;
  /**
   * A client said it cannot go on (a fatal `error`: its round or evaluation failed, its data is
   * unusable), in this process or another; `error` is its reason. Default: only the server's event.
   */
  onClientError?: (client: string, error: unknown) => void;
  /** Aborting ends the run at the server's next message: runFederation rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface FederationDeps extends Omit<FederationServerDeps, 'clientIds' | 'dismissClients'> {
  /** The simulated clients, each with its data, run in this process. */
  clients: readonly ClientData[];
  /** Trainer hooks of each simulated client's local training (tests: watch every step's loss). */
  clientHooks?: (client: string) => TrainerHooks[];
}

export interface FederationResult {
  state: FederationState;
  history: RoundRecord[];
  global: NamedTensors;
  /** The final global adapter (e.g. to save in PEFT layout or score on the test split). */
  adapter: Adapter;
  rejected: Record<string, number>;
  seconds: number;
}

/** The config's aggregator: built-in names get clients.sample_rate; a module path gets its options as written. */
export async function aggregatorFromConfig(config: FlConfig): Promise<Aggregator> {
  const { name, options } = config.aggregator;
  const builtIn = !/[\\/]/.test(name) && !/\.[cm]?[jt]s$/.test(name);
  return resolveAggregator(name, builtIn ? { sample_rate: config.clients.sample_rate, ...options } : options);
}

/** Starts in-process clients once the server listens; returns their actors (stopped with the run). */
type StartClients = (ctx: {
  system: ActorSystemRef;
  connect: ConnectTransport;
  sha: string;
  transports: Transport[];
  /** Shared by the simulated clients (one engine) and awaited at the end (see serve). */
  lock: ComputeLock;
}) => Promise<ClientActor[]>;

/** The server of one federated run in this process, with clients in other processes (they join over `connect`). */
export function runFederationServer(config: FlConfig, deps: FederationServerDeps): Promise<FederationResult> {
  return serve(config, deps, async () => []);
}

/** One federated run wholly in this process: the server and a simulated client actor per `deps.clients`. */
export function runFederation(config: FlConfig, deps: FederationDeps): Promise<FederationResult> {
  const { clients: data, clientHooks: _hooks, ...rest } = deps;
  return serve(config, { ...rest, clientIds: data.map((c) => c.id) }, async ({ system, connect, sha, transports, lock }) => {
    const clients: ClientActor[] = [];
    for (const d of data) {
      let actor: ClientActor | undefined;
      const t = await connect(`client-${d.id}`, {
        onStatus: (s) => actor?.onTransportStatus(s),
        onError: reportTo(deps.log, `client ${d.id}`),
      });
      transports.push(t);
      actor = new ClientActor({
        system,
        transport: t,
        scope: { study: config.study, trial: config.trial },
        data: encodedClientData(d),
        model: deps.model.model,
        padId: deps.model.tokenizer.padId,
        modelSha256: sha,
        computeLock: lock,
        ...(deps.log ? { log: deps.log } : {}),
        ...(deps.clientHooks ? { hooks: deps.clientHooks(d.id) } : {}),
      });
      clients.push(actor);
      actor.start();
    }
    return clients;
  });
}

async function serve(config: FlConfig, deps: FederationServerDeps, startClients: StartClients): Promise<FederationResult> {
  const started = performance.now();
  const { model } = deps.model;
  const sha = deps.modelSha256 ?? (await modelSha256(deps.model));
  const aggregator = deps.aggregator ?? (await aggregatorFromConfig(config));
  const peft = peftSettingsOf(config.lora, config.peft);
  const initial = adapterTensors(await initAdapter(model, peft, config.seed));
  const connect = deps.connect ?? inProcessConnector();
  const scope = { study: config.study, trial: config.trial };
  const system = startActorSystem();
  const transports: Transport[] = [];
  let clients: ClientActor[] = [];
  let server: ServerActor | undefined;
  const cleanups: (() => void)[] = [];
  const lock = new ComputeLock();
  try {
    const serverTransport = await connect('server', {
      onStatus: (s) => server?.onTransportStatus(s),
      onError: reportTo(deps.log, 'server'),
    });
    transports.push(serverTransport);
    server = new ServerActor({
      system,
      transport: serverTransport,
      settings: {
        scope,
        seed: config.seed,
        rounds: config.rounds,
        lora: config.lora,
        ...(config.peft.method !== 'lora' ? { peft: config.peft } : {}),
        train: config.train,
        codec: resolveSettings(config.codec),
        round: config.round,
        eval: config.eval,
        modelSha256: sha,
        ...(deps.dismissClients ? { dismissClients: true } : {}),
      },
      clients: deps.clientIds,
      aggregator,
      initialGlobal: initial,
      ...(deps.resume ? { resume: deps.resume } : {}),
      ...(deps.stopAfterRound !== undefined ? { stopAfterRound: deps.stopAfterRound } : {}),
      onEvent: (e) => {
        deps.onEvent?.(e);
        // One path for every client, simulated or in its own process: its fatal `error` message.
        if (e.type === 'client-error' && e.fatal) deps.onClientError?.(e.client, e.reason);
      },
      ...(deps.log ? { log: deps.log } : {}),
    });
    const done = server.run();
    const abort = (): void => server?.abort(abortReason(deps.signal!));
    if (deps.signal?.aborted) abort();
    deps.signal?.addEventListener('abort', abort, { once: true });
    cleanups.push(() => deps.signal?.removeEventListener('abort', abort));
    await Promise.race([server.ready, done]);
    clients = await startClients({ system, connect, sha, transports, lock });
    const result = await done;
    const adapter = adapterLayout(model.cfg, peft);
    loadIntoAdapter(adapter, result.global);
    return { ...result, adapter, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const c of cleanups) c();
    server?.stop();
    for (const c of clients) c.stop();
    // A run that ended early (failed, aborted) may leave a client's compute in flight on the shared
    // engine: let it settle, so that nobody closes the engine under a running session.
    await lock.idle();
    stopActorSystem(system);
    await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
  }
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : String(r ?? 'aborted');
}

function reportTo(log: ((line: string) => void) | undefined, who: string): TransportHooks['onError'] {
  return (e) => log?.(`[${who} transport] ${e.kind}${e.subject ? ` on ${e.subject}` : ''}: ${e.message}`);
}
