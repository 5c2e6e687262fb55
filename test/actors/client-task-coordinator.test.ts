// The coordinator's side of client tasks checks every reply on receipt: a result that does not fit
// its task's schema, a reply on another client's subject, to another task, naming another task, from
// a stranger or twice, is refused with its reason and never reaches the strategy; a client that never
// answers is resent the task and then left out at the deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { type ActorSystemRef, startActorSystem, stopActorSystem } from '../../src/actors/actor-system.js';
import { ClientTaskCoordinator } from '../../src/actors/client-task-coordinator.js';
import { SYNTHETIC_MODEL_SHA256 } from '../../src/actors/client-tasks-for.js';
import { decodeServerMessage, encodeMessage, MESSAGE_VERSION } from '../../src/actors/messages.js';
import { TaskClientActor } from '../../src/actors/task-client-actor.js';
import { InProcessBus } from '../../src/actors/transport-in-process.js';
import { clientUpdateSubject, subjectPatterns } from '../../src/actors/transport-subjects.js';
import { ClientTaskHost, SyntheticLocalObjective } from '../../src/hpo/client-tasks/index.js';
import { parseSpace } from '../../src/hpo/space.js';
import { spaceJson } from '../../src/hpo/strategies/fts.js';

const space = parseSpace({ 'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true } });
const scope = { study: 'hostile', trial: 'tasks' };
const args = {
  space: spaceJson(space),
  seed: 1,
  iteration: 1,
  features: 8,
  lengthscale: 0.3,
  noise: 0.01,
  rounds: 1,
  configs: [{ 'train.lr': 1e-3 }],
};

let system: ActorSystemRef | undefined;
afterEach(() => {
  if (system) stopActorSystem(system);
  system = undefined;
});

describe('the client-task coordinator', () => {
  it('refuses hostile replies with their reasons and goes on with the honest client', async () => {
    system = startActorSystem();
    const bus = new InProcessBus();
    const lines: string[] = [];
    const coordinator = new ClientTaskCoordinator({
      system,
      transport: bus.connect({ name: 'coordinator' }),
      scope,
      clients: ['c0', 'c1'],
      modelSha256: SYNTHETIC_MODEL_SHA256,
      deadlineSeconds: 0.5,
      joinTimeoutSeconds: 5,
      retries: 1,
      log: (l) => lines.push(l),
    });
    await coordinator.ready;
    const honest = new TaskClientActor({
      system,
      transport: bus.connect({ name: 'c0' }),
      scope,
      clientId: 'c0',
      host: new ClientTaskHost('c0', new SyntheticLocalObjective(space, { clientId: 'c0', heterogeneity: 0.2, localStepsPerRound: 1 })),
      modelSha256: SYNTHETIC_MODEL_SHA256,
    });
    honest.start();
    // c1 is a raw connection that joins, then answers every task with hostile replies only.
    const raw = bus.connect({ name: 'c1' });
    const send = (on: string, msg: object) =>
      raw.publish(clientUpdateSubject(scope, on), encodeMessage({ v: MESSAGE_VERSION, ...msg } as never));
    let asked = 0;
    raw.subscribe(subjectPatterns.serverBroadcasts(scope), (m) => {
      const { msg } = decodeServerMessage(m.payload);
      if (msg.kind === 'join')
        send('c1', { kind: 'hello', from: 'c1', modelSha256: SYNTHETIC_MODEL_SHA256, trainSamples: 0, validSamples: 0 });
      if (msg.kind !== 'task') return;
      asked++;
      const base = { kind: 'task-result', taskId: msg.taskId, task: msg.task, localSteps: 1, clientRounds: 1 };
      send('c1', { ...base, from: 'c1', result: { weights: [1, 2], extra: true } }); // not the task's result schema
      send('c1', { ...base, from: 'c0', result: { weights: [1] } }); // c0's name on c1's subject
      send('c1', { ...base, from: 'c1', taskId: msg.taskId + 5, result: { weights: [1] } }); // another task
      send('c1', { ...base, from: 'c1', task: 'flora.local-hpo', result: { pairs: [] } }); // names another task
      send('c9', { ...base, from: 'c9', result: { weights: [1] } }); // a stranger
    });
    const hello = { kind: 'hello', from: 'c1', modelSha256: SYNTHETIC_MODEL_SHA256, trainSamples: 0, validSamples: 0 };
    send('c1', hello);
    try {
      const replies = await coordinator.run({ task: 'fts.weights', args });
      expect(replies.map((r) => r.client)).toEqual(['c0']);
      expect((replies[0]!.result as { weights: number[] }).weights).toHaveLength(8);
      expect(asked).toBe(1); // the broadcast; the retry went to c1's direct subject
      expect(coordinator.rejected).toMatchObject({ schema: 2, impersonation: 1, 'unknown-sender': 1 });
      expect(coordinator.rejected.unexpected).toBeGreaterThanOrEqual(1);
      expect(lines.join('\n')).toMatch(/deadline: going on without c1/);
    } finally {
      honest.stop();
      await coordinator.close();
    }
  }, 30_000);
});
