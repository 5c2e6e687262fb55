// Federated rounds on nact actors over the in-process transport, on a tiny model: a FedAvg round
// equals the direct computation, runs are deterministic, a trial continues bit-identically from a
// snapshot of the server's state, and a silent client is handled by quorum, retries or a clear failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobal, parseFederationState } from '../../src/actors/federation-state.js';
import { type ConnectTransport, inProcessConnector, runFederation } from '../../src/actors/federation.js';
import { FederationError } from '../../src/actors/server-actor.js';
import { InProcessBus } from '../../src/actors/transport-in-process.js';
import { Rng } from '../../src/engine/rng.js';
import { fedAvg } from '../../src/fl/fedavg.js';
import { optimizerOf } from '../../src/fl/fl-config.js';
import { LocalTrainer, loraTarget } from '../../src/fl/local-trainer.js';
import { addScaled, adapterTensors, loadIntoAdapter, subtractTensors } from '../../src/fl/tensors.js';
import type { OpenedModel } from '../../src/model/source.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir } from './fl-fixtures.js';
import { droppingTransport } from './fl-transport-faults.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let engine: Engine;
let m: OpenedModel;
beforeAll(async () => {
  dir = await tinyModelDir();
  engine = new Engine({ threads: 2 });
  m = await openTiny(dir.modelDir, engine);
});
afterAll(async () => {
  await engine?.close();
  await dir?.dispose();
});

const valLosses = (h: { valLoss: number | null }[]) => h.map((r) => r.valLoss);

describe('FedAvg on actors', () => {
  it('one round equals training each client by hand with the same streams and averaging by samples', async () => {
    const cfg = tinyConfig(dir.modelDir, { rounds: 1 });
    const clients = tinyClients(m, cfg);
    const r = await runFederation(cfg, { model: m, clients });

    const global = adapterTensors(LoraAdapter.init(m.model.cfg, cfg.lora, cfg.seed));
    const updates = [];
    for (const c of clients) {
      const adapter = LoraAdapter.init(m.model.cfg, cfg.lora, 99);
      loadIntoAdapter(adapter, global);
      const t = cfg.train;
      const trainer = new LocalTrainer(m.model, {
        steps: t.local_steps,
        batchSize: t.batch_size,
        seqLen: t.seq_len,
        lr: t.lr,
        optimizer: optimizerOf(t),
        schedule: { kind: t.schedule, warmupSteps: t.warmup_steps, minRatio: t.min_lr_ratio },
        clipNorm: t.clip_norm,
        seed: cfg.seed,
        padId: m.tokenizer.padId,
      });
      await trainer.run(loraTarget(adapter), c.train, [], { rng: new Rng(cfg.seed).fork('client').fork(c.id).fork(1) });
      const local = adapterTensors(adapter);
      // The wire carries w - w_global (fp32: lossless); the server adds it back.
      updates.push({
        clientId: c.id,
        samples: c.train.length,
        metrics: {},
        tensors: addScaled(global, subtractTensors(local, global), 1),
        local,
      });
    }
    const expected = fedAvg(global, updates);
    for (const [name, t] of expected) expect(r.global.get(name)!.data).toEqual(t.data);
    // ... and within float rounding of averaging the local weights themselves.
    const plain = fedAvg(
      global,
      updates.map((u) => ({ ...u, tensors: u.local })),
    );
    for (const [name, t] of plain) {
      const got = r.global.get(name)!.data;
      for (let i = 0; i < t.data.length; i++) expect(Math.abs(got[i]! - t.data[i]!)).toBeLessThan(1e-6);
    }
    expect(r.history.map((h) => h.round)).toEqual([0, 1]);
    expect(r.history[1]!.accepted).toEqual(['c0', 'c1', 'c2']);
    expect(r.history[1]!.valLoss).toBeLessThan(r.history[0]!.valLoss!);
  });

  it('is deterministic: the same seed gives the same losses and adapter bytes, another seed differs', async () => {
    const cfg = tinyConfig(dir.modelDir, { clients: { sample_rate: 0.67 } });
    const clients = tinyClients(m, cfg);
    const a = await runFederation(cfg, { model: m, clients });
    const b = await runFederation(cfg, { model: m, clients });
    const c = await runFederation({ ...cfg, seed: cfg.seed + 1 }, { model: m, clients });
    expect(valLosses(b.history)).toEqual(valLosses(a.history));
    expect(encodeGlobal(b.global)).toBe(encodeGlobal(a.global));
    expect(encodeGlobal(c.global)).not.toBe(encodeGlobal(a.global));
    expect(valLosses(c.history)).not.toEqual(valLosses(a.history));
    expect(a.history.slice(1).every((h) => h.selected.length === 2)).toBe(true);
  });

  it('continues bit-identically from a snapshot of the server state (FedAvgM momentum, sampling)', async () => {
    const cfg = tinyConfig(dir.modelDir, {
      rounds: 3,
      clients: { sample_rate: 0.67 },
      aggregator: { name: 'fedavgm', options: { momentum: 0.5 } },
    });
    const clients = tinyClients(m, cfg);
    const full = await runFederation(cfg, { model: m, clients });
    const first = await runFederation(cfg, { model: m, clients, stopAfterRound: 1 });
    expect(first.state.round).toBe(1);
    const saved = parseFederationState(JSON.parse(JSON.stringify(first.state)));
    const rest = await runFederation(cfg, { model: m, clients, resume: saved });
    expect(valLosses(rest.history)).toEqual(valLosses(full.history));
    expect(rest.history.map((h) => h.selected)).toEqual(full.history.map((h) => h.selected));
    expect(encodeGlobal(rest.global)).toBe(encodeGlobal(full.global));
    expect(JSON.stringify(rest.state.aggregator)).toBe(JSON.stringify(full.state.aggregator));
  });
});

describe('a client that never answers', () => {
  /** In-process connections; client c2's link loses the given kinds of its messages. */
  const connectWith = (drop: string[]): ConnectTransport => {
    const base = inProcessConnector(new InProcessBus());
    return async (name, hooks) => {
      const t = await base(name, hooks);
      return name === 'client-c2' ? droppingTransport(t, drop) : t;
    };
  };

  it('the round completes by quorum at the deadline, without it', async () => {
    const cfg = tinyConfig(dir.modelDir, { rounds: 1, round: { deadline_s: 4, quorum: 0.6, retries: 0, join_timeout_s: 30 } });
    const clients = tinyClients(m, cfg);
    const started = performance.now();
    const r = await runFederation(cfg, { model: m, clients, connect: connectWith(['update', 'eval-result']) });
    const seconds = (performance.now() - started) / 1000;
    expect(r.history[1]!.selected).toEqual(['c0', 'c1', 'c2']);
    expect(r.history[1]!.accepted).toEqual(['c0', 'c1']);
    expect(r.history[1]!.clients.c2!.validation).toBeUndefined();
    expect(r.history[1]!.valLoss).not.toBeNull();
    expect(seconds).toBeGreaterThan(3 * 4 - 1); // three requests (eval 0, round 1, eval 1) each waited out
  });

  it('below quorum: retries, then fails the run with a clear reason', async () => {
    const cfg = tinyConfig(dir.modelDir, { rounds: 1, round: { deadline_s: 2, quorum: 1, retries: 1, join_timeout_s: 30 } });
    const clients = tinyClients(m, cfg);
    const events: string[] = [];
    const run = runFederation(cfg, {
      model: m,
      clients,
      connect: connectWith(['update']),
      onEvent: (e) => {
        if (e.type === 'round-started') events.push(`round ${e.round} attempt ${e.attempt}`);
      },
    });
    await expect(run).rejects.toThrow(FederationError);
    await expect(run).rejects.toThrow(/round 1: 2 of 3 updates arrived after 2 attempt\(s\), below the quorum of 3 \(missing: c2\)/);
    expect(events).toEqual(['round 1 attempt 0', 'round 1 attempt 1']);
  });
});
