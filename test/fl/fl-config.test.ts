// The federated run config: defaults, errors naming the dotted key, and --set overrides parsed as
// YAML scalars with unknown keys refused by name.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOverrides, loadFlConfig, parseFlConfig, parseOverride } from '../../src/fl/fl-config.js';
import { UserError } from '../../src/engine/errors.js';
import { SHIPPED_BASE_MODEL } from '../../src/model/source.js';
import { expectCleanError } from '../bounded.js';

const minimal = { data: { task: 'arith' }, rounds: 2, train: { local_steps: 3, batch_size: 4, seq_len: 64, lr: 0.001 } };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-flcfg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fl config', () => {
  it('fills defaults: the shipped base, fed, fedavg, lossless codec, quorum 1', () => {
    const c = parseFlConfig(minimal);
    expect(c.model).toBe(SHIPPED_BASE_MODEL);
    expect(c.scenario).toBe('fed');
    expect(c.aggregator).toEqual({ name: 'fedavg', options: {} });
    expect(c.codec.precision).toBe('fp32');
    expect(c.round.quorum).toBe(1);
    expect(c.clients.sample_rate).toBe(1);
    expect(c.train.optimizer).toBe('adamw');
  });

  it('errors name the dotted key of each problem', () => {
    let error: unknown;
    try {
      parseFlConfig({ ...minimal, train: { ...minimal.train, lr: -1, bogus: 1 }, lora: { r: 0 }, data: { task: 'nope' } }, 'x.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const message = (error as Error).message;
    for (const k of ['x.yaml: invalid config', 'train.lr:', 'train.bogus: unknown key', 'lora.r:', 'data.task:'])
      expect(message).toContain(k);
  });

  it('--set overrides parse YAML scalars and flow lists, and create sections', () => {
    const raw = applyOverrides(minimal, [
      'train.lr=3e-3',
      'lora.targets=[q_proj, v_proj]',
      'round.quorum=0.5',
      'scenario=local',
      'aggregator.options.momentum=0.5',
    ]);
    const c = parseFlConfig(raw);
    expect(c.train.lr).toBe(0.003);
    expect(c.lora.targets).toEqual(['q_proj', 'v_proj']);
    expect(c.round.quorum).toBe(0.5);
    expect(c.scenario).toBe('local');
    expect(c.aggregator.options).toEqual({ momentum: 0.5 });
    expect(minimal.train.lr).toBe(0.001); // the input is not changed
  });

  it('--set refuses unknown keys by name, and malformed overrides', async () => {
    await expectCleanError(() => applyOverrides(minimal, ['train.learning_rate=1']), ["unknown key 'train.learning_rate'"]);
    await expectCleanError(() => applyOverrides(minimal, ['trian.lr=1']), ["unknown key 'trian'"]);
    await expectCleanError(() => applyOverrides(minimal, ['train.lr.x=1']), ["'train.lr' has no keys"]);
    await expectCleanError(() => parseOverride('train.lr'), ['expected key.path=value']);
    await expectCleanError(() => parseOverride('a b=1'), ['not a dotted key path']);
  });

  it('loads a YAML file with overrides, validating the result', async () => {
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'data: { task: code }\nrounds: 3\ntrain: { local_steps: 2, batch_size: 2, seq_len: 32, lr: 0.01 }\n');
    const c = await loadFlConfig(file, ['rounds=5', 'clients.sample_rate=0.34']);
    expect(c.rounds).toBe(5);
    expect(c.clients.sample_rate).toBe(0.34);
    await expect(loadFlConfig(file, ['rounds=0'])).rejects.toThrow(/rounds: /);
    await expect(loadFlConfig(file, ['clients.sample_rate=2'])).rejects.toThrow(/clients\.sample_rate/);
  });
});

describe('peft block', () => {
  it('defaults to LoRA; the example selects prefix tuning and --set changes the method', async () => {
    expect(parseFlConfig({ data: { task: 'arith' }, rounds: 1, train: { local_steps: 1, batch_size: 1, seq_len: 8, lr: 1 } }).peft).toEqual(
      {
        method: 'lora',
        num_virtual_tokens: 8,
        prompt_init: 'vocab',
        encoder_hidden_size: 64,
        prefix_projection: false,
      },
    );
    const c = await loadFlConfig('configs/examples/fl-arith-prefix.yaml');
    expect(c.peft).toMatchObject({ method: 'prefix', num_virtual_tokens: 8, prefix_projection: true, encoder_hidden_size: 128 });
    const p = await loadFlConfig('configs/examples/fl-arith-prefix.yaml', ['peft.method=ptuning', 'peft.num_virtual_tokens=16']);
    expect(p.peft).toMatchObject({ method: 'ptuning', num_virtual_tokens: 16 });
  });

  it('refuses an unknown method or a bad count, naming the key', async () => {
    await expect(loadFlConfig('configs/examples/fl-arith-prefix.yaml', ['peft.method=ia3'])).rejects.toThrow(/peft\.method/);
    await expect(loadFlConfig('configs/examples/fl-arith-prefix.yaml', ['peft.num_virtual_tokens=0'])).rejects.toThrow(
      /peft\.num_virtual_tokens/,
    );
    await expect(loadFlConfig('configs/examples/fl-arith-prefix.yaml', ['peft.virtual=3'])).rejects.toThrow(/unknown key 'peft\.virtual'/);
  });
});
