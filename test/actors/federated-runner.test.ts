// The federated TrialRunner on a tiny model: a trial is a real federation reporting val_loss per
// round and the test score at the end; a trial continued from a checkpoint gives bit-identically
// the losses and adapter of an uninterrupted run; prune stops it; a huge learning rate diverges;
// a broken config fails with its reason. Nothing throws.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedTrialRunner } from '../../src/actors/federated-runner.js';
import { acquireModel, releaseModel } from '../../src/actors/shared-models.js';
import { readTrialCheckpoint } from '../../src/actors/trial-checkpoint.js';
import { federatedTask } from '../../src/fl/client-data.js';
import type { JsonObject } from '../../src/hpo/config-paths.js';
import type { Metrics, RoundDecision, TrialOutcome, TrialRequest } from '../../src/hpo/trial-runner.js';
import { loadLlamaConfig } from '../../src/model/config.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { tinyModelDir, tinyTrialDoc } from './fl-fixtures.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let runner: FederatedTrialRunner;
beforeAll(async () => {
  dir = await tinyModelDir();
  runner = new FederatedTrialRunner();
});
afterAll(async () => {
  await runner?.close();
  await dir?.dispose();
});

function request(
  trialId: number,
  config: JsonObject,
  fidelity: number,
  extra: Partial<TrialRequest> & { decide?: (round: number) => RoundDecision } = {},
): { req: TrialRequest; rounds: { round: number; metrics: Metrics }[] } {
  const rounds: { round: number; metrics: Metrics }[] = [];
  const req: TrialRequest = {
    trialId,
    attempt: 1,
    config,
    fidelity,
    dir: join(dir.root, 'trials', String(trialId)),
    signal: new AbortController().signal,
    onRound: (round, metrics) => {
      rounds.push({ round, metrics });
      return extra.decide?.(round) ?? 'continue';
    },
    ...extra,
  };
  return { req, rounds };
}

const losses = (o: TrialOutcome) => o.curve.map((p) => p.metrics.val_loss);

describe('FederatedTrialRunner', () => {
  it('runs a trial as a federation: val_loss per round, score and bytes at the end, a checkpoint to continue', async () => {
    const { req, rounds } = request(0, tinyTrialDoc(dir.modelDir), 2);
    const o = await runner.run(req);
    expect(o.status, o.reason).toBe('complete');
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(o.curve.map((p) => p.round)).toEqual([1, 2]);
    for (const r of rounds) expect(r.metrics.val_loss).toBeGreaterThan(0);
    expect(o.metrics.val_loss).toBe(rounds[1]!.metrics.val_loss);
    expect(o.metrics.score).toBeGreaterThanOrEqual(0);
    expect(o.metrics.score).toBeLessThanOrEqual(1);
    expect(o.metrics.test_samples).toBe(4);
    // bytes_sent grows round by round; 2 of the 3 arith clients train each round (sample_rate 0.67).
    expect(rounds[1]!.metrics.bytes_sent).toBeGreaterThan(rounds[0]!.metrics.bytes_sent!);
    expect(o.rounds).toBe(2);
    expect(o.costs.client_rounds).toBe(4);
    expect(o.costs.bytes_sent).toBe(o.metrics.bytes_sent);
    expect(o.costs.seconds).toBeGreaterThan(0);
    expect(o.costs.train_flops).toBeGreaterThan(0);
    expect(o.checkpoint).toBe(join(req.dir, 'checkpoint-r2.json'));

    const out = join(dir.root, 'export');
    const files = await runner.exportAdapter(o.checkpoint!, out);
    expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const adapter = await LoraAdapter.load(out, await loadLlamaConfig(dir.modelDir));
    expect(adapter.config.r).toBe(4);
    expect(JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe(dir.modelDir);
  });

  it('continues a trial from its parent checkpoint bit-identically to an uninterrupted run', async () => {
    const doc = tinyTrialDoc(dir.modelDir, { aggregator: { name: 'fedavgm', options: { momentum: 0.9 } } });
    const whole = await runner.run(request(10, doc, 3).req);
    const first = await runner.run(request(11, doc, 1).req);
    const parent = { trialId: 11, round: 1, checkpoint: first.checkpoint! };
    const { req, rounds } = request(12, doc, 3, { parent });
    const rest = await runner.run(req);
    expect([whole.status, first.status, rest.status]).toEqual(['complete', 'complete', 'complete']);
    expect(rounds.map((r) => r.round)).toEqual([2, 3]);
    expect([...losses(first), ...losses(rest)]).toEqual(losses(whole));
    // Bytes carry on from the parent's (within a few bytes: the messages carry timings as JSON numbers).
    rest.curve.forEach((p, i) => {
      expect(p.metrics.bytes_sent! / whole.curve[i + 1]!.metrics.bytes_sent!).toBeCloseTo(1, 3);
    });
    expect(rest.rounds).toBe(2);
    expect(rest.metrics.score).toBe(whole.metrics.score);
    await runner.exportAdapter(whole.checkpoint!, join(dir.root, 'whole'));
    await runner.exportAdapter(rest.checkpoint!, join(dir.root, 'rest'));
    const bytes = (d: string) => readFile(join(dir.root, d, 'adapter_model.safetensors'));
    expect(Buffer.compare(await bytes('whole'), await bytes('rest'))).toBe(0);
  });

  it('stops when told to prune, keeping a checkpoint', async () => {
    const { req, rounds } = request(20, tinyTrialDoc(dir.modelDir), 3, { decide: () => 'prune' });
    const o = await runner.run(req);
    expect(o.status).toBe('pruned');
    expect(rounds.map((r) => r.round)).toEqual([1]);
    expect(o.rounds).toBe(1);
    expect(o.metrics.score).toBeUndefined();
    expect(o.checkpoint).toBe(join(req.dir, 'checkpoint-r1.json'));
  });

  it('a huge learning rate diverges (never throws, never waits for a deadline)', async () => {
    // AdamW's decay multiplies every weight by 1 - lr * wd = -1e7 per step: float32 overflows in a few
    // steps (a huge lr alone need not: RMSNorm saturates to a finite, uniform-prediction model).
    const doc = tinyTrialDoc(dir.modelDir, {
      train: { local_steps: 6, batch_size: 4, seq_len: 384, lr: 1e6, weight_decay: 10 },
      round: { deadline_s: 600, quorum: 1, retries: 0, join_timeout_s: 30 },
    });
    const started = Date.now();
    const o = await runner.run(request(30, doc, 3).req);
    expect(o.status, JSON.stringify(o)).toBe('diverged');
    expect(o.reason).toMatch(/(local training diverged|numbers became non-finite) .*at round 1/);
    expect(o.checkpoint).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("trains on a caller's own clients (taskFor), sharing the process's base model", async () => {
    const arith = federatedTask('arith', 0);
    const own = new FederatedTrialRunner({
      taskFor: () => ({
        ...arith,
        clients: arith.clients.slice(0, 2).map((c, i) => ({ ...c, id: ['alice', 'bob'][i]!, train: c.train.slice(0, 8) })),
      }),
    });
    try {
      const { req } = request(50, tinyTrialDoc(dir.modelDir, { clients: { sample_rate: 1 } }), 1);
      const o = await own.run(req);
      expect(o.status, o.reason).toBe('complete');
      expect(o.costs.client_rounds).toBe(2);
      const checkpoint = await readTrialCheckpoint(o.checkpoint!);
      expect(checkpoint.state.history.at(-1)!.accepted).toEqual(['alice', 'bob']);
      // One loaded copy of the base model in this process, whoever asks for it.
      const [a, b] = [await acquireModel(dir.modelDir, 2), await acquireModel(dir.modelDir, 2)];
      expect(a).toBe(b);
      await releaseModel(dir.modelDir, 2);
      await releaseModel(dir.modelDir, 2);
    } finally {
      await own.close();
    }
  });

  it("a client that fails ends the trial at once as failed, with the client's reason (no wait for the round deadline)", async () => {
    const started = Date.now();
    const doc = tinyTrialDoc(dir.modelDir, {
      train: { local_steps: 2, batch_size: 4, seq_len: 2048, lr: 0.01 },
      round: { deadline_s: 600, quorum: 1, retries: 0, join_timeout_s: 30 },
    });
    const o = await runner.run(request(45, doc, 2).req);
    expect(o.status).toBe('failed');
    expect(o.reason).toMatch(/^client c\d failed in round 1: .*seqLen 2048 is over the model's max_position_embeddings 512/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a bad config or a missing parent checkpoint is a failed trial with the reason', async () => {
    const bad = await runner.run(request(40, tinyTrialDoc(dir.modelDir, { lora: { r: 0 } }), 1).req);
    expect(bad.status).toBe('failed');
    expect(bad.reason).toMatch(/trial 40: invalid config\n {2}lora\.r/);
    const orphan = await runner.run(
      request(41, tinyTrialDoc(dir.modelDir), 2, { parent: { trialId: 9, round: 1, checkpoint: join(dir.root, 'nope.json') } }).req,
    );
    expect(orphan.status).toBe('failed');
    expect(orphan.reason).toMatch(/nope\.json/);
  });
});
