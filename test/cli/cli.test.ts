// End-to-end tests of the `fedhpo` command line, run from source (node --import tsx), so no build
// is needed. Each spawn costs about a second (mostly loading onnxruntime), so fixtures are made once
// in beforeAll and independent error cases run concurrently.
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUserError, fedhpo, type Run } from './run-cli.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

const CONFIG = {
  vocab_size: 320, // the byte tokenizer needs 259 ids
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
};
const SEQS = [
  [1, 2, 3, 4, 5],
  [10, 20, 30],
  [300, 7, 319, 0, 42, 99, 100, 101],
  [5, 6],
];
const N_PREDICTED = SEQS.reduce((n, s) => n + s.length - 1, 0);

let dir: string;
let cfgFile: string;
let tokFile: string;
let dataFile: string;
let model: string; // seed 0
let modelSame: string; // seed 0 again
let modelOther: string; // seed 1
let badLines: { json: number; emptyOutput: number };

/** ~60 records: text and instruction records, plus a broken JSON line and an empty output. */
function corpus(): { text: string; badJson: number; emptyOutput: number } {
  const phrases = [
    'the cat sat on the mat',
    'a dog ran to the park',
    'birds sing in the morning',
    'the sun is warm today',
    'we read a book at night',
  ];
  const lines: string[] = [];
  let badJson = 0;
  let emptyOutput = 0;
  for (let i = 0; i < 60; i++) {
    const p = phrases[i % phrases.length]!;
    if (i % 3 === 0) lines.push(JSON.stringify({ instruction: `Repeat: ${p}`, output: p }));
    else lines.push(JSON.stringify({ text: `${p} and ${phrases[(i + 2) % phrases.length]}` }));
    if (i === 7) {
      lines.push('{"text": "unterminated');
      badJson = lines.length;
    }
    if (i === 20) {
      lines.push(JSON.stringify({ instruction: 'say hi', output: '' }));
      emptyOutput = lines.length;
    }
  }
  return { text: `${lines.join('\n')}\n`, badJson, emptyOutput };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-cli-test-'));
  cfgFile = join(dir, 'config.json');
  tokFile = join(dir, 'tokens.json');
  dataFile = join(dir, 'train.jsonl');
  model = join(dir, 'model-s0');
  modelSame = join(dir, 'model-s0-again');
  modelOther = join(dir, 'model-s1');
  const c = corpus();
  badLines = { json: c.badJson, emptyOutput: c.emptyOutput };
  await Promise.all([writeFile(cfgFile, JSON.stringify(CONFIG)), writeFile(tokFile, JSON.stringify(SEQS)), writeFile(dataFile, c.text)]);
  const inits = await Promise.all([
    fedhpo('model', 'init', '--config', cfgFile, '--out', model),
    fedhpo('model', 'init', '--config', cfgFile, '--out', modelSame, '--seed', '0'),
    fedhpo('model', 'init', '--config', cfgFile, '--out', modelOther, '--seed', '1'),
  ]);
  for (const r of inits) expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fedhpo model', () => {
  it('init writes config.json and model.safetensors', async () => {
    expect(await exists(join(model, 'config.json'))).toBe(true);
    expect(await exists(join(model, 'model.safetensors'))).toBe(true);
    const cfg = JSON.parse(await readFile(join(model, 'config.json'), 'utf8'));
    for (const [k, v] of Object.entries(CONFIG)) expect(cfg[k], k).toBe(v);
  });

  it('init with the same seed is byte-identical; another seed is not', async () => {
    const [a, b, c] = await Promise.all([model, modelSame, modelOther].map((d) => readFile(join(d, 'model.safetensors'))));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
    expect(await readFile(join(model, 'config.json'), 'utf8')).toBe(await readFile(join(modelSame, 'config.json'), 'utf8'));
  });

  it('nll --json prints {"nll", "tokens"}, deterministically, and bit-identically after copying the checkpoint', async () => {
    const copy = join(dir, 'model-copy');
    await mkdir(copy);
    await cp(model, copy, { recursive: true });
    const [r1, r2, r3, other] = await Promise.all([
      fedhpo('model', 'nll', '--model', model, '--tokens', tokFile, '--json'),
      fedhpo('model', 'nll', '--model', model, '--tokens', tokFile, '--json'),
      fedhpo('model', 'nll', '--model', copy, '--tokens', tokFile, '--json'),
      fedhpo('model', 'nll', '--model', modelOther, '--tokens', tokFile, '--json'),
    ]);
    for (const r of [r1, r2, r3, other]) expect(r!.code, r!.stderr).toBe(0);
    const out = JSON.parse(r1!.stdout);
    expect(Object.keys(out).sort()).toEqual(['nll', 'tokens']);
    expect(out.tokens).toBe(N_PREDICTED);
    expect(typeof out.nll).toBe('number');
    expect(Number.isFinite(out.nll)).toBe(true);
    // A random model over 320 ids sits near ln(320) ~ 5.77.
    expect(out.nll).toBeGreaterThan(4);
    expect(out.nll).toBeLessThan(8);
    expect(r1!.stdout.trim()).toMatch(/^\{"nll":[-0-9.e+]+,"tokens":\d+\}$/);
    expect(r2!.stdout).toBe(r1!.stdout);
    expect(r3!.stdout).toBe(r1!.stdout);
    expect(other!.stdout).not.toBe(r1!.stdout);
    expect(JSON.parse(other!.stdout).tokens).toBe(N_PREDICTED);
  });
});

describe('fedhpo train', () => {
  let out: string;
  let base: Run;
  let train: Run;

  beforeAll(async () => {
    out = join(dir, 'adapter');
    [train, base] = await Promise.all([
      fedhpo(
        'train',
        '--model',
        model,
        '--data',
        dataFile,
        '--out',
        out,
        '--steps',
        '30',
        '--json',
        '--lora-targets',
        'q_proj,v_proj,o_proj,gate_proj,up_proj,down_proj',
        '--lr',
        '5e-3',
        '--seq-len',
        '48',
        '--batch-size',
        '8',
        '--lora-r',
        '8',
        '--lora-alpha',
        '16',
      ),
      fedhpo('model', 'nll', '--model', model, '--tokens', tokFile, '--json'),
    ]);
  });

  it('completes, skips the two bad records and lowers the validation loss', () => {
    expect(train.code, train.stderr).toBe(0);
    const s = JSON.parse(train.stdout);
    expect(s.status).toBe('completed');
    expect(s.steps).toBe(30);
    expect(s.skippedRecords).toBe(2);
    expect(s.trainExamples + s.validExamples).toBe(60);
    expect(s.validExamples).toBeGreaterThan(0);
    expect(Number.isFinite(s.validLossBefore)).toBe(true);
    expect(s.validLossAfter).toBeLessThan(s.validLossBefore);
    expect(s.adapterDir).toBe(out);
  });

  it('names the skipped lines as file:line on stderr', () => {
    expect(train.stderr).toContain(`${dataFile}:${badLines.json}:`);
    expect(train.stderr).toContain(`${dataFile}:${badLines.emptyOutput}:`);
    expect(train.stderr).toMatch(/invalid JSON/);
    expect(train.stderr).toContain("'output' is empty");
    expect(train.stderr).not.toMatch(/^\s+at /m);
  });

  it('writes a PEFT adapter and a training log', async () => {
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('LORA');
    expect(cfg.r).toBe(8);
    expect([...cfg.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    expect(await exists(join(out, 'adapter_model.safetensors'))).toBe(true);
    const log = JSON.parse(await readFile(join(out, 'train_log.json'), 'utf8'));
    expect(log.summary.status).toBe('completed');
    expect(log.history).toHaveLength(30);
  });

  it('model nll --adapter loads the adapter and changes the nll', async () => {
    const r = await fedhpo('model', 'nll', '--model', model, '--adapter', out, '--tokens', tokFile, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(base.code, base.stderr).toBe(0);
    const a = JSON.parse(r.stdout);
    const b = JSON.parse(base.stdout);
    expect(a.tokens).toBe(N_PREDICTED);
    expect(Number.isFinite(a.nll)).toBe(true);
    expect(a.nll).not.toBe(b.nll);
  });
});

describe('fedhpo train --peft-method', () => {
  it.each([
    ['prompt', 'PROMPT_TUNING'],
    ['prefix', 'PREFIX_TUNING'],
  ])('%s: trains, writes the PEFT layout, and model nll loads it', async (method, peftType) => {
    const out = join(dir, `adapter-${method}`);
    const train = await fedhpo(
      'train',
      ...['--model', model, '--data', dataFile, '--out', out, '--steps', '10', '--json', '--seq-len', '48', '--batch-size', '8'],
      ...['--peft-method', method, '--num-virtual-tokens', '4', '--lr', '3e-2'],
    );
    expect(train.code, train.stderr).toBe(0);
    const s = JSON.parse(train.stdout);
    expect(s.status).toBe('completed');
    expect(s.validLossAfter).toBeLessThan(s.validLossBefore);
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: peftType, num_virtual_tokens: 4 });
    const r = await fedhpo('model', 'nll', '--model', model, '--adapter', out, '--tokens', tokFile, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokens).toBe(N_PREDICTED);
  });

  it('refuses virtual tokens that push --seq-len past max_position_embeddings, naming both', async () => {
    const r = await fedhpo(
      'train',
      ...['--model', model, '--data', dataFile, '--out', join(dir, 'adapter-long'), '--seq-len', String(CONFIG.max_position_embeddings)],
      ...['--peft-method', 'prompt', '--num-virtual-tokens', '4'],
    );
    expectUserError(r, '--num-virtual-tokens 4', 'max_position_embeddings');
  });
});

describe.concurrent('errors: exit 2, a message naming the problem, no stack trace', () => {
  it('missing --tokens file', async () => {
    const missing = join(dir, 'no-such-tokens.json');
    expectUserError(await fedhpo('model', 'nll', '--model', model, '--tokens', missing), missing, 'cannot read');
  });

  it('token id out of range names the entry and position', async () => {
    const f = join(dir, 'bad-tokens.json');
    await writeFile(
      f,
      JSON.stringify([
        [1, 2, 3],
        [4, 5, 320],
      ]),
    );
    expectUserError(await fedhpo('model', 'nll', '--model', model, '--tokens', f), f, 'entry 1, position 2', '320');
  });

  it('a token file with nothing to predict', async () => {
    const f = join(dir, 'short-tokens.json');
    await writeFile(f, JSON.stringify([[5], []]));
    expectUserError(await fedhpo('model', 'nll', '--model', model, '--tokens', f), f);
  });

  it('a config with a bad key names the key', async () => {
    const f = join(dir, 'bad-config.json');
    const outDir = join(dir, 'never-written');
    await writeFile(f, JSON.stringify({ ...CONFIG, num_attention_heads: 3 }));
    expectUserError(await fedhpo('model', 'init', '--config', f, '--out', outDir), f, 'num_attention_heads');
    expect(await exists(outDir)).toBe(false);
  });

  it('--lora-targets foo', async () => {
    const r = await fedhpo('train', '--model', model, '--data', dataFile, '--out', join(dir, 'adapter-foo'), '--lora-targets', 'foo');
    expectUserError(r, '--lora-targets', "'foo'", 'q_proj');
  });

  it('a non-positive --steps names the flag', async () => {
    const r = await fedhpo('train', '--model', model, '--data', dataFile, '--out', join(dir, 'adapter-steps'), '--steps', '0');
    expectUserError(r, '--steps');
  });

  it('unknown command', async () => {
    expectUserError(await fedhpo('frobnicate'), 'Unknown argument: frobnicate');
  });

  it('a model dir without model.safetensors', async () => {
    const d = join(dir, 'no-weights');
    await mkdir(d);
    await cp(join(model, 'config.json'), join(d, 'config.json'));
    expectUserError(await fedhpo('model', 'nll', '--model', d, '--tokens', tokFile), join(d, 'model.safetensors'));
  });

  it('a data file with no valid records', async () => {
    const f = join(dir, 'bad.jsonl');
    await writeFile(f, 'not json\n{"foo": 1}\n{"instruction": "x", "output": ""}\n');
    // (--seq-len: the default 192 is over this model's max_position_embeddings 128, refused before the data is read.)
    const r = await fedhpo('train', '--model', model, '--data', f, '--out', join(dir, 'adapter-bad'), '--steps', '1', '--seq-len', '64');
    expectUserError(r, f, 'no valid training records');
    expect(await exists(join(dir, 'adapter-bad', 'adapter_model.safetensors'))).toBe(false);
  });
});

/** Option lines of yargs help: name -> the text between the name and the [type] annotations. */
function helpOptions(help: string): Map<string, string> {
  const opts = new Map<string, string>();
  for (const m of help.matchAll(/^ {2}--([\w-]+)(.*)$/gm)) opts.set(m[1]!, m[2]!.replace(/\s*\[.*$/, '').trim());
  return opts;
}

describe.concurrent('--help', () => {
  it('root lists the commands and options with descriptions', async () => {
    const r = await fedhpo('--help');
    expect(r.code, r.stderr).toBe(0);
    for (const cmd of ['model', 'train', 'demo']) expect(r.stdout).toMatch(new RegExp(`^ {2}fedhpo ${cmd} +\\S`, 'm'));
    const opts = helpOptions(r.stdout);
    expect([...opts.keys()].sort()).toEqual(['help', 'version']);
    for (const [name, desc] of opts) expect(desc, `--${name}`).not.toBe('');
  });

  it('train lists every option with a description', async () => {
    const r = await fedhpo('train', '--help');
    expect(r.code, r.stderr).toBe(0);
    const opts = helpOptions(r.stdout);
    const expected = [
      'model',
      'data',
      'valid',
      'out',
      'lora-r',
      'lora-alpha',
      'lora-dropout',
      'lora-targets',
      'steps',
      'batch-size',
      'seq-len',
      'grad-accum',
      'lr',
      'optimizer',
      'weight-decay',
      'momentum',
      'schedule',
      'warmup',
      'clip-norm',
      'eval-every',
      'seed',
      'threads',
      'json',
    ];
    for (const name of expected) expect(opts.has(name), `--${name} listed`).toBe(true);
    for (const [name, desc] of opts) expect(desc, `--${name} has a description`).not.toBe('');
  });
});
