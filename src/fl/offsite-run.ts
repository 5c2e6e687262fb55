// A federated offsite-tuning run (src/fl/offsite.ts), simulated in one process: the server builds
// the emulator of the full model once, "sends" it to every client once, and each round sends the
// global adapter to the clients, which train its full weights on their data over the frozen
// emulator (embedding, final norm, head and the kept middle layers frozen), and send it back; the
// server averages them (FedAvg, sample-weighted). `local` trains each client alone from the same
// start. At the end the server plugs the adapter into the full model and scores the task's test
// split with it (and, for comparison, with the emulator it was trained on).
//
// Messages are metered as the federation's transport would carry them: each tensor set encoded by
// the codec (src/fl/codec, lossless fp32), the emulator once per client, the adapter down and up per
// client per round. The full model never leaves the server.
import { makeBatches } from '../data/batching.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import { expectedTensorShapes, type LlamaConfig } from '../model/config.js';
import { LlamaModel } from '../model/model.js';
import type { AdapterFeeds } from '../model/model.js';
import { encodeTensors } from './codec/encode.js';
import { type ClientData, encodeClient, type FederatedTask, pooledClient } from './client-data.js';
import { clientRoundRng } from './client-round.js';
import { fedAvg } from './fedavg.js';
import { type FlConfig, trainerConfigOf } from './fl-config.js';
import { fullTarget, LocalTrainer } from './local-trainer.js';
import { adapterOf, buildEmulator, type EmulatorPlan, emulatorPlan, toFullNames } from './offsite.js';
import type { NamedTensors } from './tensors.js';
import { scoreTestSplit, type TestScore } from './test-score.js';

export interface OffsiteRoundRecord {
  round: number;
  /** Sample-weighted validation loss of the global adapter on the emulator (fed) or of each client's own (local). */
  valLoss: number;
  trainLoss: number;
  seconds: number;
}

export interface OffsiteSummary {
  scenario: FlConfig['scenario'];
  drop: number;
  plan: EmulatorPlan;
  /** Parameters: full model, emulator, adapter. */
  params: { full: number; emulator: number; adapter: number };
  /** Bytes as the codec encodes them (fp32): the emulator without its adapter layers, and one adapter message. */
  bytes: { emulator: number; adapter: number; down: number; up: number; total: number; fullModel: number };
  rounds: OffsiteRoundRecord[];
  /** Whether onRound stopped the run early (then the scores are NaN: nothing was scored). */
  stopped: boolean;
  /** The adapter plugged into the full model (local: mean over the clients' adapters). */
  plugged: { score: number; loss: number; perClient?: Record<string, number> };
  /** The adapter on the emulator it was trained with (offsite-tuning's "emulator performance"; NaN when not scored). */
  emulator: { score: number; loss: number };
  seconds: number;
}

export interface OffsiteDeps {
  engine: Engine;
  /** The full model's weights (never changed) and config, and its tokenizer. */
  cfg: LlamaConfig;
  weights: ReadonlyMap<string, Float32Array>;
  tokenizer: Tokenizer;
  task: FederatedTask;
  log?: (line: string) => void;
  /** Also score the adapter on the emulator (default true; `local` scores one adapter per client). */
  scoreEmulator?: boolean;
  /** After every round (a study's pruner): 'stop' ends the run there, unscored (after the last round it changes nothing). */
  onRound?: (rec: OffsiteRoundRecord, bytesSoFar: { up: number; down: number }) => 'stop' | 'continue' | Promise<'stop' | 'continue'>;
}

const countParams = (w: ReadonlyMap<string, Float32Array>): number => [...w.values()].reduce((n, a) => n + a.length, 0);

function named(w: ReadonlyMap<string, Float32Array>, shapes: Map<string, number[]>): NamedTensors {
  return new Map([...w].map(([k, data]) => [k, { shape: shapes.get(k)!, data }]));
}

function messageBytes(w: ReadonlyMap<string, Float32Array>, shapes: Map<string, number[]>): number {
  return encodeTensors(named(w, shapes), { precision: 'fp32', granularity: 'channel', compression: 'none', level: 6 }).length;
}

const feedsOf = (w: ReadonlyMap<string, Float32Array>, shapes: Map<string, number[]>): AdapterFeeds => ({
  feeds: Object.fromEntries([...w].map(([k, data]) => [k, { dtype: 'float32' as const, dims: shapes.get(k)!, data }])),
});

export async function runOffsite(config: FlConfig, deps: OffsiteDeps): Promise<OffsiteSummary> {
  const started = performance.now();
  const log = deps.log ?? (() => {});
  const o = config.offsite;
  if (!o) throw new UserError('runOffsite: the config has no offsite section');
  if (config.aggregator.name !== 'fedavg')
    throw new UserError(`offsite-tuning averages adapters with fedavg, not '${config.aggregator.name}'`);
  if (config.clients.sample_rate !== 1) throw new UserError('offsite-tuning trains every client each round (clients.sample_rate 1)');
  const plan = emulatorPlan(deps.cfg.num_hidden_layers, o.drop, o.adapter_layers);
  const emu = buildEmulator(deps.cfg, deps.weights, plan);
  const emuShapes = expectedTensorShapes(emu.cfg);
  const fullShapes = expectedTensorShapes(deps.cfg);
  const start = adapterOf(plan, emu.weights);
  const frozen = new Map([...emu.weights].filter(([k]) => !start.has(k)));
  const bytesEmulator = messageBytes(frozen, emuShapes);
  const bytesAdapter = messageBytes(start, emuShapes);
  log(
    `offsite: ${deps.cfg.num_hidden_layers} layers -> emulator of ${plan.kept.length} (dropped ${plan.dropped.join(', ') || 'none'}; ` +
      `adapter ${plan.adapter.join(', ')}), emulator ${(bytesEmulator / 1e6).toFixed(2)} MB, adapter ${(bytesAdapter / 1e6).toFixed(2)} MB`,
  );

  const seqLen = config.train.seq_len;
  const records = config.scenario === 'global' ? [pooledClient(deps.task.clients)] : deps.task.clients;
  const clients: ClientData[] = records.map((c) => encodeClient(deps.tokenizer, c, seqLen, config.eval.valid_limit));
  const copies = new Map([...emu.weights].map(([k, v]) => [k, v.slice()]));
  const emuModel = await LlamaModel.fromWeights(deps.engine, emu.cfg, copies);
  const fullModel = await LlamaModel.fromWeights(deps.engine, deps.cfg, new Map([...deps.weights].map(([k, v]) => [k, v.slice()])));
  try {
    const trainer = new LocalTrainer(emuModel, trainerConfigOf(config.train, config.seed, deps.tokenizer.padId));
    /** One client's round: its adapter trained from `from` for local_steps (a fresh optimizer, its own stream). */
    const train = async (c: ClientData, from: ReadonlyMap<string, Float32Array>, round: number) => {
      const params = new Map([...from].map(([k, v]) => [k, v.slice()]));
      const r = await trainer.run(fullTarget(params, emuShapes), c.train, [], { rng: clientRoundRng(config.seed, c.id, round) });
      const losses = r.history.map((h) => h.loss);
      // A diverged client sends no change (as a LoRA client does), so one NaN cannot poison the average.
      return {
        params: r.status === 'diverged' ? new Map(from) : params,
        loss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN,
      };
    };
    const validLoss = async (adapters: ReadonlyMap<string, Float32Array>[]): Promise<number> => {
      let sum = 0;
      let tokens = 0;
      for (const [i, c] of clients.entries()) {
        const batches = makeBatches(c.validation, {
          batchSize: config.eval.batch_size,
          seqLen,
          shuffle: false,
          padId: deps.tokenizer.padId,
        });
        if (!batches.length) continue;
        const r = await emuModel.meanLoss(batches, feedsOf(adapters[Math.min(i, adapters.length - 1)]!, emuShapes));
        sum += r.loss * r.tokens;
        tokens += r.tokens;
      }
      return tokens ? sum / tokens : NaN;
    };

    const fed = config.scenario !== 'local';
    // fed: the emulator once, the adapter down and up every round; local: the emulator and the
    // starting adapter once, the trained adapter back once (to be plugged in), nothing in between.
    const traffic = (n: number, trained: number): { down: number; up: number } =>
      fed
        ? { down: n * (bytesEmulator + trained * bytesAdapter), up: n * trained * bytesAdapter }
        : { down: n * (bytesEmulator + bytesAdapter), up: n * bytesAdapter };
    // fed/global: one global adapter; local: one per client, each continuing its own.
    let adapters: Map<string, Float32Array>[] = fed ? [start] : clients.map(() => new Map(start));
    let stopped = false;
    const rounds: OffsiteRoundRecord[] = [{ round: 0, valLoss: await validLoss(adapters), trainLoss: NaN, seconds: 0 }];
    log(`offsite round 0/${config.rounds} val loss ${rounds[0]!.valLoss.toFixed(4)}`);
    for (let round = 1; round <= config.rounds; round++) {
      const t0 = performance.now();
      const results = [];
      for (const [i, c] of clients.entries()) results.push(await train(c, fed ? adapters[0]! : adapters[i]!, round));
      if (fed) {
        const avg = fedAvg(
          named(adapters[0]!, emuShapes),
          results.map((r, i) => ({
            clientId: clients[i]!.id,
            samples: clients[i]!.train.length,
            tensors: named(r.params, emuShapes),
            metrics: {},
          })),
        );
        adapters = [new Map([...avg].map(([k, v]) => [k, v.data]))];
      } else adapters = results.map((r) => r.params);
      const last = round === config.rounds;
      const valLoss = last || round % config.eval.every === 0 ? await validLoss(adapters) : NaN;
      const trainLoss = results.reduce((a, r) => a + r.loss, 0) / results.length;
      rounds.push({ round, valLoss, trainLoss, seconds: (performance.now() - t0) / 1000 });
      log(
        `offsite round ${round}/${config.rounds} val loss ${valLoss.toFixed(4)} train loss ${trainLoss.toFixed(4)} ${rounds.at(-1)!.seconds.toFixed(1)} s`,
      );
      const sent = traffic(clients.length, round);
      if (deps.onRound && (await deps.onRound(rounds.at(-1)!, sent)) === 'stop' && !last) {
        stopped = true;
        break;
      }
    }

    const score = (model: LlamaModel, feeds: AdapterFeeds): Promise<TestScore> =>
      scoreTestSplit(model, deps.tokenizer, feeds, deps.task.test, deps.task.testShare, {
        limit: config.eval.test_limit,
        batchSize: config.eval.batch_size,
        maxNewTokens: config.eval.max_new_tokens,
        seqLen,
        metric: deps.task.metric,
      });
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
    const plugged: TestScore[] = [];
    const onEmu: TestScore[] = [];
    for (const a of stopped ? [] : adapters) {
      plugged.push(await score(fullModel, feedsOf(toFullNames(plan, a), fullShapes)));
      if (deps.scoreEmulator !== false) onEmu.push(await score(emuModel, feedsOf(a, emuShapes)));
    }
    const n = clients.length;
    const { down, up } = traffic(n, rounds.length - 1);
    return {
      scenario: config.scenario,
      drop: o.drop,
      plan,
      params: { full: countParams(deps.weights), emulator: countParams(emu.weights), adapter: countParams(start) },
      bytes: {
        emulator: bytesEmulator,
        adapter: bytesAdapter,
        down,
        up,
        total: down + up,
        fullModel: messageBytes(deps.weights, fullShapes),
      },
      rounds,
      stopped,
      plugged: {
        score: mean(plugged.map((s) => s.score)),
        loss: mean(plugged.map((s) => s.loss)),
        ...(fed && plugged[0] ? { perClient: plugged[0].perClient } : {}),
      },
      emulator: { score: mean(onEmu.map((s) => s.score)), loss: mean(onEmu.map((s) => s.loss)) },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await emuModel.dispose();
    await fullModel.dispose();
  }
}
