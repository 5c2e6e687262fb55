// Federated clients from a user's files: a `fedhpo data split` directory read back through its
// split.json (ids, sizes, label shares), or a list of files; validation from a shared file or held
// out per client; the test file scored with its format's metric; errors naming the key and file.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSplit } from '../../src/data/split-file.js';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { answerless, encodeClient } from '../../src/fl/client-data.js';
import { federatedData } from '../../src/fl/client-files.js';
import { type DataConfig, DataConfigSchema, loadFlConfig, parseFlConfig } from '../../src/fl/fl-config.js';
import { dollyRecords, toJsonl, writeUserData } from '../helpers/user-data.js';

let dir: string;
const data = (d: Record<string, unknown>): DataConfig => DataConfigSchema.parse(d);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-client-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('federated clients from files', () => {
  it('reads a data split directory back: one client per file, ids from the files, held-out validation per client', async () => {
    const f = await writeUserData(dir, 'gsm8k');
    const out = join(dir, 'gsm-split');
    await dataSplit({ input: f.train, splitter: 'iid', clients: 3, seed: 0, out });
    const task = await federatedData(data({ clients: out, test: f.test }));
    expect(task.clients.map((c) => c.id)).toEqual(['client_0', 'client_1', 'client_2']);
    expect(task.clients.map((c) => c.train.length + c.validation.length)).toEqual([8, 8, 8]);
    expect(task.clients.map((c) => c.validation.length)).toEqual([1, 1, 1]);
    expect(task).toMatchObject({ metric: 'accuracy', skipped: [] });
    expect(task.test).toHaveLength(6);
    expect(new Set(task.testShare)).toEqual(new Set(['client_0', 'client_1', 'client_2']));
  });

  it('a shared valid file is dealt out over the clients (its whole loss is the round loss)', async () => {
    const f = await writeUserData(dir, 'gsm8k');
    const task = await federatedData(data({ clients: join(dir, 'gsm-split'), valid: f.valid, test: f.test }));
    expect(task.clients.map((c) => c.validation.length)).toEqual([2, 2, 2]);
    expect(task.clients.map((c) => c.train.length)).toEqual([8, 8, 8]);
  });

  it('a meta split sends each test record to the client holding its label; Dolly scores EM/F1', async () => {
    const f = await writeUserData(dir, 'dolly');
    const out = join(dir, 'dolly-split');
    await dataSplit({ input: f.train, splitter: 'meta', by: 'category', seed: 0, out });
    const task = await federatedData(data({ clients: out, valid: f.valid, test: f.test }));
    expect(task).toMatchObject({ metric: 'em-f1' });
    expect(task.clients).toHaveLength(3);
    task.test.forEach((r, i) => {
      const client = task.clients.find((c) => c.id === task.testShare[i])!;
      expect(client.train.every((t) => t.category === r.category)).toBe(true);
    });
  });

  it('a list of files is one client each; HumanEval-style JS scores pass@1; records without a solution do not train', async () => {
    const f = await writeUserData(dir, 'humaneval-js');
    const a = join(dir, 'he-a.jsonl');
    const b = join(dir, 'he-b.jsonl');
    const all = (await readFile(f.train, 'utf8')).trim().split('\n');
    await writeFile(a, `${all.slice(0, 12).join('\n')}\n{"prompt": "function g(x){\\n", "tests": "assert.ok(g(1))"}\n`);
    await writeFile(b, `${all.slice(12).join('\n')}\n`);
    const task = await federatedData(data({ clients: [a, b], test: f.test }));
    expect(task.clients.map((c) => c.id)).toEqual(['he-a', 'he-b']);
    expect(task).toMatchObject({ metric: 'pass@1' });
    expect(task.skipped).toEqual([`${a}:13: no 'canonical_solution' to train on`]);
  });

  it('refuses, naming the key and the file: a changed client file, mixed formats, a metric the test file cannot give', async () => {
    const f = await writeUserData(dir, 'gsm8k');
    const out = join(dir, 'gsm-split-changed');
    await dataSplit({ input: f.train, splitter: 'iid', clients: 2, seed: 0, out });
    await writeFile(join(out, 'client_1.jsonl'), toJsonl([{ question: 'q', answer: 'a\n#### 1' }]));
    await expect(federatedData(data({ clients: out, test: f.test }))).rejects.toThrow(
      `data.clients: ${join(out, 'client_1.jsonl')} holds 1 records but split.json says 12`,
    );
    const dolly = join(dir, 'dolly-test.jsonl');
    await writeFile(dolly, toJsonl(dollyRecords(3)));
    await expect(federatedData(data({ clients: join(dir, 'gsm-split'), test: dolly }))).rejects.toThrow(
      `data.test: ${dolly} is dolly-format but the clients' files are gsm8k-format`,
    );
    await expect(federatedData(data({ clients: join(dir, 'gsm-split'), test: f.test, metric: 'pass@1' }))).rejects.toThrow(
      `${f.test}: metric pass@1 needs HumanEval-style JavaScript`,
    );
    await expect(federatedData(data({ clients: join(dir, 'nowhere'), test: f.test }))).rejects.toThrow(
      `data.clients: ${join(dir, 'nowhere')} is not a split directory`,
    );
  });

  it('the config names the key: task or clients, test required with clients, valid/test only with files', () => {
    const base = { rounds: 1, train: { local_steps: 1, batch_size: 1, seq_len: 8, lr: 0.1 } };
    expect(() => parseFlConfig({ ...base, data: {} }, 'x.yaml')).toThrow(/data\.task: name a built-in task/);
    expect(() => parseFlConfig({ ...base, data: { clients: 'd' } }, 'x.yaml')).toThrow(/data\.test: required with data\.clients/);
    expect(() => parseFlConfig({ ...base, data: { task: 'arith', test: 't' } }, 'x.yaml')).toThrow(
      /data\.test: only used with data\.clients/,
    );
    expect(() => parseFlConfig({ ...base, data: { clients: 'd', test: 't', metric: 'bleu' } }, 'x.yaml')).toThrow(/data\.metric/);
    expect(parseFlConfig({ ...base, data: { clients: ['a', 'b'], test: 't' } }).data).toMatchObject({
      metric: 'auto',
      valid_fraction: 0.1,
    });
  });

  it('the example fl config over files is valid', async () => {
    const c = await loadFlConfig('configs/examples/fl-gsm8k-files.yaml');
    expect(c.data).toMatchObject({ clients: 'my-data/gsm8k/clients', test: 'my-data/gsm8k/test.jsonl', metric: 'auto' });
  });

  it('metric loss scores the test file by token accuracy; a test file with no reference answers cannot give a loss', async () => {
    const f = await writeUserData(dir, 'gsm8k');
    expect(await federatedData(data({ clients: join(dir, 'gsm-split'), test: f.test, metric: 'loss' }))).toMatchObject({ metric: 'loss' });
    const he = await writeUserData(dir, 'humaneval-js');
    const out = join(dir, 'he-split');
    await dataSplit({ input: he.train, splitter: 'iid', clients: 2, seed: 0, out });
    const noSolution = join(dir, 'he-no-solution.jsonl');
    await writeFile(noSolution, toJsonl([{ prompt: 'function f(x){\n', tests: 'assert.ok(f(1))' }]));
    await expect(federatedData(data({ clients: out, test: noSolution, metric: 'loss' }))).rejects.toThrow(
      `data.test: ${noSolution}: no record has a reference answer to compute a loss on`,
    );
  });

  it('says which records lose every answer token to the sequence length', async () => {
    const task = await federatedData(data({ clients: join(dir, 'gsm-split'), test: join(dir, 'gsm8k', 'test.jsonl') }));
    const tok = new ByteTokenizer();
    expect(answerless(encodeClient(tok, task.clients[0]!, 512))).toBeUndefined();
    expect(answerless(encodeClient(tok, task.clients[0]!, 100))).toBe('7 of 7 training records, 1 of 1 validation records');
  });
});
