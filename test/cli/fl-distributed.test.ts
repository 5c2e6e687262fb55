// `fedhpo fl server` and `fl client` as separate processes over a real nats-server whose small
// max_payload forces chunking: the same per-round validation losses and adapter bytes as `fl run`
// in one process, and kept clients serve a second trial until `fl dismiss`; a client killed with
// SIGKILL while it trains is survived by quorum at the deadline; a client with bad data or another
// base model is named by the server and exits non-zero with one line; an idle client exits cleanly
// on SIGTERM; a server nobody joins says who is missing; usage mistakes are one line.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { TINY, tinyModelDir } from '../actors/fl-fixtures.js';
import { type CliProcess, spawnFedhpo } from '../helpers/cli-process.js';
import { NatsServer } from '../helpers/nats-server.js';
import { expectUserError, fedhpo, fedhpoWithin } from './run-cli.js';

/** Below one adapter message (~5 KB for the tiny model), so every round and evaluate message is chunked. */
const MAX_PAYLOAD = 2048;

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let nats: NatsServer;
let config: string;
let otherModel: string;
const data = (id: string) => [
  '--data',
  join(dir.root, 'clients', `${id}.train.jsonl`),
  '--valid',
  join(dir.root, 'clients', `${id}.valid.jsonl`),
];

beforeAll(async () => {
  dir = await tinyModelDir();
  otherModel = join(dir.root, 'other-model');
  await saveCheckpoint(otherModel, TINY, initWeights(TINY, 8));
  nats = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
  config = join(dir.root, 'fl.yaml');
  await writeFile(
    config,
    [
      `model: ${JSON.stringify(dir.modelDir)}`,
      'data: { task: arith }',
      'rounds: 3',
      'clients: { sample_rate: 0.67 }',
      'lora: { r: 4, alpha: 8, targets: [q_proj, v_proj] }',
      'train: { local_steps: 2, batch_size: 4, seq_len: 384, lr: 0.01 }',
      'eval: { test_limit: 3, max_new_tokens: 4, valid_limit: 4 }',
      'codec: { precision: int8, compression: deflate }',
      'round: { deadline_s: 120, quorum: 1, retries: 1, join_timeout_s: 120 }',
      '',
    ].join('\n'),
  );
  const split = await fedhpo('fl', 'clients', '--config', config, '--out', join(dir.root, 'clients'));
  expect(split.code, split.stderr).toBe(0);
  expect(split.stdout).toContain('c2: 600 training, 4 validation records');
}, 120_000);
afterAll(async () => {
  await nats?.dispose();
  await dir?.dispose();
});

function server(study: string, out: string, ...args: string[]): CliProcess {
  return spawnFedhpo(['fl', 'server', '--config', config, '--nats', nats.url, '--set', `study=${study}`, '--out', out, '--json', ...args]);
}

function client(id: string, study: string, ...args: string[]): CliProcess {
  return spawnFedhpo(['fl', 'client', '--id', id, '--study', study, '--nats', nats.url, '--model', dir.modelDir, ...args]);
}

const lastJson = (p: CliProcess) =>
  JSON.parse(
    p
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1)!,
  );

async function metricLines(out: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('fl server and fl client processes', () => {
  it('give the in-process run’s per-round validation losses and adapter bytes (3 clients, sample rate 0.67, int8, chunked); kept clients serve a second trial until fl dismiss', async () => {
    const distOut = join(dir.root, 'dist');
    const localOut = join(dir.root, 'local');
    const srv = server('parity', distOut, '--keep-clients');
    const clients = ['c0', 'c1', 'c2'].map((id) => client(id, 'parity', ...data(id)));
    const local = fedhpoWithin(240_000, 'fl', 'run', '--config', config, '--set', 'study=parity', '--out', localOut, '--json');
    const done = await srv.exited;
    expect(done.code, srv.output()).toBe(0);
    // Kept: the same client processes serve a second trial of the study, whose end dismisses them.
    expect(clients.map((c) => c.proc.exitCode)).toEqual([null, null, null]);
    const again = server('parity', join(dir.root, 'dist-again'), '--set', 'trial=t1', '--set', 'rounds=1', '--keep-clients');
    expect((await again.exited).code, again.output()).toBe(0);
    expect(clients.map((c) => c.proc.exitCode)).toEqual([null, null, null]);
    const dismiss = await fedhpo('fl', 'dismiss', '--study', 'parity', '--nats', nats.url, '--reason', 'study over');
    expect(dismiss.code, dismiss.stderr).toBe(0);
    const ends = await Promise.all(clients.map((c) => c.exited));
    const inProcess = await local;
    expect(inProcess.code, inProcess.stderr).toBe(0);
    for (const [i, end] of ends.entries()) {
      expect(end.code, clients[i]!.output()).toBe(0);
      expect(clients[i]!.output()).toContain('dismissed by the server (study over)');
      expect(clients[i]!.output()).toMatch(
        /joining trial parity\/t0\n(.*\n)*.*trial parity\/t0 over: done\n(.*\n)*.*joining trial parity\/t1/,
      );
    }
    expect(srv.output()).toMatch(/^\[fed\] clients joined: c0, c1, c2$/m);
    const dist = lastJson(srv);
    const want = JSON.parse(inProcess.stdout.trim().split('\n').at(-1)!);
    expect(dist.valLoss).toHaveLength(4);
    expect(dist.valLoss.every((x: unknown) => typeof x === 'number')).toBe(true);
    expect(dist.valLoss).toEqual(want.valLoss);
    expect(dist.test).toEqual(want.test);
    expect(await readFile(join(distOut, 'adapter', 'adapter_model.safetensors'))).toEqual(
      await readFile(join(localOut, 'adapter', 'adapter_model.safetensors')),
    );
    const lines = await metricLines(distOut);
    const rounds = lines.filter((l) => l.type === 'round' && (l.round as number) > 0);
    expect(rounds.map((r) => (r.selected as string[]).length)).toEqual([2, 2, 2]);
    // Every selected client downloaded the global adapter in messages larger than the server's max payload.
    const selected = lines.filter((l) => l.type === 'client' && l.selected && (l.round as number) > 0);
    expect(selected.every((l) => (l.download_bytes as number) > MAX_PAYLOAD)).toBe(true);
    expect(JSON.parse(await readFile(join(distOut, 'summary.json'), 'utf8')).valLoss).toEqual(want.valLoss);
    expect(lastJson(again).valLoss).toEqual(want.valLoss.slice(0, 2)); // the same seed: the same first round
  }, 300_000);

  it('a client killed with SIGKILL mid-run: the rounds complete by quorum at the deadline and the run finishes', async () => {
    const out = join(dir.root, 'kill');
    const srv = server(
      'kill',
      out,
      '--verbose',
      '--set',
      'round.deadline_s=10',
      '--set',
      'round.quorum=0.5',
      '--set',
      'train.local_steps=6',
    );
    const ids = ['c0', 'c1', 'c2'];
    const clients = ids.map((id) => client(id, 'kill', '--verbose', ...data(id)));
    // The first client to start training round 2 is killed while it trains.
    const k = await Promise.any(clients.map((c, i) => c.waitFor(/\] training round 2 /, 180_000).then(() => i)));
    clients[k]!.kill('SIGKILL');
    const victim = ids[k]!;
    const [done, ...ends] = await Promise.all([srv.exited, ...clients.map((c) => c.exited)]);
    expect(done.code, srv.output()).toBe(0);
    for (const [i, end] of ends.entries()) {
      if (i === k) expect(end.signal).toBe('SIGKILL');
      else expect(end.code, clients[i]!.output()).toBe(0);
    }
    const summary = lastJson(srv);
    expect(summary.valLoss).toHaveLength(4);
    expect(summary.valLoss.every((x: unknown) => typeof x === 'number')).toBe(true);
    expect(srv.output()).toContain(`round 2: deadline: going on without ${victim}`);
    const lines = await metricLines(out);
    const round2 = lines.find((l) => l.type === 'round' && l.round === 2)!;
    expect(round2.selected).toContain(victim);
    expect(round2.accepted).not.toContain(victim);
    expect((round2.accepted as string[]).length).toBeGreaterThanOrEqual(1);
    // From its death on, the victim neither trains nor validates: the later rounds went on without it.
    const after = lines.filter((l) => l.type === 'client' && l.client === victim && (l.round as number) >= 2);
    expect(after.every((l) => l.val_loss === null && !l.accepted)).toBe(true);
  }, 300_000);

  it('names a client with bad data or another base model; they exit non-zero with one line, the others go on', async () => {
    const bad = join(dir.root, 'bad.jsonl');
    await writeFile(bad, 'not json\n{"foo": 1}\n');
    const idle = client('c3', 'idle', ...data('c0'));
    await idle.waitFor(/serving study idle/);
    idle.kill('SIGTERM');
    const srv = server('errors', join(dir.root, 'errors'), '--set', 'rounds=1', '--set', 'round.quorum=0.3');
    const good = client('c0', 'errors', ...data('c0'));
    const other = spawnFedhpo([
      'fl',
      'client',
      '--id',
      'c1',
      '--study',
      'errors',
      '--nats',
      nats.url,
      '--model',
      otherModel,
      ...data('c1'),
    ]);
    const broken = client('c2', 'errors', '--data', bad);
    const [done, g, o, b, i] = await Promise.all([srv.exited, good.exited, other.exited, broken.exited, idle.exited]);
    expect(i.code, idle.output()).toBe(0);
    expect(idle.output()).toContain('fl client c3: stopped (SIGTERM received)');
    expect(done.code, srv.output()).toBe(0);
    expect(g.code, good.output()).toBe(0);
    // Without --verbose too, the server says who failed or was refused, and who joined.
    expect(srv.output()).toMatch(/^\[fed\] client c2 failed: .*bad\.jsonl: no valid training records/m);
    expect(srv.output()).toMatch(
      /^\[fed\] refused a client \(model-mismatch\): client c1 has base model sha256 [0-9a-f]{12}…, the server [0-9a-f]{12}…/m,
    );
    expect(srv.output()).toMatch(/^\[fed\] clients joined: c0$/m);
    expect(lastJson(srv).valLoss).toHaveLength(2);
    for (const [p, end, line] of [
      [other, o, /^fedhpo: fl client c1: refused by the server: client c1 has base model sha256 /m],
      [broken, b, /^fedhpo: fl client c2: .*bad\.jsonl: no valid training records/m],
    ] as const) {
      expect(end.code, p.output()).toBe(2);
      expect(p.output()).toMatch(line);
      expect(p.output()).not.toMatch(/^\s+at /m);
    }
  }, 300_000);

  it('usage mistakes exit 2 with one line, before any model is loaded', async () => {
    const url = ['--nats', nats.url];
    const [noNats, scenario, ids, id, both] = await Promise.all([
      fedhpo('fl', 'client', '--id', 'c0', '--data', 'x.jsonl'),
      fedhpo('fl', 'server', '--config', config, ...url, '--scenario', 'global'),
      fedhpo('fl', 'server', '--config', config, ...url, '--clients', 'c0,a.b'),
      fedhpo('fl', 'client', '--id', 'c.0', '--data', 'x.jsonl', ...url),
      fedhpo('fl', 'client', '--id', 'c0', '--data', 'x.jsonl', '--model', dir.modelDir, '--config', config, ...url),
    ]);
    expectUserError(noNats, 'fl client: --nats URL is required');
    expectUserError(scenario, 'fl server: scenario global simulates its clients (use fl run)');
    expectUserError(ids, `--clients: client id "a.b": may not contain '.'`);
    expectUserError(id, `--id "c.0": may not contain '.'`);
    expectUserError(both, 'give --model DIR or --config FILE, not both');
  }, 120_000);

  it('a server nobody joins fails after round.join_timeout_s naming the missing clients', async () => {
    const srv = server('empty', join(dir.root, 'empty'), '--set', 'round.join_timeout_s=2');
    const end = await srv.exited;
    expect(end.code).toBe(2);
    expect(srv.output()).toContain(
      "fedhpo: no clients joined within 2 s (round.join_timeout_s); missing: c0 (no reply), c1 (no reply), c2 (no reply) (clients join the trials of study 'empty': fl client --study)",
    );
  }, 120_000);
});
