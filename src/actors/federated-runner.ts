// The FederatedTrialRunner: a study trial is one real federation (runFederation: a server actor and
// one client actor per client on an in-process bus) of the trial's FL config, trained to the
// trial's fidelity and scored on the task's test split as `fedhpo fl run` scores it. The base model
// is loaded once per process (shared-models.ts) and shared by every trial, parallel ones too.
//
// The federation runs one round per runFederation call, continuing from the previous call's
// FederationState (which continues bit-identically): between two rounds the runner reports the
// round (val_loss, bytes) and can stop when the pruner says so or the study stops. At the end the
// state goes to the trial's directory as its checkpoint, so a promoted trial (SHA, Hyperband)
// continues from it, and `best/` is exported from it.
//
// With `remoteClients` the trial's clients are long-lived `fedhpo fl client` processes holding their own
// data (client-host.ts): each round is runFederationServer over their transport (one join/hello
// handshake per round, the same study/trial names and FederationState), the server side reads only
// the task's test split, and the clients stay for the next trial (the study runner dismisses them at
// the end). A client refused for another base model fails the trial at once, and every later trial of
// this runner too (that client has exited).
//
// Nothing a trial does fails the study: a bad config or a broken run is a failed trial with its
// reason; NaN/inf (a non-finite validation loss, a client's local training hitting NaN, a message
// refused for non-finite numbers) is a diverged one.
import { join } from 'node:path';
import { closeSandboxPool } from '../eval/sandbox.js';
import { type ClientData, encodeClient, type FederatedTask, pooledClient } from '../fl/client-data.js';
import { federatedData } from '../fl/client-files.js';
import type { FlConfig } from '../fl/fl-config.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { scoreTestSplit } from '../fl/test-score.js';
import type { Metrics, TrialOutcome, TrialRequest, TrialRunner } from '../hpo/trial-runner.js';
import type { FederationState, RoundRecord } from './federation-state.js';
import { type ConnectTransport, type FederationResult, runFederation, runFederationServer } from './federation.js';
import { federatedTrialConfig } from './federated-trial-config.js';
import { divergenceOf, roundMetrics, runCosts } from './federated-trial-metrics.js';
import type { ServerEvent } from './server-actor.js';
import { runOffsiteTrial } from './offsite-trial.js';
import { acquireModel, releaseModel, type SharedModel } from './shared-models.js';
import { checkpointAdapter, readTrialCheckpoint, writeTrialCheckpoint } from './trial-checkpoint.js';

export interface FederatedRunnerOptions {
  /** Server and client log lines (rejections, retries); silent by default. */
  log?: (line: string) => void;
  /** Each trial's transport connections (default: a private in-process bus per run). */
  connect?: ConnectTransport;
  /** Trainer hooks of each client's local training (tests: watch every step's loss). */
  clientHooks?: (client: string) => TrainerHooks[];
  /** The clients' records and test split of a trial (default: the config's data, a built-in task or the user's files). */
  taskFor?: (config: FlConfig) => FederatedTask;
  /** The clients are `fl client` processes reached through `connect` (ids default: the task's) instead of simulated ones. */
  remoteClients?: { ids?: readonly string[]; connect: ConnectTransport };
}

/** A task's clients as one trial's actors use them, with the test split they are scored on. */
interface TrialData {
  task: FederatedTask;
  /** Simulated clients' encoded data (none when the clients are remote). */
  clients: ClientData[];
  /** The clients' ids, in a fixed order. */
  ids: readonly string[];
}

/** Rejections that, from this process's own honest clients, can only mean NaN/inf in their numbers. */
const NON_FINITE_REJECTIONS = new Set(['non-finite', 'schema']);

/** Why a round ended early: the trial's status and reason. */
class RoundEnded extends Error {
  constructor(
    readonly status: 'diverged' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

export class FederatedTrialRunner implements TrialRunner {
  readonly name = 'federated';
  private readonly models = new Map<string, { dir: string; threads: number; model: Promise<SharedModel> }>();
  private readonly data = new Map<string, Promise<TrialData>>();
  /** Why no trial can run any more (a remote client refused for another base model). */
  private fatal: string | undefined;

  constructor(private readonly opts: FederatedRunnerOptions = {}) {}

  async run(req: TrialRequest): Promise<TrialOutcome> {
    const started = performance.now();
    const start = req.parent?.round ?? 0;
    const curve: { round: number; metrics: Metrics }[] = [];
    // The records of this run (round 0's evaluation included for a fresh trial): what it cost.
    const records: RoundRecord[] = [];
    const outcome = (status: TrialOutcome['status'], extra: Partial<TrialOutcome> = {}): TrialOutcome => ({
      status,
      metrics: curve.at(-1)?.metrics ?? {},
      curve,
      rounds: curve.length,
      ...extra,
      costs: { ...runCosts(records), seconds: (performance.now() - started) / 1000, ...extra.costs },
    });
    try {
      if (this.fatal) throw new RoundEnded('failed', this.fatal);
      const config = federatedTrialConfig(req.config, req.fidelity, `trial ${req.trialId}`);
      if (this.opts.remoteClients && config.scenario !== 'fed')
        throw new Error(`scenario ${config.scenario} simulates its clients; with remote clients (fl client processes) use scenario fed`);
      if (req.fidelity <= start) throw new Error(`fidelity ${req.fidelity} is not beyond the parent's round ${start}`);
      const shared = await this.model(config);
      if (config.offsite) {
        if (this.opts.remoteClients)
          throw new Error('offsite-tuning trials run their clients in this process; remote clients are not supported');
        return await runOffsiteTrial(req, config, shared, started);
      }
      const data = await this.trialData(config, shared);
      const flConfig: FlConfig = { ...config, trial: `t${req.trialId}` };
      let state = req.parent ? await this.parentState(req.parent, flConfig) : undefined;
      let last: FederationResult | undefined;
      for (let round = start + 1; round <= req.fidelity; round++) {
        req.signal.throwIfAborted();
        last = await this.federateRound(flConfig, shared, data, state, round, req.signal);
        state = last.state;
        records.push(...last.history.filter((r) => r.round === round || (r.round === 0 && start === 0 && round === 1)));
        const rec = last.history.find((r) => r.round === round)!;
        const metrics = roundMetrics(last.history, rec);
        curve.push({ round, metrics });
        const diverged = divergenceOf(rec);
        if (diverged) return outcome('diverged', { reason: diverged, metrics: { ...metrics, val_loss: Number.NaN } });
        if ((await req.onRound(round, metrics)) === 'prune' && round < req.fidelity) {
          const checkpoint = await this.saveCheckpoint(req.dir, config, state);
          return outcome('pruned', { reason: `pruned at round ${round}`, checkpoint });
        }
      }
      const checkpoint = await this.saveCheckpoint(req.dir, config, state!);
      const test = await scoreTestSplit(shared.model.model, shared.model.tokenizer, last!.adapter, data.task.test, data.task.testShare, {
        limit: config.eval.test_limit,
        batchSize: config.eval.batch_size,
        maxNewTokens: config.eval.max_new_tokens,
        seqLen: config.train.seq_len,
        metric: data.task.metric,
      });
      const metrics = {
        ...curve.at(-1)!.metrics,
        score: test.score,
        score_worst: test.worst,
        score_median: test.median,
        score_best: test.best,
        test_loss: test.loss,
        test_samples: test.samples,
      };
      return outcome('complete', { metrics, checkpoint, costs: { test_seconds: test.seconds, test_flops: test.flops } });
    } catch (e) {
      if (e instanceof RoundEnded) return outcome(e.status, { reason: e.message });
      if (req.signal.aborted) return outcome('failed', { reason: 'the study stopped' });
      return outcome('failed', { reason: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * One round: a federation continuing from `state` that stops after `round`. It ends early (throwing
   * RoundEnded) when a client's numbers turn non-finite or a client fails (in one process its reply
   * would never come: waiting for the round's deadline would only waste it), or when the study stops.
   */
  private async federateRound(
    config: FlConfig,
    shared: SharedModel,
    data: TrialData,
    state: FederationState | undefined,
    round: number,
    signal: AbortSignal,
  ): Promise<FederationResult> {
    const stop = new AbortController();
    let ended: RoundEnded | undefined;
    const end = (e: RoundEnded): void => {
      ended ??= e;
      stop.abort(ended);
    };
    const onStudyStop = (): void => stop.abort(signal.reason);
    signal.addEventListener('abort', onStudyStop, { once: true });
    const common = {
      model: shared.model,
      modelSha256: shared.sha256,
      stopAfterRound: round,
      signal: stop.signal,
      ...(state ? { resume: state } : {}),
      ...(this.opts.log ? { log: this.opts.log } : {}),
      onEvent: (e: ServerEvent) => {
        if (e.type === 'rejected' && NON_FINITE_REJECTIONS.has(e.reason))
          end(new RoundEnded('diverged', `a client's numbers became non-finite at round ${round} (${e.message.slice(0, 200)})`));
        if (e.type === 'rejected' && e.reason === 'model-mismatch') {
          this.fatal = `the study's base model is not its clients': ${e.message.slice(0, 300)}`;
          end(new RoundEnded('failed', this.fatal));
        }
      },
      onClientError: (client: string, error: unknown) =>
        end(
          new RoundEnded('failed', `client ${client} failed in round ${round}: ${error instanceof Error ? error.message : String(error)}`),
        ),
    };
    try {
      const remote = this.opts.remoteClients;
      if (remote)
        return await runFederationServer(config, { ...common, clientIds: data.ids, connect: remote.connect, dismissClients: false });
      return await runFederation(config, {
        ...common,
        clients: data.clients,
        ...(this.opts.connect ? { connect: this.opts.connect } : {}),
        ...(this.opts.clientHooks ? { clientHooks: this.opts.clientHooks } : {}),
      });
    } catch (e) {
      throw ended ?? e;
    } finally {
      signal.removeEventListener('abort', onStudyStop);
    }
  }

  async exportAdapter(checkpoint: string, dir: string): Promise<string[]> {
    const c = await readTrialCheckpoint(checkpoint);
    const adapter = await checkpointAdapter(c);
    await adapter.save(dir, c.model);
    return ['adapter_config.json', 'adapter_model.safetensors'].map((f) => join(dir, f));
  }

  /** Releases the base models this runner holds (the last holder in the process closes them) and idle sandboxes. */
  async close(): Promise<void> {
    const held = [...this.models.values()];
    this.models.clear();
    this.data.clear();
    await Promise.all(held.map((h) => releaseModel(h.dir, h.threads)));
    closeSandboxPool();
  }

  private model(config: FlConfig): Promise<SharedModel> {
    const key = `${config.model}|${config.threads}`;
    let held = this.models.get(key);
    if (!held) {
      held = { dir: config.model, threads: config.threads, model: acquireModel(config.model, config.threads) };
      this.models.set(key, held);
      held.model.catch(() => this.models.delete(key));
    }
    return held.model;
  }

  /**
   * The clients' data (a built-in task or the user's files) encoded for this model, once per
   * (model, data config, sequence length, validation limit, scenario). A user's files are read once
   * per process: edit them and start a new study.
   */
  private trialData(config: FlConfig, shared: SharedModel): Promise<TrialData> {
    const key = JSON.stringify([shared.sha256, config.data, config.train.seq_len, config.eval.valid_limit ?? null, config.scenario]);
    let d = this.data.get(key);
    if (!d) {
      d = (this.opts.taskFor ? Promise.resolve(this.opts.taskFor(config)) : federatedData(config.data)).then((task) => {
        const remote = this.opts.remoteClients;
        // Remote clients hold (and encode) their own data: the server needs the test split alone.
        if (remote) return { task, clients: [], ids: remote.ids ?? task.clients.map((c) => c.id) };
        const records = config.scenario === 'global' ? [pooledClient(task.clients)] : task.clients;
        const tok = shared.model.tokenizer;
        const clients = records.map((c) => encodeClient(tok, c, config.train.seq_len, config.eval.valid_limit));
        return { task, clients, ids: clients.map((c) => c.id) };
      });
      this.data.set(key, d);
      d.catch(() => this.data.delete(key));
    }
    return d;
  }

  /** The parent's state, renamed to this trial (the scope only names the run's subjects). */
  private async parentState(parent: NonNullable<TrialRequest['parent']>, config: FlConfig): Promise<FederationState> {
    const c = await readTrialCheckpoint(parent.checkpoint);
    if (c.state.round !== parent.round)
      throw new Error(`checkpoint ${parent.checkpoint} is at round ${c.state.round}, not the parent's round ${parent.round}`);
    if (c.seed !== config.seed) throw new Error(`checkpoint ${parent.checkpoint} has seed ${c.seed}, this trial ${config.seed}`);
    return { ...c.state, study: config.study, trial: config.trial };
  }

  private saveCheckpoint(dir: string, config: FlConfig, state: FederationState): Promise<string> {
    return writeTrialCheckpoint(dir, {
      v: 1,
      model: config.model,
      lora: config.lora,
      ...(config.peft.method !== 'lora' ? { peft: config.peft } : {}),
      seed: config.seed,
      state,
    });
  }
}
