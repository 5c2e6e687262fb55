// A client's own objective in a federated study: a local trial of a config is LoRA fine-tuning on
// the client's own training records alone, `rounds` local rounds of the config's local steps (each
// round from the last one's adapter with a fresh optimizer, as in the federation), then the loss on
// its own validation split. What FLoRA's local search and FTS's local fits run on a client's data;
// nothing here leaves the client (the client task decides what its reply holds).
import { type ClientData, type ClientRecords, encodeClient } from '../fl/client-data.js';
import { evaluateClientRound, trainClientRound } from '../fl/client-round.js';
import type { TrainerHooks } from '../fl/local-trainer.js';
import { addScaled, adapterTensors } from '../fl/tensors.js';
import type { LocalEvaluation, LocalObjective } from '../hpo/client-tasks/task.js';
import type { Config } from '../hpo/space.js';
import type { StudyConfig } from '../hpo/study-config.js';
import { trialConfigOf } from '../hpo/trial-config.js';
import type { OpenedModel } from '../model/source.js';
import { peftSettingsOf } from '../fl/fl-config.js';
import { initAdapter } from '../peft/methods.js';
import { ComputeLock } from './compute-lock.js';
import { federatedTrialConfig } from './federated-trial-config.js';

export interface LoraLocalObjectiveOptions {
  readonly study: StudyConfig;
  readonly model: OpenedModel;
  /** The client's own records. */
  readonly records: ClientRecords;
  /** Shared by the clients of one process: they train in turn on its engine worker. */
  readonly lock?: ComputeLock;
  /** Trainer hooks on every local step (tests watch the true losses here). */
  readonly hooks?: TrainerHooks[];
  /** Sees each local trial's validation loss (tests: privacy checks). */
  readonly onLoss?: (loss: number) => void;
}

export class LoraLocalObjective implements LocalObjective {
  private readonly lock: ComputeLock;
  private readonly encoded = new Map<string, ClientData>();

  constructor(private readonly o: LoraLocalObjectiveOptions) {
    this.lock = o.lock ?? new ComputeLock();
  }

  evaluate(config: Config, rounds: number): Promise<LocalEvaluation> {
    return this.lock.run(() => this.localTrial(config, rounds));
  }

  private async localTrial(config: Config, rounds: number): Promise<LocalEvaluation> {
    const id = this.o.records.id;
    const fl = federatedTrialConfig(trialConfigOf(this.o.study, config), rounds, `client ${id}: local trial`);
    const { model, tokenizer } = this.o.model;
    const key = `${fl.train.seq_len}|${fl.eval.valid_limit ?? ''}`;
    let data = this.encoded.get(key);
    if (!data) {
      data = encodeClient(tokenizer, this.o.records, fl.train.seq_len, fl.eval.valid_limit);
      this.encoded.set(key, data);
    }
    const adapter = await initAdapter(model, peftSettingsOf(fl.lora, fl.peft), fl.seed);
    let global = adapterTensors(adapter);
    let steps = 0;
    for (let round = 1; round <= rounds; round++) {
      const r = await trainClientRound({
        model,
        adapter,
        data,
        global,
        round,
        seed: fl.seed,
        train: fl.train,
        aggregatorConfig: {},
        padId: tokenizer.padId,
        ...(this.o.hooks ? { hooks: this.o.hooks } : {}),
      });
      steps += r.metrics.steps ?? 0;
      global = addScaled(global, r.delta, 1);
    }
    const ev = await evaluateClientRound({
      model,
      adapter,
      data,
      global,
      batchSize: fl.eval.batch_size,
      seqLen: fl.train.seq_len,
      padId: tokenizer.padId,
    });
    const loss = ev.tokens ? ev.lossSum / ev.tokens : Number.NaN;
    this.o.onLoss?.(loss);
    return { loss, localSteps: steps, clientRounds: steps / fl.train.local_steps };
  }
}
