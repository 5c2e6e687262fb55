// A study whose trials are real federations (the FederatedTrialRunner, in this process) on a tiny
// model: it writes its journal, best.json (an FL config) and best/ (an adapter that loads), and a
// diverging trial is recorded as diverged while the study goes on. Successive halving promotes a
// trial by continuing its federation from the checkpoint of its lower rung.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStudy } from '../../src/actors/study-runner.js';
import { parseFlConfig } from '../../src/fl/fl-config.js';
import { parseStudyConfig } from '../../src/hpo/study-config.js';
import { loadLlamaConfig } from '../../src/model/config.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { replayStudy, tempDir } from '../helpers/study-fixtures.js';
import { NatsServer } from '../helpers/nats-server.js';
import { tinyModelDir, tinyTrialDoc } from './fl-fixtures.js';

let model: Awaited<ReturnType<typeof tinyModelDir>>;
beforeAll(async () => {
  model = await tinyModelDir();
});
afterAll(async () => {
  await model?.dispose();
});

function studyDoc(patch: Record<string, unknown> = {}) {
  return {
    name: 'tiny federated study',
    seed: 1,
    space: {
      'train.lr': { type: 'float', low: 1e-3, high: 1e6, log: true },
      'lora.r': { type: 'categorical', choices: [2, 4] },
    },
    // AdamW's decay times a huge lr overflows float32 within a step or two: the diverging trial.
    fixed: { 'train.weight_decay': 10 },
    enqueue: [
      { 'train.lr': 0.01, 'lora.r': 4 },
      { 'train.lr': 1e6, 'lora.r': 2 },
      { 'train.lr': 0.003, 'lora.r': 2 },
    ],
    objectives: [{ name: 'val_loss', direction: 'minimize' }],
    fidelity: { rounds: 2 },
    budget: { trials: 3 },
    strategy: 'random',
    parallel: 2,
    trial: tinyTrialDoc(model.modelDir),
    ...patch,
  };
}

describe('a study of federated trials', () => {
  it('runs in process: journal, best.json, best/ (an adapter that loads); a diverging trial does not stop it', async () => {
    const dir = join(await tempDir(), 'study');
    const result = await runStudy({ dir, config: parseStudyConfig(studyDoc(), 'tiny study') });
    expect(result).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    const state = await replayStudy(dir);
    expect(state.trials.map((t) => t.status)).toEqual(['complete', 'diverged', 'complete']);
    expect(state.trials[1]!.reason).toMatch(/diverged|non-finite/);
    for (const t of [state.trials[0]!, state.trials[2]!]) {
      expect(t.metrics!.score).toBeGreaterThanOrEqual(0);
      expect(t.metrics!.bytes_sent).toBeGreaterThan(0);
      expect(t.costs!.client_rounds).toBe(4);
      expect(t.curve.map((p) => p.round)).toEqual([1, 2]);
    }
    const best = JSON.parse(await readFile(join(dir, 'best.json'), 'utf8'));
    const bestTrial = state.trials[0]!.values![0]! <= state.trials[2]!.values![0]! ? 0 : 2;
    expect(best.train.lr).toBe(state.trials[bestTrial]!.config['train.lr']);
    expect(best.train.weight_decay).toBe(10);
    // best.json is an FL config as `fedhpo fl run --config` takes it, with the rounds the trial reached.
    const fl = parseFlConfig(best, 'best.json');
    expect(fl.lora.r).toBe(state.trials[bestTrial]!.config['lora.r']);
    expect(fl.rounds).toBe(2);
    const adapter = await LoraAdapter.load(join(dir, 'best'), await loadLlamaConfig(model.modelDir));
    expect(adapter.config.r).toBe(state.trials[bestTrial]!.config['lora.r']);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ state: 'finished', trials: { total: 3, complete: 2, diverged: 1 } });
    // Two complete trials with a val_loss and a score: their two rankings compared.
    expect(summary.rank_agreement.n).toBe(2);
    expect(Math.abs(summary.rank_agreement.spearman)).toBeLessThanOrEqual(1);
    expect(summary.best[0].score).toBe(state.trials[bestTrial]!.metrics!.score);
  });

  it('a misspelt trial key stops the study before its directory is made, naming the key', async () => {
    const dir = join(await tempDir(), 'typo');
    const config = parseStudyConfig(studyDoc({ trial: { ...tinyTrialDoc(model.modelDir), rounds_: 3 } }), 'typo study');
    await expect(runStudy({ dir, config })).rejects.toThrow(/trial: invalid config\n {2}rounds_: unknown key/);
    expect(existsSync(dir)).toBe(false);
  });

  it('runs on a trial worker over NATS JetStream the same as in process', async () => {
    const server = await NatsServer.start({ jetstream: true });
    try {
      const doc = studyDoc({ enqueue: [{ 'train.lr': 0.01, 'lora.r': 4 }], budget: { trials: 1 }, parallel: 1 });
      const inProcess = join(await tempDir(), 'local');
      await runStudy({ dir: inProcess, config: parseStudyConfig(doc, 'local') });
      const queued = join(await tempDir(), 'queued');
      const result = await runStudy({
        dir: queued,
        config: parseStudyConfig(doc, 'queued'),
        nats: { servers: [server.url] },
        localWorkers: 1,
      });
      expect(result).toMatchObject({ state: 'finished', reason: 'budget: trials' });
      const [a, b] = [(await replayStudy(inProcess)).trials[0]!, (await replayStudy(queued)).trials[0]!];
      expect(b.status, b.reason).toBe('complete');
      expect(b.curve.map((p) => p.metrics.val_loss)).toEqual(a.curve.map((p) => p.metrics.val_loss));
      expect(b.metrics!.score).toBe(a.metrics!.score);
      await LoraAdapter.load(join(queued, 'best'), await loadLlamaConfig(model.modelDir));
    } finally {
      await server.dispose();
    }
  });

  it('successive halving continues a promoted trial from its lower rung checkpoint', async () => {
    const dir = join(await tempDir(), 'sha');
    const config = parseStudyConfig(
      studyDoc({
        enqueue: [],
        fixed: {},
        space: { 'train.lr': { type: 'categorical', choices: [0.003, 0.03] } },
        fidelity: { min_rounds: 1, max_rounds: 2 },
        budget: { rounds: 4 },
        strategy: { name: 'sha', options: { eta: 2, n: 2 } },
        parallel: 1,
      }),
      'sha study',
    );
    const result = await runStudy({ dir, config });
    expect(result.state).toBe('finished');
    const state = await replayStudy(dir);
    const promoted = state.trials.find((t) => t.parent);
    expect(promoted, JSON.stringify(state.trials.map((t) => [t.status, t.fidelity, t.parent]))).toBeDefined();
    expect(promoted!.status).toBe('complete');
    expect(promoted!.curve.map((p) => p.round)).toEqual([2]);
    expect(promoted!.rounds).toBe(1);
    const parent = state.trials[promoted!.parent!.id]!;
    expect(parent.checkpoint).toBe(join(dir, 'trials', String(parent.id), 'checkpoint-r1.json'));
    expect(promoted!.checkpoint).toBe(join(dir, 'trials', String(promoted!.id), 'checkpoint-r2.json'));
  });
});
