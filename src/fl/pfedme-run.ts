// pFedMe against FedAvg under label skew, simulated in one process: a built-in task's training,
// validation and test splits are cut over N clients with the Dirichlet splitter on the category
// (the same alpha and seed, so each label lands on the clients in the same proportions in every
// split: a client's test data looks like its training data). Both algorithms train LoRA adapters
// for the same rounds; at the end every client is scored on its own test share with the global
// adapter and, for pFedMe, with its personalised adapter theta_i — the per-client numbers
// personalisation is judged by.
import { dirichletSplit } from '../data/splitters.js';
import { loadTask, type TaskRecord } from '../data/tasks/index.js';
import { Rng } from '../engine/rng.js';
import type { LoadedModel } from '../model/source.js';
import { LoraAdapter, type LoraConfig } from '../peft/lora.js';
import { type ClientData, encodeClient } from './client-data.js';
import { clientRoundRng, evaluateClientRound, trainClientRound } from './client-round.js';
import { fedAvg } from './fedavg.js';
import type { TrainSettings } from './fl-config.js';
import { type PFedMeClientSettings, pfedmeAggregate, pfedmeLocalUpdate } from './pfedme.js';
import { addScaled, adapterTensors, loadIntoAdapter, type NamedTensors } from './tensors.js';
import { scoreTestSplit, spreadOf } from './test-score.js';

export interface PersonalisedRunOptions {
  algorithm: 'fedavg' | 'pfedme';
  model: LoadedModel;
  task: string;
  /** The task generator's seed and the splitter's. */
  dataSeed: number;
  clients: number;
  alpha: number;
  rounds: number;
  seed: number;
  lora: LoraConfig;
  train: TrainSettings;
  /** pFedMe's settings (pfedme only) and its server mixing beta. */
  pfedme?: PFedMeClientSettings & { beta: number };
  eval: { testPerClient: number; batchSize: number; maxNewTokens: number; validLimit?: number };
  log?: (line: string) => void;
}

export interface ClientScore {
  id: string;
  trainRecords: number;
  testRecords: number;
  /** The global adapter on this client's own test share. */
  global: number;
  /** pFedMe: the client's personalised adapter on its own test share. */
  personal?: number;
  globalValLoss: number;
  personalValLoss?: number;
}

export interface PersonalisedRunSummary {
  algorithm: PersonalisedRunOptions['algorithm'];
  alpha: number;
  clients: ClientScore[];
  /** Means over clients (each client counts once). */
  meanGlobal: number;
  meanPersonal?: number;
  worstGlobal: number;
  worstPersonal?: number;
  /** Validation loss of the global adapter per round (sample-weighted over clients). */
  valLoss: number[];
  seconds: number;
}

/** A task's splits cut over `clients` by Dirichlet(alpha) label skew on the category, the same proportions in each split. */
export function dirichletClients(
  task: string,
  dataSeed: number,
  clients: number,
  alpha: number,
): { id: string; train: TaskRecord[]; validation: TaskRecord[]; test: TaskRecord[] }[] {
  const data = loadTask(task, dataSeed);
  const opts = { clients, alpha, seed: dataSeed };
  const train = dirichletSplit(data.train, (r) => r.category, opts).clients;
  const validation = dirichletSplit(data.validation, (r) => r.category, { ...opts, allowEmpty: true }).clients;
  const test = dirichletSplit(data.test, (r) => r.category, { ...opts, allowEmpty: true }).clients;
  return train.map((t, c) => ({ id: `c${c}`, train: t, validation: validation[c]!, test: test[c]! }));
}

export async function runPersonalised(o: PersonalisedRunOptions): Promise<PersonalisedRunSummary> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const { model, tokenizer: tok } = o.model;
  const t = o.train;
  const parts = dirichletClients(o.task, o.dataSeed, o.clients, o.alpha);
  const clients: ClientData[] = parts.map((p) => encodeClient(tok, p, t.seq_len, o.eval.validLimit));
  log(`${o.algorithm} alpha ${o.alpha}: clients' train records ${parts.map((p) => p.train.length).join(', ')}`);
  const adapter = LoraAdapter.init(model.cfg, o.lora, o.seed);
  let global = adapterTensors(adapter);
  const personal = new Map<string, NamedTensors>();
  const valLoss = async (tensors: (c: ClientData) => NamedTensors, c: ClientData) =>
    evaluateClientRound({ model, adapter, data: c, global: tensors(c), batchSize: o.eval.batchSize, seqLen: t.seq_len, padId: tok.padId });
  const meanValLoss = async (): Promise<number> => {
    let sum = 0;
    let tokens = 0;
    for (const c of clients) {
      const r = await valLoss(() => global, c);
      sum += r.lossSum;
      tokens += r.tokens;
    }
    return tokens ? sum / tokens : Number.NaN;
  };
  const curve = [await meanValLoss()];
  for (let round = 1; round <= o.rounds; round++) {
    const updates = [];
    for (const c of clients) {
      let local: NamedTensors;
      if (o.algorithm === 'pfedme') {
        if (!o.pfedme) throw new Error('runPersonalised: pfedme needs its settings');
        const r = await pfedmeLocalUpdate({
          model,
          adapter,
          train: c.train,
          global,
          settings: o.pfedme,
          t,
          seed: o.seed,
          padId: tok.padId,
          rng: clientRoundRng(o.seed, c.id, round),
        });
        local = r.diverged ? global : r.local;
        personal.set(c.id, r.personal);
      } else {
        const r = await trainClientRound({
          model,
          adapter,
          data: c,
          global,
          round,
          seed: o.seed,
          train: t,
          aggregatorConfig: {},
          padId: tok.padId,
        });
        local = addScaled(global, r.delta, 1);
      }
      updates.push({ clientId: c.id, samples: c.train.length, tensors: local, metrics: {} });
    }
    global = o.algorithm === 'pfedme' ? pfedmeAggregate(global, updates, o.pfedme!.beta) : fedAvg(global, updates);
    curve.push(await meanValLoss());
    log(`${o.algorithm} alpha ${o.alpha} round ${round}/${o.rounds} val loss ${curve.at(-1)!.toFixed(4)}`);
  }

  const scoreOn = async (tensors: NamedTensors, records: TaskRecord[]): Promise<number> => {
    if (!records.length) return Number.NaN;
    loadIntoAdapter(adapter, tensors);
    const s = await scoreTestSplit(
      model,
      tok,
      adapter,
      records,
      records.map(() => 'c'),
      {
        limit: o.eval.testPerClient,
        batchSize: o.eval.batchSize,
        maxNewTokens: o.eval.maxNewTokens,
        seqLen: t.seq_len,
      },
    );
    return s.score;
  };
  const scores: ClientScore[] = [];
  for (const [i, c] of clients.entries()) {
    const test = new Rng(o.dataSeed)
      .fork('test')
      .fork(c.id)
      .shuffle([...parts[i]!.test]);
    const own = personal.get(c.id);
    const s: ClientScore = {
      id: c.id,
      trainRecords: c.train.length,
      testRecords: Math.min(test.length, o.eval.testPerClient),
      global: await scoreOn(global, test),
      globalValLoss: await valLoss(() => global, c).then((r) => (r.tokens ? r.lossSum / r.tokens : Number.NaN)),
    };
    if (own) {
      s.personal = await scoreOn(own, test);
      s.personalValLoss = await valLoss(() => own, c).then((r) => (r.tokens ? r.lossSum / r.tokens : Number.NaN));
    }
    scores.push(s);
    log(`${o.algorithm} alpha ${o.alpha} ${c.id}: global ${s.global.toFixed(3)}${own ? ` personal ${s.personal!.toFixed(3)}` : ''}`);
  }
  const scored = scores.filter((s) => s.testRecords > 0);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const hasPersonal = o.algorithm === 'pfedme';
  return {
    algorithm: o.algorithm,
    alpha: o.alpha,
    clients: scores,
    meanGlobal: mean(scored.map((s) => s.global)),
    worstGlobal: spreadOf(scored.map((s) => s.global)).worst,
    ...(hasPersonal
      ? { meanPersonal: mean(scored.map((s) => s.personal!)), worstPersonal: spreadOf(scored.map((s) => s.personal!)).worst }
      : {}),
    valLoss: curve,
    seconds: (performance.now() - started) / 1000,
  };
}
