// A study trial whose FL config has an `offsite` section: federated offsite-tuning (src/fl/offsite-run.ts)
// instead of a LoRA federation, so `offsite.drop` (and every train.* key) is an ordinary
// hyperparameter of a study. The run is simulated in this process (no actors: the adapter is a few
// full layers, not a LoRA message) on the shared base model's engine; its bytes are metered from the
// codec's encoding of the emulator and adapter. There is no checkpoint to continue from: a promoted
// trial (SHA, Hyperband) trains again from round 0 to its new fidelity.
import { federatedData } from '../fl/client-files.js';
import type { FlConfig } from '../fl/fl-config.js';
import { runOffsite } from '../fl/offsite-run.js';
import type { Metrics, TrialOutcome, TrialRequest } from '../hpo/trial-runner.js';
import type { SharedModel } from './shared-models.js';

export async function runOffsiteTrial(req: TrialRequest, config: FlConfig, shared: SharedModel, started: number): Promise<TrialOutcome> {
  if (config.scenario === 'local') throw new Error('offsite-tuning trials are fed or global (local has no single adapter)');
  const { model, tokenizer } = shared.model;
  const task = await federatedData(config.data);
  const curve: { round: number; metrics: Metrics }[] = [];
  const summary = await runOffsite(
    { ...config, rounds: req.fidelity },
    {
      engine: model.engine,
      cfg: model.cfg,
      weights: await model.weights(),
      tokenizer,
      task,
      onRound: async (rec, bytes) => {
        req.signal.throwIfAborted();
        const metrics = {
          val_loss: rec.valLoss,
          train_loss: rec.trainLoss,
          bytes_sent: bytes.up + bytes.down,
          bytes_up: bytes.up,
          bytes_down: bytes.down,
        };
        curve.push({ round: rec.round, metrics });
        return (await req.onRound(rec.round, metrics)) === 'prune' ? 'stop' : 'continue';
      },
    },
  );
  const last = summary.rounds.at(-1)!;
  const bytes = { bytes_sent: summary.bytes.total, bytes_up: summary.bytes.up, bytes_down: summary.bytes.down };
  const roundMetrics = { val_loss: last.valLoss, train_loss: last.trainLoss, ...bytes };
  const costs = {
    ...bytes,
    client_rounds: (summary.rounds.length - 1) * task.clients.length,
    seconds: (performance.now() - started) / 1000,
  };
  if (!Number.isFinite(last.valLoss))
    return {
      status: 'diverged',
      reason: `val_loss is ${last.valLoss} at round ${last.round}`,
      metrics: roundMetrics,
      curve,
      rounds: curve.length,
      costs,
    };
  if (summary.stopped)
    return { status: 'pruned', reason: `pruned at round ${last.round}`, metrics: roundMetrics, curve, rounds: curve.length, costs };
  return {
    status: 'complete',
    metrics: {
      ...roundMetrics,
      score: summary.plugged.score,
      test_loss: summary.plugged.loss,
      emulator_score: summary.emulator.score,
      emulator_bytes: summary.bytes.emulator,
      adapter_bytes: summary.bytes.adapter,
    },
    curve,
    rounds: curve.length,
    costs,
  };
}
