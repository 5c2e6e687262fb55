// One base class of user-facing errors: every library error class a user's input can reach is a
// UserError, which the CLI prints as one line `fedhpo: <message>` (exit 2); anything else is a bug
// and keeps its stack. End to end: a bad value in an adapter's config reaches validateLoraConfig
// inside the library and still comes out as one line.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, UsageError } from '../../src/cli/util.js';
import { TokenizerFormatError } from '../../src/data/bpe/index.js';
import { DataError } from '../../src/data/records.js';
import { SplitError } from '../../src/data/splitters.js';
import { UserError } from '../../src/engine/errors.js';
import { TrainerError } from '../../src/fl/local-trainer.js';
import { ConfigFileError } from '../../src/fl/pretrain-config.js';
import { ConfigError } from '../../src/model/config.js';
import { CheckpointError } from '../../src/model/safetensors.js';
import { LoraConfigError } from '../../src/peft/lora.js';
import { fedhpo } from './run-cli.js';

describe('user-facing error classes', () => {
  const made: [string, Error][] = [
    ['UsageError', new UsageError('--x: bad')],
    ['ConfigError', new ConfigError('config.json: bad')],
    ['CheckpointError', new CheckpointError('model.safetensors: bad')],
    ['DataError', new DataError('data.jsonl: bad')],
    ['SplitError', new SplitError('split: bad')],
    ['ConfigFileError', new ConfigFileError('recipe.yaml: bad')],
    ['TokenizerFormatError', new TokenizerFormatError('tokenizer.json', 'bad')],
    ['TrainerError', new TrainerError('trainer: bad')],
    ['LoraConfigError', new LoraConfigError('adapter_config.json: bad')],
  ];

  it.each(made)('%s is a UserError, printed as one line without a stack', (_name, err) => {
    expect(err).toBeInstanceOf(UserError);
    expect(failureMessage(err)).toBe(`fedhpo: ${err.message}`);
    expect(failureMessage(err)).not.toContain('\n');
  });

  it('any other error is a bug and keeps its stack', () => {
    const bug = new TypeError('x is undefined');
    expect(failureMessage(bug)).toMatch(/^fedhpo: TypeError: x is undefined\n\s+at /);
  });
});

describe('the CLI on a bad value that only the library checks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-errors-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a negative lora_alpha in adapter_config.json: exit 2, one line naming the file and the value', async () => {
    const cfgFile = join(dir, 'config.json');
    const model = join(dir, 'model');
    const adapter = join(dir, 'adapter');
    const tokens = join(dir, 'tokens.json');
    await writeFile(
      cfgFile,
      JSON.stringify({ vocab_size: 260, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 }),
    );
    await mkdir(adapter);
    await writeFile(
      join(adapter, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: -2, target_modules: ['q_proj'] }),
    );
    await writeFile(tokens, JSON.stringify([[1, 2, 3]]));
    const init = await fedhpo('model', 'init', '--config', cfgFile, '--out', model);
    expect(init.code, init.stderr).toBe(0);

    const r = await fedhpo('model', 'nll', '--model', model, '--adapter', adapter, '--tokens', tokens);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`fedhpo: ${join(adapter, 'adapter_config.json')}: 'lora_alpha' must be a finite number > 0, got -2\n`);
  });
});
