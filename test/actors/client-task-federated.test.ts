// Client tasks in studies of real federated trials (the FederatedTrialRunner) on a tiny model and the
// arith task's three clients: each client's local trials are LoRA fine-tuning on its own records; FTS
// and FLoRA studies run to the end; a ClientActor runs a task by name. Privacy: with the trials'
// per-client loss reports off (train.report_losses: false), the true losses an FTS client computes —
// every training step's loss (a trainer hook), in its local trials and in the federated trials, and
// every local validation loss — appear in no message that client sends (hello, update, eval-result,
// task-result), neither as JSON numbers nor as float32/float64 bytes.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientTasksFor } from '../../src/actors/client-tasks-for.js';
import { decodeEnvelope } from '../../src/actors/envelope.js';
import { FederatedTrialRunner } from '../../src/actors/federated-runner.js';
import type { ConnectTransport } from '../../src/actors/federation.js';
import { runStudy } from '../../src/actors/study-runner.js';
import { readJournal } from '../../src/hpo/journal.js';
import { parseStudyConfig } from '../../src/hpo/study-config.js';
import { tempDir } from '../helpers/study-fixtures.js';
import { startActorSystem, stopActorSystem } from '../../src/actors/actor-system.js';
import { ClientActor } from '../../src/actors/client-actor.js';
import { ClientTaskCoordinator } from '../../src/actors/client-task-coordinator.js';
import { LoraLocalObjective } from '../../src/actors/lora-local-objective.js';
import { InProcessBus } from '../../src/actors/transport-in-process.js';
import { encodedClientData, federatedTask } from '../../src/fl/client-data.js';
import { ClientTaskHost } from '../../src/hpo/client-tasks/registry.js';
import { spaceJson } from '../../src/hpo/strategies/fts.js';
import { studySpace } from '../../src/hpo/study-config.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir, tinyTrialDoc } from './fl-fixtures.js';

let model: Awaited<ReturnType<typeof tinyModelDir>>;
beforeAll(async () => {
  model = await tinyModelDir();
});
afterAll(async () => {
  await model?.dispose();
});

function config(strategy: string, options: Record<string, unknown>, trials: number, fixed: Record<string, unknown> = {}) {
  return parseStudyConfig(
    {
      name: `tiny-${strategy}-${randomBytes(3).toString('hex')}`,
      seed: 1,
      space: {
        'train.lr': { type: 'float', low: 1e-3, high: 3e-2, log: true },
        'lora.r': { type: 'categorical', choices: [2, 4] },
      },
      fixed,
      fidelity: { rounds: 1 },
      budget: { trials },
      strategy: { name: strategy, options },
      client_tasks: { deadline: 120, join_timeout: 60 },
      trial: tinyTrialDoc(model.modelDir),
    },
    'tiny study',
  );
}

function carries(bytes: Uint8Array, loss: number): boolean {
  const has = (needle: Uint8Array) => Buffer.from(bytes).indexOf(Buffer.from(needle)) >= 0;
  if (has(new Uint8Array(new Float64Array([loss]).buffer)) || has(new Uint8Array(new Float32Array([loss]).buffer))) return true;
  const numbers: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') numbers.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(decodeEnvelope(bytes).header);
  return numbers.some((n) => n === loss || Math.fround(n) === Math.fround(loss));
}

describe('client tasks with federated trials (tiny model, arith)', () => {
  it('FTS with per-client loss reports off: no message a client sends carries one of its true losses', async () => {
    // train.report_losses: false switches off the ordinary per-client loss metrics of the trials' updates.
    // Every client trains in every trial (sample rate 1), so each has losses of both kinds to hide.
    const c = config('fts', { startupTrials: 2, features: 20, localRounds: 1 }, 4, {
      'train.report_losses': false,
      'clients.sample_rate': 1,
    });
    const stepLosses = new Map<string, number[]>();
    const validLosses = new Map<string, number[]>();
    const sent: { client: string; subject: string; bytes: Uint8Array }[] = [];
    const push = (m: Map<string, number[]>, id: string, v: number): void => {
      m.set(id, [...(m.get(id) ?? []), v]);
    };
    // Every step's loss, through a trainer hook: in the clients' local trials and in the federated trials.
    const trialSteps = new Map<string, number[]>();
    const hooks = (id: string) => [{ afterStep: (_ctx: unknown, step: { loss: number }) => push(stepLosses, id, step.loss) }];
    const trialHooks = (id: string) => [
      {
        afterStep: (_ctx: unknown, step: { loss: number }) => {
          push(stepLosses, id, step.loss);
          push(trialSteps, id, step.loss);
        },
      },
    ];
    const clientTasks = await clientTasksFor(c, {
      trainerHooks: hooks,
      onLocalLoss: (id, loss) => push(validLosses, id, loss),
      onClientSend: (client, subject, bytes) => sent.push({ client, subject, bytes: new Uint8Array(bytes) }),
    });
    // The federated trials' clients publish through this bus: everything they send is recorded.
    const bus = new InProcessBus();
    const connect: ConnectTransport = async (name, transportHooks) => {
      const t = bus.connect({ name, ...transportHooks });
      if (!name.startsWith('client-')) return t;
      const publish = t.publish.bind(t);
      t.publish = (subject, payload) => {
        sent.push({ client: name.slice('client-'.length), subject, bytes: new Uint8Array(payload) });
        publish(subject, payload);
      };
      return t;
    };
    const dir = join(await tempDir(), 'fts');
    try {
      const r = await runStudy({
        dir,
        config: c,
        clientTasks,
        runnerFor: () => new FederatedTrialRunner({ connect, clientHooks: trialHooks }),
      });
      expect(r).toMatchObject({ state: 'finished', reason: 'budget: trials' });
    } finally {
      await clientTasks.close();
    }
    const { events } = await readJournal(dir);
    const tasks = events.flatMap((e) => (e.kind === 'client-task.finished' ? [e] : []));
    expect(tasks.length).toBeGreaterThanOrEqual(2);
    expect(tasks[0]!.replies.map((r) => r.client)).toEqual(['c0', 'c1', 'c2']);
    // The first task fits the 2 start-up trials: 2 local trials x 1 round x 2 local steps per client.
    expect(tasks[0]!.replies.map((r) => r.local_steps)).toEqual([4, 4, 4]);
    expect(tasks[0]!.client_rounds).toBe(6);
    const finished = events.filter((e) => e.kind === 'trial.finished' && e.status === 'complete');
    expect(finished).toHaveLength(4);
    const kinds = new Set(sent.map((m) => (decodeEnvelope(m.bytes).header as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(['eval-result', 'hello', 'task-result', 'update']);
    for (const m of sent) {
      const h = decodeEnvelope(m.bytes).header as { kind: string; metrics?: Record<string, number> };
      if (h.kind === 'update') expect(Object.keys(h.metrics!)).not.toContain('train_loss');
    }
    // Privacy: every true loss of each client, searched in everything that client sent.
    for (const id of ['c0', 'c1', 'c2']) {
      expect(trialSteps.get(id)).toHaveLength(4 * 2); // 4 trials x 1 round x 2 local steps
      const losses = [...(stepLosses.get(id) ?? []), ...(validLosses.get(id) ?? [])];
      expect(losses.length).toBeGreaterThanOrEqual(10);
      const mine = sent.filter((m) => m.client === id);
      expect(mine.length).toBeGreaterThanOrEqual(tasks.length + 8);
      expect(losses.filter((l) => mine.some((m) => carries(m.bytes, l)))).toEqual([]);
    }
  }, 300_000);

  it('FLoRA (mplm): one local search per client on its own data, then one federated trial', async () => {
    const c = config('flora', { surface: 'mplm', localTrials: 3, localRounds: 1 }, 5);
    const dir = join(await tempDir(), 'flora');
    expect(await runStudy({ dir, config: c })).toMatchObject({ state: 'finished', reason: 'strategy done' });
    const { events } = await readJournal(dir);
    const tasks = events.flatMap((e) => (e.kind === 'client-task.finished' ? [e] : []));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.replies.map((r) => (r.result as { pairs: unknown[] }).pairs.length)).toEqual([3, 3, 3]);
    const asked = events.flatMap((e) => (e.kind === 'trials.asked' ? e.trials : []));
    expect(asked).toHaveLength(1);
    expect(asked[0]!.meta).toMatchObject({ flora: 'mplm', by: 'surface', clients: 3 });
    expect(events.filter((e) => e.kind === 'trial.finished' && e.status === 'complete')).toHaveLength(1);
  }, 300_000);
});

describe('the ClientActor runs client tasks by name', () => {
  it('a trial client with a task host answers flora.local-hpo; one without answers task-error', async () => {
    const engine = new Engine({ threads: 2 });
    const m = await openTiny(model.modelDir, engine);
    const study = config('flora', {}, 1);
    const data = tinyClients(m, tinyConfig(model.modelDir)).slice(0, 2);
    const records = federatedTask('arith', 0).clients;
    const bus = new InProcessBus();
    const system = startActorSystem();
    const scope = { study: 'ct-actor', trial: 'tasks' };
    const sha = 'a'.repeat(64);
    const lines: string[] = [];
    const coordinator = new ClientTaskCoordinator({
      system,
      transport: bus.connect({ name: 'coordinator' }),
      scope,
      clients: data.map((d) => d.id),
      modelSha256: sha,
      deadlineSeconds: 60,
      joinTimeoutSeconds: 30,
      retries: 0,
      log: (line) => lines.push(line),
    });
    await coordinator.ready;
    const actors = data.map(
      (d, i) =>
        new ClientActor({
          system,
          transport: bus.connect({ name: d.id }),
          scope,
          data: encodedClientData(d),
          model: m.model,
          padId: m.tokenizer.padId,
          modelSha256: sha,
          // Client c0 holds a task host on its own records; c1 has none.
          ...(i === 0
            ? { tasks: new ClientTaskHost(d.id, new LoraLocalObjective({ study, model: m, records: records.find((r) => r.id === d.id)! })) }
            : {}),
        }),
    );
    try {
      for (const a of actors) a.start();
      const replies = await coordinator.run({
        task: 'flora.local-hpo',
        args: { space: spaceJson(studySpace(study)), seed: 3, trials: 2, rounds: 1 },
      });
      expect(replies.map((r) => r.client)).toEqual(['c0']);
      const pairs = (replies[0]!.result as { pairs: { loss: number }[] }).pairs;
      expect(pairs).toHaveLength(2);
      for (const p of pairs) expect(p.loss).toBeGreaterThan(0);
      expect(replies[0]).toMatchObject({ localSteps: 4, clientRounds: 2 });
      expect(lines.join('\n')).toMatch(/flora\.local-hpo failed on client c1: client c1 runs no client tasks/);
    } finally {
      for (const a of actors) a.stop();
      await coordinator.close();
      stopActorSystem(system);
      await m.close?.();
      await engine.close();
    }
  }, 120_000);
});
