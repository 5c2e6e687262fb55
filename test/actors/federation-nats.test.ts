// The same federated config in one process and through a real nats-server (started here with a
// 16 KiB max_payload, so every adapter message is chunked) gives identical per-round validation
// losses and adapter bytes; hostile bytes published from a separate connection onto the clients'
// update subjects during a run are each rejected with their reason and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/actors/envelope.js';
import { encodeGlobal } from '../../src/actors/federation-state.js';
import { type ConnectTransport, type FederationResult, runFederation } from '../../src/actors/federation.js';
import { MESSAGE_VERSION } from '../../src/actors/messages.js';
import type { ServerEvent } from '../../src/actors/server-actor.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { clientUpdateSubject, subjectPatterns } from '../../src/actors/transport-subjects.js';
import { maxUpdateBytes } from '../../src/actors/update-admission.js';
import { encodeTensors } from '../../src/fl/codec/codec.js';
import type { FlConfig } from '../../src/fl/fl-config.js';
import { adapterTensors, type NamedTensors } from '../../src/fl/tensors.js';
import type { OpenedModel } from '../../src/model/source.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { NatsServer } from '../helpers/nats-server.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir } from './fl-fixtures.js';

const MAX_PAYLOAD = 16 * 1024;

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let engine: Engine;
let m: OpenedModel;
let server: NatsServer;
let cfg: FlConfig;
let inProcess: FederationResult;
let overNats: FederationResult;

const natsConnector = (): ConnectTransport => (name, hooks) =>
  NatsTransport.connect({ connection: { servers: [server.url] }, name: `test-${name}`, ...hooks });

beforeAll(async () => {
  dir = await tinyModelDir();
  engine = new Engine({ threads: 2 });
  m = await openTiny(dir.modelDir, engine);
  server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
  cfg = tinyConfig(dir.modelDir, {
    rounds: 3,
    trial: 'parity',
    clients: { sample_rate: 0.67 },
    // Every projection at r = 16: 68 KiB of fp32 adapter, several chunks per message.
    lora: { r: 16, alpha: 16, dropout: 0.1, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    codec: { precision: 'int8', granularity: 'channel', compression: 'none', level: 6 },
  });
});
afterAll(async () => {
  await engine?.close();
  await server?.dispose();
  await dir?.dispose();
});

const valLosses = (r: FederationResult) => r.history.map((h) => h.valLoss);

describe('in-process and NATS parity', () => {
  it('gives identical per-round validation losses and adapter bytes, with chunked messages', async () => {
    const clients = tinyClients(m, cfg);
    inProcess = await runFederation(cfg, { model: m, clients });
    overNats = await runFederation(cfg, { model: m, clients, connect: natsConnector() });
    expect(valLosses(overNats)).toEqual(valLosses(inProcess));
    expect(valLosses(inProcess).every((x) => x !== null && Number.isFinite(x))).toBe(true);
    expect(encodeGlobal(overNats.global)).toBe(encodeGlobal(inProcess.global));
    expect(overNats.history.map((h) => h.selected)).toEqual(inProcess.history.map((h) => h.selected));
    expect(overNats.history.slice(1).every((h) => h.selected.length === 2 && h.accepted.length === 2)).toBe(true);
    // Same envelopes either way (uploads carry timings in their metrics: equal within a few bytes),
    // and each adapter message is several times the server's max payload.
    const down = (r: FederationResult) => r.history.map((h) => Object.values(h.clients).map((c) => c.downloadBytes));
    const up = (r: FederationResult) => r.history.flatMap((h) => Object.values(h.clients).map((c) => c.uploadBytes));
    expect(down(overNats)).toEqual(down(inProcess));
    const upIn = up(inProcess);
    for (const [i, b] of up(overNats).entries()) expect(Math.abs(b - upIn[i]!)).toBeLessThan(64);
    const round1 = overNats.history[1]!;
    const trained = round1.accepted[0]!;
    expect(round1.clients[trained]!.uploadBytes).toBeGreaterThan(MAX_PAYLOAD);
    expect(round1.clients[trained]!.downloadBytes).toBeGreaterThan(3 * MAX_PAYLOAD);
  });
});

describe('hostile messages on the update subjects', () => {
  let attacker: NatsTransport;
  afterAll(async () => {
    await attacker?.close();
  });

  /** A delta of the adapter's layout with `edit` applied, fp32-encoded. */
  function deltaBytes(global: NamedTensors, edit?: (t: NamedTensors) => void): Uint8Array {
    const t = new Map([...global].map(([k, v]) => [k, { shape: [...v.shape], data: new Float32Array(v.data.length) }]));
    edit?.(t);
    return encodeTensors(t, { precision: 'fp32' });
  }

  it("rejects each with its reason, and the run gives the clean run's results", async () => {
    expect(overNats, 'the parity test runs first').toBeDefined();
    const scope = { study: cfg.study, trial: cfg.trial };
    // A separate connection publishes raw bytes through a transport of its own (it chunks what is over
    // the max payload, as a client would) and, eavesdropping, records client updates to replay them.
    attacker = await NatsTransport.connect({ connection: { servers: [server.url] }, name: 'attacker' });
    const captured: { subject: string; payload: Uint8Array }[] = [];
    attacker.subscribe(subjectPatterns.clientUpdates(scope), (msg) => {
      captured.push({ subject: msg.subject, payload: msg.payload });
    });
    await attacker.flush();
    const layout = adapterTensors(LoraAdapter.init(m.model.cfg, cfg.lora, 0));
    const header = (from: string, round: number) => ({
      v: MESSAGE_VERSION,
      kind: 'update',
      from,
      round,
      attempt: 0,
      samples: 10,
      metrics: {},
    });
    const rejected: string[] = [];
    let replay: { subject: string; payload: Uint8Array } | undefined;
    const attack = (selected: string[]): void => {
      const s = selected[0]!;
      const other = selected[1]!;
      const on = (id: string, bytes: Uint8Array) => attacker.publish(clientUpdateSubject(scope, id), bytes);
      on(
        s,
        Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff),
      ); // garbage
      on(s, encodeEnvelope(header(s, 2), deltaBytes(new Map([...layout].slice(1))))); // a tensor missing
      const nanDelta = deltaBytes(layout, (t) => {
        t.values().next().value!.data[0] = 1234.5;
      });
      const at = Buffer.from(nanDelta).indexOf(Buffer.from(new Float32Array([1234.5]).buffer));
      new DataView(nanDelta.buffer).setFloat32(at, Number.NaN, true);
      on(s, encodeEnvelope(header(s, 2), nanDelta)); // NaN
      on(s, encodeEnvelope(header(s, 2), new Uint8Array(maxUpdateBytes(layout) + 1))); // oversized
      on('c9', encodeEnvelope(header('c9', 2), deltaBytes(layout))); // unknown sender
      on(s, encodeEnvelope(header(other, 2), deltaBytes(layout))); // impersonation
      on(s, encodeEnvelope(header(s, 1), deltaBytes(layout))); // stale round
      attacker.publish(replay!.subject, replay!.payload); // a replayed update of round 1
    };
    const onEvent = (e: ServerEvent): void => {
      if (e.type === 'round-started' && e.round === 2 && e.attempt === 0) replay = captured.find((c) => c.payload.byteLength > 1000);
      if (e.type === 'round-started' && e.round === 2 && e.attempt === 0) attack(e.selected);
      if (e.type === 'rejected') rejected.push(e.reason);
    };
    const clients = tinyClients(m, cfg);
    const attacked = await runFederation(cfg, { model: m, clients, connect: natsConnector(), onEvent });
    expect(rejected.sort()).toEqual(
      ['bad-shape', 'impersonation', 'non-finite', 'oversized', 'stale-round', 'stale-round', 'undecodable', 'unknown-sender'].sort(),
    );
    expect(attacked.history[2]!.rejected).toEqual({
      undecodable: 1,
      'bad-shape': 1,
      'non-finite': 1,
      oversized: 1,
      'unknown-sender': 1,
      impersonation: 1,
      'stale-round': 2,
    });
    expect(attacked.history[2]!.rejectedLog).toHaveLength(8);
    expect(valLosses(attacked)).toEqual(valLosses(overNats));
    expect(encodeGlobal(attacked.global)).toBe(encodeGlobal(overNats.global));
  });
});

describe('a nats-server restart mid-run', () => {
  it("is survived by reconnecting and resending, with the clean run's results", async () => {
    expect(overNats, 'the parity test runs first').toBeDefined();
    const restartCfg: FlConfig = { ...cfg, round: { ...cfg.round, deadline_s: 10, retries: 3 } };
    let restarted: Promise<void> | undefined;
    const statuses: string[] = [];
    const connect: ConnectTransport = (name, hooks) =>
      NatsTransport.connect({
        connection: { servers: [server.url] },
        name: `restart-${name}`,
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
        ...hooks,
        onStatus: (s) => {
          if (name === 'server') statuses.push(s.type);
          hooks.onStatus?.(s);
        },
      });
    const onEvent = (e: ServerEvent): void => {
      if (e.type === 'round-started' && e.round === 2 && e.attempt === 0) restarted ??= server.restart();
    };
    const r = await runFederation(restartCfg, { model: m, clients: tinyClients(m, cfg), connect, onEvent });
    await restarted;
    expect(statuses).toContain('reconnected');
    expect(valLosses(r)).toEqual(valLosses(overNats));
    expect(encodeGlobal(r.global)).toBe(encodeGlobal(overNats.global));
  });
});
