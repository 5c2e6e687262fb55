// The ServerActor on its own (no model needed): a client with another base model is refused at its
// hello (and told so on its direct subject), and a trial nobody joins fails with a clear reason instead
// of waiting forever.
import { expect, it, vi } from 'vitest';
import { startActorSystem, stopActorSystem } from '../../src/actors/actor-system.js';
import { decodeServerMessage, encodeMessage, MESSAGE_VERSION, type ServerMessage } from '../../src/actors/messages.js';
import { FederationError, ServerActor, type ServerEvent } from '../../src/actors/server-actor.js';
import { InProcessBus } from '../../src/actors/transport-in-process.js';
import { clientUpdateSubject, subjectPatterns } from '../../src/actors/transport-subjects.js';
import { createAggregator } from '../../src/fl/aggregators.js';
import { parseFlConfig } from '../../src/fl/fl-config.js';

it('refuses a client with another base model (not waited for), and fails when nobody joins by the join deadline', async () => {
  const bus = new InProcessBus();
  const system = startActorSystem();
  const cfg = parseFlConfig({ data: { task: 'arith' }, rounds: 1, train: { local_steps: 1, batch_size: 1, seq_len: 8, lr: 0 } });
  const events: ServerEvent[] = [];
  const scope = { study: 's', trial: 't' };
  const late = new ServerActor({
    system,
    transport: bus.connect({ name: 'late-server' }),
    settings: {
      scope: { study: 's', trial: 'late' },
      seed: 0,
      rounds: 1,
      lora: cfg.lora,
      train: cfg.train,
      codec: { precision: 'fp32', compression: 'none', level: 6 },
      round: { deadline_s: 1, quorum: 1, retries: 0, join_timeout_s: 0.5 },
      eval: { every: 1, batch_size: 1 },
      modelSha256: 'a'.repeat(64),
    },
    clients: ['c0', 'c1'],
    aggregator: createAggregator('fedavg'),
    initialGlobal: new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]),
  });
  await expect(late.run()).rejects.toThrow('no clients joined within 0.5 s (round.join_timeout_s); missing: c0 (no reply), c1 (no reply)');
  late.stop();
  const server = new ServerActor({
    system,
    transport: bus.connect({ name: 'server' }),
    settings: {
      scope,
      seed: 0,
      rounds: 1,
      lora: cfg.lora,
      train: cfg.train,
      codec: { precision: 'fp32', compression: 'none', level: 6 },
      round: { deadline_s: 1, quorum: 1, retries: 0, join_timeout_s: 0.5 },
      eval: { every: 1, batch_size: 1 },
      modelSha256: 'a'.repeat(64),
    },
    clients: ['c0'],
    aggregator: createAggregator('fedavg'),
    initialGlobal: new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]),
    onEvent: (e) => events.push(e),
  });
  const run = server.run();
  await server.ready;
  const client = bus.connect({ name: 'client' });
  const told: ServerMessage[] = [];
  client.subscribe(subjectPatterns.clientDirect(scope, 'c0'), (m) => void told.push(decodeServerMessage(m.payload).msg));
  client.publish(
    clientUpdateSubject(scope, 'c0'),
    encodeMessage({ v: MESSAGE_VERSION, kind: 'hello', from: 'c0', modelSha256: 'b'.repeat(64), trainSamples: 1, validSamples: 1 }),
  );
  await expect(run).rejects.toThrow(FederationError);
  await expect(run).rejects.toThrow('no clients joined; missing: c0 (another base model)');
  await vi.waitFor(() => expect(told).toHaveLength(1));
  expect(told).toEqual([
    { v: 1, kind: 'refuse', code: 'model-mismatch', reason: expect.stringContaining('has base model sha256 bbbbbbbbbbbb') },
  ]);
  expect(events.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.reason)).toEqual(['model-mismatch']);
  const state = await server.snapshot();
  expect(state.round).toBe(0);
  server.stop();
  stopActorSystem(system);
});
