// `fedhpo fl run` end to end through the CLI on a tiny model: --json's last stdout line is the
// summary, --set overrides the config, outputs land in --out; config mistakes exit 2 naming the key.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelDir } from '../actors/fl-fixtures.js';
import { natsServerForTests } from '../helpers/nats-server.js';
import { expectUserError, fedhpo, fedhpoWithin } from './run-cli.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let config: string;
let nats: { url: string; stop: () => Promise<void> };
beforeAll(async () => {
  dir = await tinyModelDir();
  nats = await natsServerForTests({ maxPayload: 32 * 1024 });
  config = join(dir.root, 'fl.yaml');
  await writeFile(
    config,
    [
      `model: ${JSON.stringify(dir.modelDir)}`,
      'data: { task: arith }',
      'rounds: 3',
      'lora: { r: 4, alpha: 8, targets: [q_proj, v_proj] }',
      'train: { local_steps: 1, batch_size: 4, seq_len: 384, lr: 0.01 }',
      'eval: { test_limit: 3, max_new_tokens: 4, valid_limit: 4 }',
      'codec: { precision: int8, compression: deflate }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await nats?.stop();
  await dir?.dispose();
});

describe('fedhpo fl run', () => {
  it('--json prints the summary as the last stdout line, progress on stderr, outputs in --out; --nats gives the same numbers', async () => {
    const out = join(dir.root, 'run');
    const args = ['fl', 'run', '--config', config, '--set', 'rounds=1', '--set', 'train.lr=0.02', '--json'];
    const [r, viaNats] = await Promise.all([
      fedhpoWithin(110_000, ...args, '--out', out),
      fedhpoWithin(110_000, ...args, '--out', join(dir.root, 'run-nats'), '--nats', nats.url),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(viaNats.code, viaNats.stderr).toBe(0);
    expect(viaNats.stderr).toContain(`through NATS ${nats.url}`);
    const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(last(viaNats.stdout).valLoss).toEqual(last(r.stdout).valLoss);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary.scenario).toBe('fed');
    expect(summary.valLoss).toHaveLength(2);
    expect(summary.test.samples).toBe(3);
    expect(summary.totals.uploadBytes).toBeGreaterThan(0);
    expect(summary.out).toBe(out);
    expect(r.stderr).toMatch(/\[fed\] round 1\/1 val loss \d/);
    const saved = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(saved.config.train.lr).toBe(0.02);
    expect(JSON.parse(await readFile(join(out, 'adapter', 'adapter_config.json'), 'utf8')).r).toBe(4);
  });

  it('config mistakes exit 2 naming the key', async () => {
    const [unknown, range, nats] = await Promise.all([
      fedhpo('fl', 'run', '--config', config, '--set', 'train.bogus=1'),
      fedhpo('fl', 'run', '--config', config, '--set', 'round.quorum=2'),
      fedhpo('fl', 'run', '--config', config, '--nats-token', 'x'),
    ]);
    expectUserError(unknown, "unknown key 'train.bogus'");
    expectUserError(range, 'round.quorum');
    expectUserError(nats, '--nats-token needs --nats URL');
  });
});
