// The reproductions of bad model/adapter/data inputs, through the CLI: each ends with exit
// 2 and one line naming the file (and key, tensor or flag), no stack trace. The library tests
// (test/model, test/peft, test/data, test/fl) check the same errors in-process with time and
// memory bounds; this checks that they reach the user as one line.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { deepJson } from '../bounded.js';
import { expectUserError, fedhpo, type Run } from './run-cli.js';

const CONFIG = {
  vocab_size: 320,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
};

let dir: string;
let model: string;
let tokens: string;
const at = (...p: string[]) => join(dir, ...p);

/** A copy of the good model directory, edited. */
async function variant(name: string, edit: (d: string) => Promise<void>): Promise<string> {
  const d = at(name);
  await cp(model, d, { recursive: true });
  await edit(d);
  return d;
}

/**
 * Runs the CLI for each argument list, `lanes` at a time (the machine's two cores are shared: seven
 * CLIs at once on a busy machine can each pass the spawn timeout), results in input order.
 */
async function inLanes(lanes: number, runs: string[][]): Promise<Run[]> {
  const results: Run[] = new Array(runs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < runs.length) {
      const i = next++;
      results[i] = await fedhpo(...runs[i]!);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-cli-inputs-'));
  model = at('model');
  const cfg = parseLlamaConfig(CONFIG);
  await saveCheckpoint(model, cfg, initWeights(cfg, 0));
  await LoraAdapter.init(cfg, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }, 0).save(at('adapter'));
  tokens = at('tokens.json');
  await writeFile(tokens, '[[1, 5, 6, 7]]');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bad inputs end as one line, exit 2', () => {
  it('model init with vocab_size 2^40; model nll with num_hidden_layers 1e9, NaN weights, a FIFO, a deep tokens file, a null adapter config', async () => {
    await writeFile(at('big.json'), JSON.stringify({ ...CONFIG, vocab_size: 2 ** 40 }));
    const layers = await variant('layers', async (d) => {
      await writeFile(join(d, 'config.json'), JSON.stringify({ ...CONFIG, num_hidden_layers: 1_000_000_000 }));
    });
    const nan = await variant('nan', async (d) => {
      const { tensors } = readSafetensors(await readFile(join(d, 'model.safetensors')));
      tensors.get('model.layers.0.mlp.up_proj.weight')!.data[70] = Number.NaN;
      await writeFile(join(d, 'model.safetensors'), writeSafetensors(tensors));
    });
    const fifo = await variant('fifo', async (d) => {
      await rm(join(d, 'model.safetensors'));
      execFileSync('mkfifo', [join(d, 'model.safetensors')]);
    });
    await writeFile(at('deep.json'), `[[1, 2, 3], [1, ${deepJson(100_000)}]]`);
    await cp(at('adapter'), at('null-adapter'), { recursive: true });
    await writeFile(at('null-adapter', 'adapter_config.json'), 'null');
    await writeFile(at('data.jsonl'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `record ${i}` })).join('\n'));

    const nll = ['model', 'nll', '--threads', '1'];
    const [init, rLayers, rNan, rFifo, rDeep, rNull, rSeq] = await inLanes(2, [
      ['model', 'init', '--config', at('big.json'), '--out', at('never')],
      [...nll, '--model', layers, '--tokens', tokens],
      [...nll, '--model', nan, '--tokens', tokens],
      [...nll, '--model', fifo, '--tokens', tokens],
      [...nll, '--model', model, '--tokens', at('deep.json')],
      [...nll, '--model', model, '--tokens', tokens, '--adapter', at('null-adapter')],
      ['train', '--model', model, '--data', at('data.jsonl'), '--out', at('never2'), '--seq-len', '1000000000', '--threads', '1'],
    ]);
    expectUserError(init, `${at('big.json')}: 'vocab_size' is 1099511627776, over the limit`);
    expectUserError(rLayers, `${join(layers, 'config.json')}: 'num_hidden_layers' is 1000000000, over the limit of 1024`);
    expectUserError(rNan, `${join(nan, 'model.safetensors')}: tensor 'model.layers.0.mlp.up_proj.weight' holds NaN at index [2, 6]`);
    expectUserError(rFifo, `${join(fifo, 'model.safetensors')}: not a regular file`);
    expectUserError(rDeep, `${at('deep.json')}: entry 1, position 1: [[[[`);
    expectUserError(rNull, `${at('null-adapter', 'adapter_config.json')}: expected a JSON object, got null`);
    expectUserError(rSeq, "--seq-len 1000000000 is over the model's max_position_embeddings 128");
    for (const r of [init, rLayers, rNan, rFifo, rDeep, rNull, rSeq]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
