// ClientHost, the long-lived client of `fl client`, on the in-process bus with a tiny model: one host
// per client serves trial after trial of its study (the same numbers as simulated clients) until a
// server's stop dismisses it; a host whose data could not be loaded tells the next trial's server,
// which goes on without it; stop() (SIGINT/SIGTERM) tells the current trial's server it is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientHost, dismissStudyClients } from '../../src/actors/client-host.js';
import { inProcessConnector, runFederation, runFederationServer } from '../../src/actors/federation.js';
import type { ServerEvent } from '../../src/actors/server-actor.js';
import { InProcessBus } from '../../src/actors/transport-in-process.js';
import { type ClientData, type ClientDataSource, encodedClientData, exampleClientData } from '../../src/fl/client-data.js';
import { modelSha256 } from '../../src/fl/model-fingerprint.js';
import type { OpenedModel } from '../../src/model/source.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir } from './fl-fixtures.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let engine: Engine;
let m: OpenedModel;
let sha: string;
beforeAll(async () => {
  dir = await tinyModelDir();
  engine = new Engine({ threads: 2 });
  m = await openTiny(dir.modelDir, engine);
  sha = await modelSha256(m);
});
afterAll(async () => {
  await engine?.close();
  await dir?.dispose();
});

const valLosses = (h: { valLoss: number | null }[]) => h.map((r) => r.valLoss);

async function hosts(
  bus: InProcessBus,
  study: string,
  data: (ClientData | ClientDataSource | { id: string; error: string })[],
): Promise<ClientHost[]> {
  return Promise.all(
    data.map(async (d) => {
      const host = new ClientHost({
        transport: bus.connect({ name: `client-${d.id}` }),
        study,
        id: d.id,
        model: m,
        modelSha256: sha,
        data: 'error' in d ? { error: d.error } : 'encoded' in d ? d : encodedClientData(d),
      });
      await host.start();
      return host;
    }),
  );
}

describe('ClientHost', () => {
  it('serves trial after trial with the simulated clients’ numbers, until dismissed', async () => {
    const cfg = tinyConfig(dir.modelDir, { study: 'hosted', trial: 't1', rounds: 2, clients: { sample_rate: 0.67 } });
    const clients = tinyClients(m, cfg);
    const simulated = await runFederation(cfg, { model: m, clients });
    const bus = new InProcessBus();
    const served = await hosts(bus, 'hosted', clients);
    const ended: string[] = [];
    for (const h of served) void h.ended.then((e) => ended.push(e.kind));
    const ids = clients.map((c) => c.id);
    const first = await runFederationServer(cfg, { model: m, clientIds: ids, connect: inProcessConnector(bus) });
    expect(valLosses(first.history)).toEqual(valLosses(simulated.history));
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toEqual([]); // kept for the next trial
    const second = await runFederationServer(
      { ...cfg, trial: 't2', rounds: 1 },
      { model: m, clientIds: ids, connect: inProcessConnector(bus), dismissClients: true },
    );
    expect(valLosses(second.history)).toEqual(valLosses(simulated.history).slice(0, 2));
    expect(await Promise.all(served.map((h) => h.ended))).toEqual(ids.map(() => ({ kind: 'dismissed', reason: 'done' })));
  }, 120_000);

  it('a host without usable data says so at the next join; the server goes on without it; stop() is announced', async () => {
    const cfg = tinyConfig(dir.modelDir, {
      study: 'broken',
      trial: 't1',
      rounds: 1,
      round: { deadline_s: 60, quorum: 0.5, retries: 0, join_timeout_s: 60 },
    });
    const [c0, c1] = tinyClients(m, cfg);
    const bus = new InProcessBus();
    const [good, , bad] = await hosts(bus, 'broken', [c0!, c1!, { id: 'c2', error: 'c2.jsonl: no valid training records' }]);
    const events: ServerEvent[] = [];
    const failed: [string, unknown][] = [];
    const run = await runFederationServer(cfg, {
      model: m,
      clientIds: ['c0', 'c1', 'c2'],
      connect: inProcessConnector(bus),
      onEvent: (e) => events.push(e),
      // The runner's hook hears a client in another process as it hears a simulated one.
      onClientError: (client, reason) => failed.push([client, reason]),
    });
    expect(run.history.at(-1)!.round).toBe(1);
    expect(failed).toEqual([['c2', 'c2.jsonl: no valid training records']]);
    expect(events.filter((e) => e.type === 'client-error')).toEqual([
      { type: 'client-error', client: 'c2', reason: 'c2.jsonl: no valid training records', fatal: true },
    ]);
    expect(await bad!.ended).toEqual({ kind: 'failed', reason: 'c2.jsonl: no valid training records' });
    // A trial whose server waits: the host's stop() is an error the server takes as "do not wait".
    // Stopped once both have joined (not after a fixed sleep: an idle machine finishes the trial first).
    const waiting = runFederationServer(
      { ...cfg, trial: 't2', round: { deadline_s: 60, quorum: 1, retries: 0, join_timeout_s: 60 } },
      {
        model: m,
        clientIds: ['c0', 'c1'],
        connect: inProcessConnector(bus),
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'joined') good!.stop('SIGTERM received');
        },
      },
    );
    await expect(waiting).rejects.toThrow(/c0 \(client stopped: SIGTERM received\)/);
    expect(await good!.ended).toEqual({ kind: 'stopped', reason: 'SIGTERM received' });
  }, 120_000);

  it('a round a client cannot compute (its prompts are longer than seq_len) is reported, and the run goes on without it', async () => {
    const cfg = tinyConfig(dir.modelDir, {
      study: 'long',
      trial: 't1',
      rounds: 1,
      round: { deadline_s: 60, quorum: 0.5, retries: 0, join_timeout_s: 60 },
    });
    const [c0, c1] = tinyClients(m, cfg);
    const long = { prompt: 'x'.repeat(1000), target: 'y', meta: {} };
    const bus = new InProcessBus();
    const [, , tooLong] = await hosts(bus, 'long', [c0!, c1!, exampleClientData(m.tokenizer, 'c2', [long], [long])]);
    const events: ServerEvent[] = [];
    const run = await runFederationServer(cfg, {
      model: m,
      clientIds: ['c0', 'c1', 'c2'],
      connect: inProcessConnector(bus),
      onEvent: (e) => events.push(e),
    });
    const reason =
      'evaluation of round 0 failed: client c2: no training example has an answer token within seq_len 384 (prompts are longer)';
    expect(events.filter((e) => e.type === 'client-error')).toEqual([{ type: 'client-error', client: 'c2', reason, fatal: true }]);
    expect(await tooLong!.ended).toEqual({ kind: 'failed', reason });
    expect(run.history.map((r) => Object.keys(r.clients).filter((c) => r.clients[c]!.validation))).toEqual([
      ['c0', 'c1'],
      ['c0', 'c1'],
    ]);
  }, 120_000);

  it('a study-wide dismissal ends every host of that study, and only of that study', async () => {
    const [c0, c1] = tinyClients(m, tinyConfig(dir.modelDir));
    const bus = new InProcessBus();
    const [a, b] = await hosts(bus, 'done', [c0!, c1!]);
    const [other] = await hosts(bus, 'other', [c0!]);
    await dismissStudyClients(bus.connect({ name: 'dismiss' }), 'done', 'the study is over');
    expect(await Promise.all([a!.ended, b!.ended])).toEqual([
      { kind: 'dismissed', reason: 'the study is over' },
      { kind: 'dismissed', reason: 'the study is over' },
    ]);
    other!.stop('test over');
    expect(await other!.ended).toEqual({ kind: 'stopped', reason: 'test over' });
  });
});
