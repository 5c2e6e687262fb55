// pFedMe: the server mix (1 - beta) w + beta mean(w_i); the inner problem's gradient is that of
// f(theta) + lambda/2 ||theta - w||^2 (checked against finite differences on a tiny LoRA model); a
// client's w moves towards its personalised theta by eta lambda (w - theta); and a tiny federation
// through the actors runs pFedMe as an ordinary aggregator, unlike FedAvg.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatches } from '../../src/data/batching.js';
import type { Params } from '../../src/engine/optim.js';
import { Rng } from '../../src/engine/rng.js';
import { runFederation } from '../../src/actors/federation.js';
import { createAggregator } from '../../src/fl/aggregators.js';
import { proximalHook } from '../../src/fl/fedprox.js';
import { LocalTrainer, loraTarget } from '../../src/fl/local-trainer.js';
import { PFedMe, pfedmeAggregate, pfedmeLocalUpdate, pfedmeSettingsOf } from '../../src/fl/pfedme.js';
import { dirichletClients } from '../../src/fl/pfedme-run.js';
import { adapterTensors } from '../../src/fl/tensors.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir } from '../actors/fl-fixtures.js';
import { tensorsOf } from './fl-fixtures.js';
import type { OpenedModel } from '../../src/model/source.js';

describe('pFedMe server side', () => {
  it('mixes (1 - beta) w + beta * sample-weighted mean of the w_i', () => {
    const global = tensorsOf({ x: { shape: [2], data: [1, 1] } });
    const updates = [
      { clientId: 'a', samples: 1, tensors: tensorsOf({ x: { shape: [2], data: [3, 5] } }), metrics: {} },
      { clientId: 'b', samples: 3, tensors: tensorsOf({ x: { shape: [2], data: [7, 1] } }), metrics: {} },
    ];
    // mean = [(3 + 21) / 4, (5 + 3) / 4] = [6, 2]
    expect([...pfedmeAggregate(global, updates, 1).get('x')!.data]).toEqual([6, 2]);
    expect([...pfedmeAggregate(global, updates, 0.5).get('x')!.data]).toEqual([3.5, 1.5]);
    expect([...pfedmeAggregate(global, updates, 2).get('x')!.data]).toEqual([11, 3]);
  });

  it('sends lambda, K and the personal rate to clients and refuses bad options by name', () => {
    const agg = createAggregator('pfedme', { lambda: 15, inner_steps: 3, personal_lr: 0.05, beta: 1.5 });
    expect(agg).toBeInstanceOf(PFedMe);
    const plan = agg.configureRound(1, ['a', 'b'], new Rng(0));
    expect(pfedmeSettingsOf(plan.trainConfig)).toEqual({ lambda: 15, innerSteps: 3, personalLr: 0.05 });
    expect(pfedmeSettingsOf({ proximal_mu: 0.1 })).toBeUndefined();
    expect(() => createAggregator('pfedme', { lambda: -1 })).toThrow(/lambda/);
    expect(() => createAggregator('pfedme', { beta: 3 })).toThrow(/beta/);
    expect(() => createAggregator('pfedme', { inner_step: 3 })).toThrow(/inner_step: unknown option/);
  });
});

describe('pFedMe client side on a tiny LoRA model', () => {
  let engine: Engine;
  let dir: Awaited<ReturnType<typeof tinyModelDir>>;
  let m: OpenedModel;
  beforeAll(async () => {
    engine = new Engine({ threads: 1 });
    dir = await tinyModelDir();
    m = await openTiny(dir.modelDir, engine);
  });
  afterAll(async () => {
    await m.close();
    await engine.close();
    await dir.dispose();
  });

  it('the inner gradient is that of f(theta) + lambda/2 ||theta - w||^2 (finite differences)', async () => {
    const cfg = tinyConfig(dir.modelDir);
    const data = tinyClients(m, cfg)[0]!.train.slice(0, 4);
    const lambda = 3;
    const adapter = LoraAdapter.init(m.model.cfg, cfg.lora, 5);
    const rng = new Rng(11);
    for (const v of adapter.tensors.values()) for (let i = 0; i < v.length; i++) v[i]! += 0.05 * rng.normal();
    const w = new Map([...adapter.tensors].map(([k, v]) => [k, Float32Array.from(v, (x) => x + 0.1 * rng.normal())]));
    const target = loraTarget(adapter);
    let seen: Params | undefined;
    const trainer = new LocalTrainer(
      m.model,
      {
        steps: 1,
        batchSize: 4,
        seqLen: 384,
        lr: 0,
        optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
        seed: 0,
        padId: m.tokenizer.padId,
      },
      [
        proximalHook(lambda, new Map([...w].map(([k, data]) => [k, { shape: [data.length], data }]))),
        { beforeStep: (_c, g) => void (seen = Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.slice()]))) },
      ],
    );
    await trainer.run(target, data);
    // h(theta + e v) along a random direction v, by central differences.
    const batches = makeBatches(data, { batchSize: 4, seqLen: 384, shuffle: false, padId: m.tokenizer.padId });
    const dirv = new Map([...adapter.tensors].map(([k, v]) => [k, Float32Array.from(v, () => rng.normal())]));
    const h = async (e: number): Promise<number> => {
      const moved = new Map([...adapter.tensors].map(([k, v]) => [k, Float32Array.from(v, (x, i) => x + e * dirv.get(k)![i]!)]));
      const probe = LoraAdapter.init(m.model.cfg, cfg.lora, 5);
      for (const [k, v] of moved) probe.tensors.get(k)!.set(v);
      const { loss } = await m.model.meanLoss(batches, { spec: probe.graphSpec, feeds: probe.feeds() });
      let prox = 0;
      for (const [k, v] of moved) for (let i = 0; i < v.length; i++) prox += (v[i]! - w.get(k)![i]!) ** 2;
      return loss + (lambda / 2) * prox;
    };
    const e = 1e-3;
    const numeric = ((await h(e)) - (await h(-e))) / (2 * e);
    let analytic = 0;
    for (const [k, v] of dirv) for (let i = 0; i < v.length; i++) analytic += seen![k]![i]! * v[i]!;
    expect(Math.abs(numeric - analytic)).toBeLessThan(0.02 * Math.abs(analytic) + 1e-3);
  });

  it('moves w towards the personalised theta by eta lambda (w - theta) per local step', async () => {
    const cfg = tinyConfig(dir.modelDir);
    const c = tinyClients(m, cfg)[0]!;
    const adapter = LoraAdapter.init(m.model.cfg, cfg.lora, 5);
    const global = adapterTensors(adapter);
    const settings = { lambda: 2, innerSteps: 3, personalLr: 0.01 };
    const t = { ...cfg.train, local_steps: 1, lr: 0.1 };
    const r = await pfedmeLocalUpdate({
      model: m.model,
      adapter,
      train: c.train,
      global,
      settings,
      t,
      seed: 0,
      padId: m.tokenizer.padId,
      rng: new Rng(1),
    });
    expect(r.innerSteps).toBe(3);
    // One local step: w1 = w0 - 0.1 * 2 * (w0 - theta) exactly (float32 arithmetic aside).
    let moved = 0;
    for (const [k, w0] of global) {
      const theta = r.personal.get(k)!.data;
      const w1 = r.local.get(k)!.data;
      for (let i = 0; i < w1.length; i++) {
        expect(w1[i]).toBeCloseTo(w0.data[i]! - 0.2 * (w0.data[i]! - theta[i]!), 6);
        moved += Math.abs(theta[i]! - w0.data[i]!);
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('runs as an aggregator in a tiny federation through the actors, differently from FedAvg', async () => {
    const base = tinyConfig(dir.modelDir, { rounds: 2 });
    const clients = tinyClients(m, base);
    const pf = await runFederation(
      { ...base, aggregator: { name: 'pfedme', options: { lambda: 15, inner_steps: 2, personal_lr: 0.01 } } },
      { model: m, clients },
    );
    const fa = await runFederation(base, { model: m, clients });
    const vl = (h: typeof pf.history) => h.map((r) => r.valLoss!);
    expect(vl(pf.history)[2]!).toBeLessThan(vl(pf.history)[0]!);
    expect(vl(pf.history)[0]).toBe(vl(fa.history)[0]);
    expect(vl(pf.history)[2]).not.toBe(vl(fa.history)[2]);
    // K inner steps per local step: 2 x local_steps (2) per client.
    expect(Object.values(pf.history[1]!.clients).every((c) => c.trained?.metrics.steps === 4)).toBe(true);
  }, 60_000);
});

describe('dirichletClients', () => {
  it('gives each client test data in the proportions of its training data', () => {
    const parts = dirichletClients('instruct', 0, 4, 0.1);
    expect(parts).toHaveLength(4);
    for (const p of parts) {
      const cats = new Set(p.train.map((r) => r.category));
      // Skewed: a client's test records come from the categories it trains on.
      const foreign = p.test.filter((r) => !cats.has(r.category)).length;
      expect(foreign).toBeLessThanOrEqual(Math.ceil(0.1 * p.test.length));
    }
    expect(parts.reduce((n, p) => n + p.test.length, 0)).toBe(160);
  });
});
