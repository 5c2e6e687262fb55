// runFederation: one federated training run in this process — a ServerActor and one ClientActor per
// client, each on its own transport connection (the in-process bus by default; NATS connections to
// a real server when `connect` says so), all simulated clients sharing one loaded model and training
// in turn on its engine worker. Resolves with the server's result when the last round is done.
import type { Aggregator } from '../fl/aggregator.js';
import { resolveAggregator } from '../fl/aggregators.js';
import { resolveSettings } from '../fl/codec/format.js';
import type { ClientData } from '../fl/client-data.js';
import type { FlConfig } from '../fl/fl-config.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { modelSha256 } from '../fl/model-fingerprint.js';
import { adapterTensors, loadIntoAdapter, type NamedTensors } from '../fl/tensors.js';
import type { LoadedModel } from '../model/source.js';
import { LoraAdapter } from '../peft/lora.js';
import type { Transport, TransportHooks } from './transport.js';
import { startActorSystem, stopActorSystem } from './actor-system.js';
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

export interface FederationDeps {
  /** The base model, loaded once and shared by the server and every simulated client. */
  model: LoadedModel;
  clients: readonly ClientData[];
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
  onEvent?: (e: ServerEvent) => void;
  log?: (line: string) => void;
  /** A simulated client failed to handle a message (it will not reply); default: only logged. */
  onClientError?: (client: string, error: unknown) => void;
  /** Trainer hooks of each simulated client's local training (tests: watch every step's loss). */
  clientHooks?: (client: string) => TrainerHooks[];
  /** Aborting ends the run at the server's next message: runFederation rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface FederationResult {
  state: FederationState;
  history: RoundRecord[];
  global: NamedTensors;
  /** The final global adapter (e.g. to save in PEFT layout or score on the test split). */
  adapter: LoraAdapter;
  rejected: Record<string, number>;
  seconds: number;
}

/** The config's aggregator: built-in names get clients.sample_rate; a module path gets its options as written. */
export async function aggregatorFromConfig(config: FlConfig): Promise<Aggregator> {
  const { name, options } = config.aggregator;
  const builtIn = !/[\\/]/.test(name) && !/\.[cm]?[jt]s$/.test(name);
  return resolveAggregator(name, builtIn ? { sample_rate: config.clients.sample_rate, ...options } : options);
}

export async function runFederation(config: FlConfig, deps: FederationDeps): Promise<FederationResult> {
  const started = performance.now();
  const { model } = deps.model;
  const sha = deps.modelSha256 ?? (await modelSha256(deps.model));
  const aggregator = deps.aggregator ?? (await aggregatorFromConfig(config));
  const initial = adapterTensors(LoraAdapter.init(model.cfg, config.lora, config.seed));
  const connect = deps.connect ?? inProcessConnector();
  const scope = { study: config.study, trial: config.trial };
  const system = startActorSystem();
  const transports: Transport[] = [];
  const clients: ClientActor[] = [];
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
        train: config.train,
        codec: resolveSettings(config.codec),
        round: config.round,
        eval: config.eval,
        modelSha256: sha,
      },
      clients: deps.clients.map((c) => c.id),
      aggregator,
      initialGlobal: initial,
      ...(deps.resume ? { resume: deps.resume } : {}),
      ...(deps.stopAfterRound !== undefined ? { stopAfterRound: deps.stopAfterRound } : {}),
      ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    });
    const done = server.run();
    const abort = (): void => server?.abort(abortReason(deps.signal!));
    if (deps.signal?.aborted) abort();
    deps.signal?.addEventListener('abort', abort, { once: true });
    cleanups.push(() => deps.signal?.removeEventListener('abort', abort));
    await Promise.race([server.ready, done]);
    for (const data of deps.clients) {
      let actor: ClientActor | undefined;
      const t = await connect(`client-${data.id}`, {
        onStatus: (s) => actor?.onTransportStatus(s),
        onError: reportTo(deps.log, `client ${data.id}`),
      });
      transports.push(t);
      actor = new ClientActor({
        system,
        transport: t,
        scope,
        data,
        model,
        padId: deps.model.tokenizer.padId,
        modelSha256: sha,
        computeLock: lock,
        ...(deps.log ? { log: deps.log } : {}),
        ...(deps.onClientError ? { onError: (e: unknown) => deps.onClientError!(data.id, e) } : {}),
        ...(deps.clientHooks ? { hooks: deps.clientHooks(data.id) } : {}),
      });
      clients.push(actor);
      actor.start();
    }
    const result = await done;
    const adapter = LoraAdapter.init(model.cfg, config.lora, config.seed);
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
