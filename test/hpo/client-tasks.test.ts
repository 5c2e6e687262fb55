// Client tasks run by name on a client's own objective: args and results are validated, local trials
// are charged once (a later task reuses them), heterogeneous clients share different weight samples,
// and the FTS / FLoRA strategies ask for their task and use the replies.
import { describe, expect, it } from 'vitest';
import type { ClientTaskReply } from '../../src/hpo/client-task.js';
import { usesClientTasks } from '../../src/hpo/client-task.js';
import {
  checkClientTaskResult,
  ClientTaskError,
  ClientTaskHost,
  SyntheticLocalObjective,
  syntheticClientLoss,
} from '../../src/hpo/client-tasks/index.js';
import { parseSpace } from '../../src/hpo/space.js';
import { Flora } from '../../src/hpo/strategies/flora.js';
import { FederatedThompsonSampling, spaceJson } from '../../src/hpo/strategies/fts.js';
import type { StudyView, TrialRecord } from '../../src/hpo/strategy.js';

const space = parseSpace({
  'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true },
  'lora.r': { type: 'int', low: 2, high: 32, step: 2 },
  'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
});
const host = (id: string, heterogeneity = 0.6) =>
  new ClientTaskHost(id, new SyntheticLocalObjective(space, { clientId: id, heterogeneity, localStepsPerRound: 5 }));
const configs = [
  { 'train.lr': 1e-3, 'lora.r': 8, 'lora.targets': 'qv' },
  { 'train.lr': 3e-2, 'lora.r': 30, 'lora.targets': 'all' },
  { 'train.lr': 2e-4, 'lora.r': 4, 'lora.targets': 'all' },
];
const ftsArgs = (over: object = {}) => ({
  space: spaceJson(space),
  seed: 4,
  iteration: 1,
  features: 30,
  lengthscale: 0.3,
  noise: 0.01,
  rounds: 2,
  configs,
  ...over,
});

describe('client tasks', () => {
  it('fts.weights: heterogeneous clients share different samples; a client repeats itself; local trials are charged once', async () => {
    const a = host('c0');
    const b = host('c1');
    const ra = await a.run('fts.weights', ftsArgs());
    const rb = await b.run('fts.weights', ftsArgs());
    const wa = (ra.result as { weights: number[] }).weights;
    const wb = (rb.result as { weights: number[] }).weights;
    expect(wa).toHaveLength(30);
    expect(wb).not.toEqual(wa);
    // 3 configs x 2 local rounds x 5 steps per round, charged as 6 client-rounds.
    expect(ra).toMatchObject({ localSteps: 30, clientRounds: 6 });
    const again = await a.run('fts.weights', ftsArgs());
    expect((again.result as { weights: number[] }).weights).toEqual(wa);
    expect(again).toMatchObject({ localSteps: 0, clientRounds: 0 });
    // The clients' losses really differ (different optima), which is why their samples do.
    const lossOf = (id: string) => syntheticClientLoss(space, { clientId: id, heterogeneity: 0.6, localStepsPerRound: 5 }, configs[0]!, 2);
    expect(lossOf('c0')).not.toBeCloseTo(lossOf('c1'), 3);
  });

  it('flora.local-hpo: every client searches its own configs and replies with (config, loss) pairs', async () => {
    const args = { space: spaceJson(space), seed: 1, trials: 6, rounds: 3 };
    const r0 = await host('c0').run('flora.local-hpo', args);
    const r1 = await host('c1').run('flora.local-hpo', args);
    const p0 = (r0.result as { pairs: { config: object; loss: number }[] }).pairs;
    expect(p0).toHaveLength(6);
    expect(p0.map((p) => p.config)).not.toEqual((r1.result as { pairs: { config: object }[] }).pairs.map((p) => p.config));
    expect(r0).toMatchObject({ localSteps: 6 * 3 * 5, clientRounds: 18 });
  });

  it('refuses unknown tasks, bad args and bad results, naming what is wrong', async () => {
    await expect(host('c0').run('nope', {})).rejects.toThrow(/unknown client task 'nope'/);
    await expect(host('c0').run('fts.weights', ftsArgs({ features: 0 }))).rejects.toThrow(/args\.features/);
    await expect(host('c0').run('fts.weights', ftsArgs({ extra: 1 }))).rejects.toThrow(ClientTaskError);
    expect(() => checkClientTaskResult('fts.weights', { weights: [1, 'x'] })).toThrow(/result\.weights\.1/);
    expect(() => checkClientTaskResult('flora.local-hpo', { pairs: [], loss: 1 })).toThrow(ClientTaskError);
  });
});

const ctx = { space, objectives: [{ name: 'val_loss', direction: 'minimize' as const }], fidelity: { min: 4, max: 4 }, seed: 3 };
const view = (trials: TrialRecord[]): StudyView => ({ ...ctx, trials, budget: { spentRounds: 0, maxRounds: Infinity } });
async function repliesTo(request: { task: string; args: object }, ids = ['c0', 'c1', 'c2']): Promise<ClientTaskReply[]> {
  return Promise.all(
    ids.map(async (id) => {
      const out = await host(id, 0.3).run(request.task, request.args as never);
      return { client: id, ...out };
    }),
  );
}

describe('the strategies ask for their client task', () => {
  it('fts asks nothing of clients during start-up, then one fts.weights per iteration, and uses a client’s sample', async () => {
    const fts = new FederatedThompsonSampling({ ...ctx, options: { startupTrials: 2, features: 40 } });
    expect(usesClientTasks(fts)).toBe(true);
    const done: TrialRecord[] = configs.slice(0, 2).map((config, id) => ({
      id,
      config,
      fidelity: 4,
      status: 'complete',
      values: [syntheticClientLoss(space, { clientId: 'fed', heterogeneity: 0, localStepsPerRound: 1 }, config, 4)],
      rounds: 4,
    }));
    expect(fts.clientTask(view(done.slice(0, 1)))).toBeUndefined();
    const request = fts.clientTask(view(done))!;
    expect(request.task).toBe('fts.weights');
    expect((request.args as { configs: unknown[] }).configs).toEqual(done.map((t) => t.config));
    fts.tellClientTask(request, await repliesTo(request), view(done));
    expect(fts.clientTask(view(done))).toBeUndefined(); // holds this iteration's samples
    const [first] = fts.ask(view(done), 1);
    expect(fts.clientTask(view(done))).toBeDefined(); // the samples are used up: the next iteration needs fresh ones
    // At iteration 1 the server takes a client's sample with probability 1/4: over seeds, both happen, named in meta.
    const sources = new Set<string>([(first!.meta as { by: string }).by]);
    for (let seed = 10; seed < 30; seed++) {
      const s = new FederatedThompsonSampling({ ...ctx, seed, options: { startupTrials: 2, features: 40 } });
      const r = s.clientTask(view(done))!;
      s.tellClientTask(r, await repliesTo(r), view(done));
      const meta = s.ask(view(done), 1)[0]!.meta as { by: string; client?: string; t: number };
      expect(meta.t).toBe(1);
      sources.add(meta.client ?? meta.by);
    }
    expect(sources.has('own')).toBe(true);
    expect([...sources].some((s) => s.startsWith('c'))).toBe(true);
  });

  it('flora asks once for local HPO, suggests one config minimising its surface, and is done', async () => {
    const strategy = new Flora({ ...ctx, options: { surface: 'aplm', localTrials: 25 } });
    const request = strategy.clientTask(view([]))!;
    expect(request.task).toBe('flora.local-hpo');
    strategy.tellClientTask(request, await repliesTo(request), view([]));
    expect(strategy.clientTask(view([]))).toBeUndefined();
    const [s] = strategy.ask(view([]), 3);
    expect(s!.meta).toMatchObject({ flora: 'aplm', by: 'surface', clients: 3 });
    const trial: TrialRecord = { id: 0, config: s!.config, fidelity: 4, status: 'running', rounds: 0, meta: s!.meta! };
    expect(strategy.isDone(view([trial]))).toBe(true);
  });
});
