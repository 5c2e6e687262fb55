// A client's work in a round, as pure functions of what the server sends: (global adapter, round,
// client id, the round's train config, the trial seed) -> (delta, samples, metrics). Every run starts
// from the received global with a FRESH optimizer and the client's own RNG stream for that round, so
// a client keeps no state between rounds: every number is reproducible, in one process or over NATS,
// and a trial continues from the server's state alone.
import { makeBatches } from '../data/batching.js';
import { CostMeter } from '../engine/costs.js';
import type { JsonValue } from '../engine/json.js';
import { Rng } from '../engine/rng.js';
import type { LlamaModel } from '../model/model.js';
import type { Adapter } from '../peft/adapter.js';
import type { ClientData } from './client-data.js';
import { hooksForTrainConfig } from './fedprox.js';
import { pfedmeLocalUpdate, pfedmeSettingsOf } from './pfedme.js';
import { trainerConfigOf, type TrainSettings } from './fl-config.js';
import { LocalTrainer, adapterTarget, type TrainerHooks } from './local-trainer.js';
import { adapterTensors, loadIntoAdapter, type NamedTensors, subtractTensors } from './tensors.js';

/** The stream of client `id` in `round`: independent of every other client, round and of timing. */
export function clientRoundRng(seed: number, id: string, round: number): Rng {
  return new Rng(seed).fork('client').fork(id).fork(round);
}

export interface ClientRoundInput {
  model: LlamaModel;
  /** The client's adapter object (its values are overwritten with the global first). */
  adapter: Adapter;
  data: ClientData;
  global: NamedTensors;
  round: number;
  seed: number;
  train: TrainSettings;
  /** What the aggregator asks of clients this round (e.g. FedProx's proximal_mu). */
  aggregatorConfig: { [key: string]: JsonValue };
  padId: number;
  /** More trainer hooks (after the aggregator's): metering, tests that watch every step. */
  hooks?: TrainerHooks[];
}

export interface ClientRoundResult {
  /** w_local - w_global. */
  delta: NamedTensors;
  /** Training examples behind the update (FedAvg's weight). */
  samples: number;
  /** Finite numbers: train_loss, steps, tokens, compute_s, flops, peak_rss_mb, diverged. */
  metrics: Record<string, number>;
}

/** Trains `local_steps` from the global adapter and returns the delta with its metrics. */
export async function trainClientRound(i: ClientRoundInput): Promise<ClientRoundResult> {
  const t = i.train;
  const pfedme = pfedmeSettingsOf(i.aggregatorConfig);
  if (pfedme) return pfedmeClientRound(i, pfedme);
  loadIntoAdapter(i.adapter, i.global);
  const trainer = new LocalTrainer(i.model, trainerConfigOf(t, i.seed, i.padId), [
    ...hooksForTrainConfig(i.aggregatorConfig),
    ...(i.hooks ?? []),
  ]);
  const meter = new CostMeter();
  const result = await trainer.run(adapterTarget(i.adapter), i.data.train, [], { rng: clientRoundRng(i.seed, i.data.id, i.round), meter });
  const cost = meter.report();
  const losses = result.history.map((h) => h.loss);
  // A step that overflowed leaves NaN/inf weights: no message can carry them (the codec refuses), and
  // a silent client would hold the round until its deadline. It sends no change instead, flagged diverged.
  const trained = subtractTensors(adapterTensors(i.adapter), i.global);
  const finite = allFinite(trained);
  return {
    delta: finite ? trained : zerosLike(trained),
    samples: i.data.train.length,
    metrics: {
      ...(t.report_losses === false
        ? {}
        : { train_loss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : 0, last_train_loss: losses.at(-1) ?? 0 }),
      steps: result.steps,
      tokens: cost.tokens,
      compute_s: cost.seconds,
      flops: cost.flops,
      peak_rss_mb: cost.peakRssMb,
      diverged: result.status === 'diverged' || !finite ? 1 : 0,
    },
  };
}

/** pFedMe's client round (src/fl/pfedme.ts): the update is w_i - w; theta_i stays with the client. */
async function pfedmeClientRound(
  i: ClientRoundInput,
  settings: NonNullable<ReturnType<typeof pfedmeSettingsOf>>,
): Promise<ClientRoundResult> {
  const meter = new CostMeter();
  const r = await pfedmeLocalUpdate({
    model: i.model,
    adapter: i.adapter,
    train: i.data.train,
    global: i.global,
    settings,
    t: i.train,
    seed: i.seed,
    padId: i.padId,
    rng: clientRoundRng(i.seed, i.data.id, i.round),
    meter,
  });
  const cost = meter.report();
  const trained = subtractTensors(r.local, i.global);
  const finite = !r.diverged && allFinite(trained);
  return {
    delta: finite ? trained : zerosLike(trained),
    samples: i.data.train.length,
    metrics: {
      ...(i.train.report_losses === false ? {} : { train_loss: Number.isFinite(r.trainLoss) ? r.trainLoss : 0 }),
      steps: r.innerSteps,
      tokens: cost.tokens,
      compute_s: cost.seconds,
      flops: cost.flops,
      peak_rss_mb: cost.peakRssMb,
      diverged: finite ? 0 : 1,
    },
  };
}

function allFinite(t: NamedTensors): boolean {
  for (const { data } of t.values()) for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}

function zerosLike(t: NamedTensors): NamedTensors {
  return new Map([...t].map(([k, v]) => [k, { shape: [...v.shape], data: new Float32Array(v.data.length) }]));
}

export interface ClientEvalInput {
  model: LlamaModel;
  adapter: Adapter;
  data: ClientData;
  global: NamedTensors;
  batchSize: number;
  seqLen: number;
  padId: number;
}

export interface ClientEvalResult {
  /** Sum of the token losses over the validation split's answer tokens. */
  lossSum: number;
  tokens: number;
  /** Validation examples (the weight of this client's mean loss). */
  samples: number;
  seconds: number;
}

/** The loss of the global adapter on the client's own validation split. */
export async function evaluateClientRound(i: ClientEvalInput): Promise<ClientEvalResult> {
  const started = performance.now();
  loadIntoAdapter(i.adapter, i.global);
  const batches = makeBatches(i.data.validation, { batchSize: i.batchSize, seqLen: i.seqLen, shuffle: false, padId: i.padId });
  const target = adapterTarget(i.adapter);
  const { loss, tokens } = batches.length ? await i.model.meanLoss(batches, target.evalFeeds()) : { loss: 0, tokens: 0 };
  return { lossSum: tokens ? loss * tokens : 0, tokens, samples: i.data.validation.length, seconds: (performance.now() - started) / 1000 };
}
