// End-to-end tests of `fedhpo data`, `fedhpo eval` and `fedhpo train --task`, run from source
// (node --import tsx). Two tiny models are made once: one by `model init` (byte tokenizer, vocab 320)
// and one written here with a BPE tokenizer trained on the arith task, so arith prompts fit in a
// 64-token window and `train --seq-len 64` has answer tokens to learn.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUserError, fedhpo, fedhpoWithin, type Run } from './run-cli.js';
import { trainBpe } from '../../src/data/bpe/index.js';
import { formatInstruction, parseExamples } from '../../src/data/records.js';
import { loadTask } from '../../src/data/tasks/index.js';
import { saveTokenizer } from '../../src/data/tokenizer-io.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';

function expectOk(r: Run): void {
  expect(r.code, r.stderr).toBe(0);
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

let dir: string;
let byteModel: string;
let bpeModel: string;
let exportFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-data-eval-'));
  byteModel = join(dir, 'byte-model');
  bpeModel = join(dir, 'bpe-model');
  exportFile = join(dir, 'export', 'arith-validation.jsonl');
  const cfgFile = join(dir, 'config.json');
  const small = { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 512 };
  await writeFile(cfgFile, JSON.stringify({ vocab_size: 320, ...small }));

  const arith = loadTask('arith').train;
  const tok = trainBpe(
    arith.slice(0, 300).flatMap((r) => [formatInstruction(r.instruction, r.input), r.output]),
    { vocabSize: 600 },
  );
  const cfg = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    ...small,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
  });
  await saveCheckpoint(bpeModel, cfg, initWeights(cfg, 0));
  await saveTokenizer(tok, join(bpeModel, 'tokenizer.json'));

  const [init, exp] = await Promise.all([
    fedhpo('model', 'init', '--config', cfgFile, '--out', byteModel, '--seed', '1'),
    fedhpo('data', 'export', 'arith', '--split', 'validation', '--out', exportFile),
  ]);
  expectOk(init);
  expectOk(exp);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fedhpo data', () => {
  it('list --json lists every built-in task with its sizes', async () => {
    const r = await fedhpo('data', 'list', '--json');
    expectOk(r);
    const rows = JSON.parse(r.stdout) as {
      name: string;
      clients: number;
      splitter: string;
      train: number;
      validation: number;
      test: number;
      score: string;
    }[];
    expect(rows.map((x) => x.name)).toEqual(['arith', 'code', 'instruct']);
    for (const x of rows) {
      const d = loadTask(x.name);
      expect([x.train, x.validation, x.test]).toEqual([d.train.length, d.validation.length, d.test.length]);
      expect(x.train).toBeGreaterThan(x.validation);
      expect(x.clients).toBeGreaterThan(1);
    }
    expect(rows.find((x) => x.name === 'arith')).toMatchObject({ validation: 200, score: 'accuracy', splitter: 'iid' });
    expect(rows.find((x) => x.name === 'code')).toMatchObject({ clients: 9, score: 'pass@1', splitter: 'meta' });
  });

  it('inspect code prints 9 clients, one per category', async () => {
    const r = await fedhpo('data', 'inspect', 'code', '--samples', '1');
    expectOk(r);
    expect(r.stdout).toContain('9 meta clients');
    const rows = r.stdout.split('\n').filter((l) => /^\d+\s+\d+/.test(l));
    expect(rows.map((l) => Number(l.split(/\s+/)[0]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const total = r.stdout.split('\n').find((l) => l.startsWith('total'));
    expect(total?.split(/\s+/)[1]).toBe(String(loadTask('code').train.length));
    // Each client row has exactly one non-zero category count.
    for (const l of rows)
      expect(
        l
          .split(/\s+/)
          .slice(2)
          .filter((c) => c !== '0'),
      ).toHaveLength(1);
  });

  it('export writes the split as JSONL instruction records that parseExamples reads', async () => {
    const text = await readFile(exportFile, 'utf8');
    expect(lines(text)).toHaveLength(200);
    const parsed = parseExamples(text, exportFile);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.examples).toHaveLength(200);
    const validation = loadTask('arith').validation;
    expect(lines(text).map((l) => JSON.parse(l))).toEqual(validation);
    expect(parsed.examples[0]).toMatchObject({
      prompt: formatInstruction(validation[0]!.instruction, validation[0]!.input),
      target: validation[0]!.output,
    });
    expect(parsed.examples[0]!.meta.category).toBe(validation[0]!.category);
  });

  it('split --splitter dirichlet writes client files that partition the export', async () => {
    const out = join(dir, 'split');
    const r = await fedhpo(
      'data',
      'split',
      '--in',
      exportFile,
      '--splitter',
      'dirichlet',
      '--alpha',
      '0.5',
      '--clients',
      '3',
      '--by',
      'category',
      '--out',
      out,
      '--json',
    );
    expectOk(r);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ splitter: 'dirichlet', by: 'category', records: 200, skipped: 0, params: { clients: 3, alpha: 0.5 } });
    expect(summary.labels.sort()).toEqual([...new Set(loadTask('arith').validation.map((x) => x.category))].sort());
    expect(JSON.parse(await readFile(join(out, 'split.json'), 'utf8'))).toEqual(summary);
    const clientLines: string[][] = [];
    for (let c = 0; c < 3; c++) {
      const f = join(out, `client_${c}.jsonl`);
      expect(existsSync(f)).toBe(true);
      clientLines.push(lines(await readFile(f, 'utf8')));
      expect(clientLines[c]!.length).toBe(summary.clients[c].size);
      expect(clientLines[c]!.length).toBeGreaterThan(0);
    }
    expect(existsSync(join(out, 'client_3.jsonl'))).toBe(false);
    expect(clientLines.flat().sort()).toEqual(lines(await readFile(exportFile, 'utf8')).sort());
  });

  it('an unknown task is a usage error (exit 2) naming the known tasks', async () => {
    const runs = await Promise.all([
      fedhpo('data', 'inspect', 'nope'),
      fedhpo('data', 'export', 'nope', '--out', join(dir, 'nope.jsonl')),
      fedhpo('eval', '--model', byteModel, '--task', 'nope'),
      fedhpo('train', '--model', byteModel, '--task', 'nope', '--out', join(dir, 'nope-adapter')),
    ]);
    for (const r of runs) expectUserError(r, "unknown task 'nope'", 'arith, code, instruct');
    expect(existsSync(join(dir, 'nope.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'nope-adapter'))).toBe(false);
  });
});

describe('fedhpo eval and train --task', () => {
  interface Report {
    task: string;
    split: string;
    samples: number;
    score: number;
    loss: number;
    byCategory: Record<string, { samples: number; score: number }>;
    generatedTokens: number;
    costs: { tokens: number; flops: number; peakRssMb: number };
    results?: unknown;
  }

  const checkReport = (r: Run, task: string, split: string, samples: number, maxNew: number): Report => {
    expectOk(r);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep).toMatchObject({ task, split, samples });
    expect(rep.results).toBeUndefined();
    expect(rep.score).toBeGreaterThanOrEqual(0);
    expect(rep.score).toBeLessThanOrEqual(1);
    expect(Number.isFinite(rep.loss)).toBe(true);
    expect(Object.values(rep.byCategory).reduce((n, c) => n + c.samples, 0)).toBe(samples);
    expect(rep.generatedTokens).toBeGreaterThan(0);
    expect(rep.generatedTokens).toBeLessThanOrEqual(samples * maxNew);
    expect(rep.costs.tokens).toBeGreaterThan(0);
    expect(rep.costs.flops).toBeGreaterThan(0);
    expect(rep.costs.peakRssMb).toBeGreaterThan(0);
    return rep;
  };

  it('eval --json scores a model-init model (byte tokenizer) on the first N test samples', async () => {
    const r = await fedhpo(
      'eval',
      '--model',
      byteModel,
      '--task',
      'arith',
      '--limit',
      '4',
      '--json',
      '--max-new-tokens',
      '8',
      '--threads',
      '1',
    );
    const rep = checkReport(r, 'arith', 'test', 4, 8);
    const first4 = loadTask('arith').test.slice(0, 4);
    for (const c of new Set(first4.map((x) => x.category)))
      expect(rep.byCategory[c]!.samples).toBe(first4.filter((x) => x.category === c).length);
  });

  it('train --task trains on the train split, holds out the validation split and writes an adapter that eval loads', async () => {
    const out = join(dir, 'adapter');
    const r = await fedhpo(
      'train',
      '--model',
      bpeModel,
      '--task',
      'arith',
      '--steps',
      '3',
      '--seq-len',
      '64',
      '--batch-size',
      '4',
      '--json',
      '--out',
      out,
      '--threads',
      '1',
      '--lora-r',
      '4',
    );
    expectOk(r);
    const s = JSON.parse(r.stdout);
    const arith = loadTask('arith');
    expect(s).toMatchObject({
      status: 'completed',
      steps: 3,
      trainExamples: arith.train.length,
      validExamples: arith.validation.length,
      skippedRecords: 0,
      adapterDir: out,
    });
    expect(Number.isFinite(s.finalTrainLoss)).toBe(true);
    expect(Number.isFinite(s.validLossBefore)).toBe(true);
    expect(Number.isFinite(s.validLossAfter)).toBe(true);
    expect(s.adapterParams).toBeGreaterThan(0);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'train_log.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 4 });

    const ev = await fedhpo(
      'eval',
      '--model',
      bpeModel,
      '--adapter',
      out,
      '--task',
      'arith',
      '--split',
      'validation',
      '--limit',
      '3',
      '--json',
      '--max-new-tokens',
      '6',
      '--threads',
      '1',
    );
    checkReport(ev, 'arith', 'validation', 3, 6);
  });

  it('train with both --data and --task is a usage error', async () => {
    const out = join(dir, 'both');
    const [r, none] = await Promise.all([
      fedhpo('train', '--model', bpeModel, '--data', exportFile, '--task', 'arith', '--out', out),
      fedhpo('train', '--model', bpeModel, '--out', out),
    ]);
    expectUserError(r, 'exactly one of --data FILE or --task NAME');
    expectUserError(none, 'exactly one of --data FILE or --task NAME');
    expect(existsSync(out)).toBe(false);
  });
});

describe('fedhpo demo', () => {
  it('scores the shipped base model, LoRA fine-tunes it on the task and scores the same samples again', async () => {
    const out = join(dir, 'demo');
    // Three phases on the shipped model (eval, train, eval): minutes on a busy 2-core machine.
    const r = await fedhpoWithin(280_000, 'demo', '--task', 'code', '--steps', '6', '--limit', '16', '--dir', out, '--json');
    expectOk(r);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ task: 'code', score: 'pass@1', samples: 16 });
    // The shipped base model scores low but above zero; both scores are fractions of 16 samples.
    expect(res.base).toBeGreaterThan(0);
    expect(res.base).toBeLessThan(0.6);
    for (const s of [res.base, res.lora]) expect(Number.isInteger(Math.round(s * 16 * 1e6) / 1e6)).toBe(true);
    const code = loadTask('code');
    expect(res.training).toMatchObject({
      status: 'completed',
      steps: 6,
      trainExamples: code.train.length,
      validExamples: code.validation.length,
    });
    expect(res.training.validLossAfter).toBeLessThan(res.training.validLossBefore);
    expect(existsSync(join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
  }, 300_000);
});
