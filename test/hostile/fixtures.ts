// The malformed files of the bad-input suite, written once into a temp dir beside a few good ones
// (a tiny model, an adapter, token and data files, run/study/pretrain configs, a real study dir) and
// outputs that must survive: checkpoints that are truncated, mismatched or non-finite; JSON and YAML
// that is broken, deep, huge, aliased or keyed by prototype names; FIFOs, links to /dev/zero and
// directories where files belong.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataSplit } from '../../src/data/split-file.js';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { loadStudyConfig } from '../../src/hpo/study-config.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { deepJson } from '../bounded.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

export const CONFIG = {
  vocab_size: 320,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
};

/** A YAML document of `n` nested flow sequences. */
const deepYaml = (key: string, n: number): string => `${key}: ${'['.repeat(n)}1${']'.repeat(n)}\n`;

/** The "billion laughs": nine levels of aliases, each ten of the one before (10^9 leaves if expanded). */
function aliasBomb(key: string): string {
  const lines = ['a0: &a0 [lol]'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n${key}: *a9\n`;
}

const fifo = (path: string): void => void execFileSync('mkfifo', [path]);

/** Writes every fixture under `root`; `at(...)` names a path in it. */
export async function writeFixtures(root: string): Promise<void> {
  const at = (...p: string[]) => join(root, ...p);
  const write = (name: string, text: string) => writeFile(at(name), text);

  // A good model, adapter, tokens and data.
  const cfg = parseLlamaConfig(CONFIG);
  await saveCheckpoint(at('model'), cfg, initWeights(cfg, 0));
  await LoraAdapter.init(cfg, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }, 0).save(at('adapter'));
  await write('cfg.json', JSON.stringify(CONFIG));
  await write('tokens.json', '[[1, 5, 6, 7]]');
  await write(
    'data.jsonl',
    Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `record ${i}`, category: `c${i % 3}` })).join('\n'),
  );

  // Model configs (model init --config).
  await write('cfg-malformed.json', '{"vocab_size": 320, "hidden_size": ');
  await write('cfg-wrong-type.json', JSON.stringify({ ...CONFIG, hidden_size: '32' }));
  await write('cfg-huge.json', JSON.stringify({ ...CONFIG, vocab_size: 2 ** 40 }));
  await write('cfg-deep.json', `{"vocab_size": ${deepJson(100_000)}}`);
  await write('cfg-proto.json', '{"__proto__": {"vocab_size": 320}, "hidden_size": 32}');
  await write('cfg-array.json', '[1, 2, 3]');
  await write('cfg-rope-yarn.json', JSON.stringify({ ...CONFIG, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
  await write('cfg-mistral.json', JSON.stringify({ ...CONFIG, model_type: 'mistral' }));

  // Model directories, each a copy of the good one with one defect.
  const variant = async (name: string, edit: (d: string) => Promise<void>) => {
    await cp(at('model'), at(name), { recursive: true });
    await edit(at(name));
  };
  const editTensors = (d: string, fn: (t: Map<string, { data: Float32Array; shape: number[] }>) => void) =>
    readFile(join(d, 'model.safetensors')).then(async (buf) => {
      const { tensors } = readSafetensors(buf);
      fn(tensors as unknown as Map<string, { data: Float32Array; shape: number[] }>);
      await writeFile(join(d, 'model.safetensors'), writeSafetensors(tensors));
    });
  const st = (d: string) => join(d, 'model.safetensors');
  await variant('model-truncated', async (d) => truncate(st(d), 3000));
  await variant('model-header-cut', async (d) => truncate(st(d), 20));
  await variant('model-header-huge', async (d) => {
    const buf = await readFile(st(d));
    buf.writeBigUInt64LE(2n ** 60n, 0);
    await writeFile(st(d), buf);
  });
  await variant('model-mismatch', async (d) => writeFile(join(d, 'config.json'), JSON.stringify({ ...CONFIG, hidden_size: 64 })));
  await variant('model-nan', async (d) =>
    editTensors(d, (t) => void (t.get('model.layers.1.self_attn.k_proj.weight')!.data[3] = Number.NaN)),
  );
  await variant('model-inf', async (d) => editTensors(d, (t) => void (t.get('model.norm.weight')!.data[0] = Number.POSITIVE_INFINITY)));
  await variant('model-fifo', async (d) => {
    await rm(st(d));
    fifo(st(d));
  });
  await variant('model-zero', async (d) => {
    await rm(st(d));
    await symlink('/dev/zero', st(d));
  });
  await variant('model-dir', async (d) => {
    await rm(st(d));
    await mkdir(st(d));
  });
  await variant('model-config-zero', async (d) => {
    await rm(join(d, 'config.json'));
    await symlink('/dev/zero', join(d, 'config.json'));
  });
  await variant('model-config-deep', async (d) => writeFile(join(d, 'config.json'), `{"hidden_size": ${deepJson(100_000)}}`));
  await variant('model-config-layers', async (d) =>
    writeFile(join(d, 'config.json'), JSON.stringify({ ...CONFIG, num_hidden_layers: 1_000_000_000 })),
  );
  await variant('model-config-sliding', async (d) =>
    writeFile(
      join(d, 'config.json'),
      JSON.stringify({ ...CONFIG, model_type: 'qwen2', use_sliding_window: true, sliding_window: 64, max_window_layers: 1 }),
    ),
  );

  // Adapters.
  const adapterVariant = async (name: string, config: string) => {
    await cp(at('adapter'), at(name), { recursive: true });
    await writeFile(join(at(name), 'adapter_config.json'), config);
  };
  await adapterVariant('adapter-malformed', '{"peft_type": "LORA", "r": ');
  await adapterVariant('adapter-huge-r', JSON.stringify({ peft_type: 'LORA', r: 1e9, lora_alpha: 4, target_modules: ['q_proj'] }));
  await adapterVariant('adapter-wrong-target', JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['toString'] }));
  await cp(at('adapter'), at('adapter-truncated'), { recursive: true });
  await truncate(at('adapter-truncated', 'adapter_model.safetensors'), 40);

  // Token files.
  await write('tokens-malformed.json', '[[1, 5, 6');
  await write('tokens-deep.json', `[[1, 2, 3], [1, ${deepJson(100_000)}]]`);
  await write('tokens-huge.json', '[[1, 1e308, 5]]');
  await write('tokens-proto.json', '{"__proto__": [[1, 2, 3]]}');
  fifo(at('tokens-fifo.json'));
  await symlink('/dev/zero', at('tokens-zero.json'));
  await mkdir(at('tokens-dir.json'));

  // Data files.
  await write('data-malformed.json', '[{"text": "a"}, {"text": ');
  await write('data-deep.jsonl', `${Array.from({ length: 3 }, () => `{"text": ${deepJson(50_000, '"x"')}}`).join('\n')}\n`);
  await write(
    'data-no-answer.jsonl',
    `${Array.from({ length: 5 }, (_, i) => JSON.stringify({ question: `q${i}`, category: 'c' })).join('\n')}\n`,
  );
  await write('data-proto.jsonl', `${Array.from({ length: 5 }, () => '{"__proto__": {"text": "x"}}').join('\n')}\n`);
  fifo(at('data-fifo.jsonl'));
  await symlink('/dev/zero', at('data-zero.jsonl'));
  await mkdir(at('data-dir.jsonl'));

  // Federated run configs (fl run --config) and their bad variants, over a copy of the model with room
  // for the task's prompts (RoPE has no learned positions, so only config.json changes).
  await variant('model-long', async (d) => writeFile(join(d, 'config.json'), JSON.stringify({ ...CONFIG, max_position_embeddings: 1024 })));
  const fl = (extra = '') =>
    `model: ${at('model-long')}\ndata: { task: arith }\nrounds: 1\nthreads: 1\n` +
    `train: { local_steps: 1, batch_size: 2, seq_len: 1024, lr: 0.001 }\neval: { test_limit: 2, valid_limit: 2 }\n${extra}`;
  await write('fl.yaml', fl());
  await write('fl-malformed.yaml', `${fl()}train: [unclosed\n`);
  await write('fl-unknown.yaml', fl('learning_rate: 3\n'));
  await write('fl-wrong-type.yaml', fl().replace('rounds: 1', 'rounds: six'));
  await write('fl-huge.yaml', fl().replace('rounds: 1', 'rounds: 1e300'));
  await write('fl-deep.yaml', deepYaml('rounds', 50_000));
  await write('fl-alias.yaml', aliasBomb('rounds'));
  await write('fl-proto.yaml', fl('__proto__: { rounds: 2 }\n'));
  await write('fl-task-proto.yaml', fl().replace('task: arith', 'task: constructor'));
  fifo(at('fl-fifo.yaml'));
  await symlink('/dev/zero', at('fl-zero.yaml'));

  // Pretraining recipes.
  const pretrain = (extra = '') =>
    `seed: 0\nout: ${at('pretrained')}\ncorpus: { chars: 2000 }\ntokenizer: { vocab_size: 300 }\n` +
    'model: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 }\n' +
    `train: { steps: 1, batch_size: 2, seq_len: 16, lr: 0.001 }\n${extra}`;
  await write('pretrain-unknown.yaml', pretrain('epochs: 3\n'));
  await write('pretrain-huge.yaml', pretrain().replace('chars: 2000', 'chars: 1e15'));
  await write('pretrain-wrong-type.yaml', pretrain().replace('steps: 1,', 'steps: [1],'));
  await write('pretrain-alias.yaml', aliasBomb('seed'));
  await write('pretrain-out-file.yaml', pretrain().replace(`out: ${at('pretrained')}`, `out: ${at('out-file')}`));

  // Study configs.
  const study = (extra = '') =>
    'name: hostile\nseed: 0\nspace:\n  train.lr: { type: float, low: 1.0e-4, high: 1.0e-2, log: true }\n' +
    `objectives: [{ name: val_loss, direction: minimize }]\nfidelity: { rounds: 2 }\nbudget: { trials: 2 }\n` +
    `strategy: random\ntrial: { kind: synthetic }\n${extra}`;
  await write('study.yaml', study());
  await write('study-malformed.yaml', `${study()}space: {\n`);
  await write('study-unknown.yaml', study('trails: 3\n'));
  await write('study-wrong-type.yaml', study().replace('budget: { trials: 2 }', 'budget: { trials: two }'));
  await write('study-huge.yaml', study().replace('low: 1.0e-4, high: 1.0e-2', 'low: 1.0e-4, high: 1.0e+400'));
  await write('study-proto.yaml', study().replace('train.lr:', '__proto__:'));
  await write('study-alias.yaml', aliasBomb('space'));
  await write('study-deep.yaml', deepYaml('budget', 50_000));

  // Study directories (a real one is made by the suite with `study run`).
  await mkdir(at('study-empty'));
  await mkdir(at('study-garbage'));
  await write('study-garbage/journal.jsonl', 'not json at all\n{"kind": \n');
  await mkdir(at('study-zero'));
  await symlink('/dev/zero', at('study-zero', 'journal.jsonl'));
  await mkdir(at('study-fifo'));
  fifo(at('study-fifo', 'journal.jsonl'));
  await mkdir(at('study-deep'));
  await write('study-deep/journal.jsonl', `{"kind": "study.started", "config": ${deepJson(100_000)}}\n`);
  await mkdir(at('study-dir-journal'));
  await mkdir(at('study-dir-journal', 'journal.jsonl'));

  // Users' files as federated clients (data: {clients, valid, test}) and eval --data: a real split
  // directory (data split) and copies whose split.json is missing, garbled, or disagrees with the files.
  const gsm = (n: number, from = 0) =>
    `${Array.from({ length: n }, (_, i) => JSON.stringify({ question: `q${from + i}`, answer: `a #### ${from + i}` })).join('\n')}\n`;
  await write('gsm.jsonl', gsm(12));
  await write('gsm-test.jsonl', gsm(4, 100));
  await dataSplit({ input: at('data.jsonl'), splitter: 'iid', clients: 2, seed: 0, out: at('split') });
  const splitVariant = async (name: string, edit: (d: string) => Promise<void>) => {
    await cp(at('split'), at(name), { recursive: true });
    await edit(at(name));
  };
  await splitVariant('split-no-json', (d) => rm(join(d, 'split.json')));
  await splitVariant('split-garbled', (d) => writeFile(join(d, 'split.json'), '{"splitter": "iid", "clients": ['));
  await splitVariant('split-wrong-type', async (d) => {
    const j = JSON.parse(await readFile(join(d, 'split.json'), 'utf8'));
    j.clients[0].size = 'many';
    await writeFile(join(d, 'split.json'), JSON.stringify(j));
  });
  await splitVariant('split-size', async (d) => {
    const j = JSON.parse(await readFile(join(d, 'split.json'), 'utf8'));
    j.clients[0].size += 3;
    await writeFile(join(d, 'split.json'), JSON.stringify(j));
  });
  await splitVariant('split-missing-file', async (d) => {
    const j = JSON.parse(await readFile(join(d, 'split.json'), 'utf8'));
    await rm(join(d, j.clients[1].file));
  });
  await splitVariant('split-escape', async (d) => {
    const j = JSON.parse(await readFile(join(d, 'split.json'), 'utf8'));
    j.clients[0].file = '../data-zero.jsonl';
    await writeFile(join(d, 'split.json'), JSON.stringify(j));
  });
  await splitVariant('split-json-zero', async (d) => {
    await rm(join(d, 'split.json'));
    await symlink('/dev/zero', join(d, 'split.json'));
  });
  await splitVariant('split-json-fifo', async (d) => {
    await rm(join(d, 'split.json'));
    fifo(join(d, 'split.json'));
  });
  const flFiles = (data: string) => `${fl().replace('data: { task: arith }', `data: ${data}`)}`;
  await write('fl-files.yaml', flFiles(`{ clients: ${at('split')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-no-split.yaml', flFiles(`{ clients: ${at('split-no-json')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-garbled.yaml', flFiles(`{ clients: ${at('split-garbled')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-wrong-type.yaml', flFiles(`{ clients: ${at('split-wrong-type')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-size.yaml', flFiles(`{ clients: ${at('split-size')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-missing.yaml', flFiles(`{ clients: ${at('split-missing-file')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-split-zero.yaml', flFiles(`{ clients: ${at('split-json-zero')}, test: ${at('data.jsonl')} }`));
  await write('fl-files-split-fifo.yaml', flFiles(`{ clients: ${at('split-json-fifo')}, test: ${at('data.jsonl')} }`));
  await write(
    'fl-files-list-fifo.yaml',
    flFiles(`{ clients: [${at('data.jsonl')}, ${at('data-fifo.jsonl')}], test: ${at('data.jsonl')} }`),
  );
  await write('fl-files-list-dir.yaml', flFiles(`{ clients: [${at('data.jsonl')}, ${at('data-dir.jsonl')}], test: ${at('data.jsonl')} }`));
  await write('fl-files-file-as-dir.yaml', flFiles(`{ clients: ${at('data.jsonl')}, test: ${at('data.jsonl')} }`));
  await write(
    'fl-files-valid-zero.yaml',
    flFiles(`{ clients: ${at('split')}, valid: ${at('data-zero.jsonl')}, test: ${at('data.jsonl')} }`),
  );
  await write('fl-files-test-dir.yaml', flFiles(`{ clients: ${at('split')}, test: ${at('data-dir.jsonl')} }`));
  await write('fl-files-test-format.yaml', flFiles(`{ clients: ${at('split')}, test: ${at('gsm-test.jsonl')} }`));
  await write('fl-files-no-test.yaml', flFiles(`{ clients: ${at('split')} }`));
  await write('fl-files-clients-type.yaml', flFiles(`{ clients: 7, test: ${at('data.jsonl')} }`));
  await write('fl-files-metric.yaml', flFiles(`{ clients: ${at('split')}, test: ${at('data.jsonl')}, metric: pass@1 }`));
  await write('fl-files-and-task.yaml', flFiles(`{ task: arith, clients: ${at('split')}, test: ${at('data.jsonl')} }`));

  await write('fl-files-escape.yaml', flFiles(`{ clients: ${at('split-escape')}, test: ${at('data.jsonl')} }`));
  // A study whose federated trials read the users' files (its trial is an FL config).
  const filesStudy = (split: string) =>
    `${study().replace('trial: { kind: synthetic }', '')}trial:\n  kind: federated\n` +
    fl()
      .replace('data: { task: arith }', `data: { clients: ${at(split)}, test: ${at('data.jsonl')} }`)
      .replace('rounds: 1\n', '')
      .split('\n')
      .filter((l) => l)
      .map((l) => `  ${l}`)
      .join('\n');
  await write('study-files.yaml', `${filesStudy('split')}\n`);
  await write('study-files-size.yaml', `${filesStudy('split-size')}\n`);
  await write('study-files-garbled.yaml', `${filesStudy('split-garbled')}\n`);
  await mkdir(at('out-clients'));
  await write('out-clients/c1.valid.jsonl', '{"text": "the user\'s own validation records"}\n');
  fifo(at('plot-fifo.svg'));

  // Tabular bench: a grid study config, a real table recorded from it (synthetic trials), and damaged copies.
  const benchStudy = (extra = '') =>
    'name: hostile-bench\nseed: 0\nspace:\n  train.lr: { type: float, low: 0.001, high: 0.01, grid: [0.001, 0.01] }\n  lora.r: { type: categorical, choices: [4, 8] }\n' +
    `objectives: [{ name: val_loss, direction: minimize }]\nfidelity: { min_rounds: 1, max_rounds: 2 }\nbudget: { trials: 4 }\n` +
    `strategy: grid\ntrial: { kind: synthetic }\n${extra}`;
  await write('bench.yaml', benchStudy());
  await write('bench-continuous.yaml', study());
  await write('bench-unknown.yaml', benchStudy('tabel: x\n'));
  await recordBenchTable({
    runnerFor: trialRunnerFor,
    config: await loadStudyConfig(at('bench.yaml'), []),
    file: at('table.jsonl'),
    command: ['fedhpo', 'hostile'],
  });
  const table = await readFile(at('table.jsonl'), 'utf8');
  const [header, ...rows] = table.trimEnd().split('\n');
  await write('table-garbled.jsonl', `${header}\n${rows[0]}\n{"index": 1, "config": \n${rows.slice(1).join('\n')}\n`);
  await write('table-header-cut.jsonl', header!.slice(0, 60));
  await write('table-not-jsonl.jsonl', 'config,round,val_loss\n0.001,1,2.5\n');
  const other = JSON.parse(header!);
  other.space = { ...other.space, 'train.lr': { type: 'float', low: 0.5, high: 0.9, grid: [0.5, 0.9] } };
  await write('table-other-space.jsonl', `${JSON.stringify(other)}\n${rows.join('\n')}\n`);
  const reseeded = { ...JSON.parse(header!), seed: 7 };
  await write('table-other-recipe.jsonl', `${JSON.stringify(reseeded)}\n${rows.join('\n')}\n`);
  await write('table-wrong-format.jsonl', `${JSON.stringify({ ...JSON.parse(header!), format: 'fedhpo.journal' })}\n${rows.join('\n')}\n`);
  await write('table-row-nan.jsonl', `${header}\n${rows[0]!.replace(/"val_loss":[^,}]+/, '"val_loss":"NaN"')}\n`);
  await write('out-no-newline', 'notes of the user, one line without its newline');

  // Outputs that exist before the command runs and must survive it.
  await write('out-file', 'an existing file the command must not touch\n');
  await mkdir(at('out-dir'));
  await write('out-dir/keep.txt', 'an earlier output\n');
  await mkdir(at('out-foreign'));
  await write('out-foreign/client_0.jsonl', 'a file of the user that only looks like a split\n');
}
