// A client's own files (`fedhpo fl client --data/--valid`), read through the user-record formats of
// src/data/user-records.ts: training records as `fedhpo train` takes them or a GSM8K file; the
// last 10% held out without --valid; a file with nothing usable is one error naming it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../src/data/tokenizer.js';
import { loadClientFiles } from '../../src/fl/client-own-files.js';
import { gsm8kRecords, toJsonl } from '../helpers/user-data.js';

let dir: string;
const tok = new ByteTokenizer();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-client-own-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a client's own files", () => {
  it('training records: the last 10% held out in file order; skipped records logged with file:line', async () => {
    const file = join(dir, 'c0.jsonl');
    const records = Array.from({ length: 20 }, (_, i) => ({ prompt: `${i} + 1 =`, completion: ` ${i + 1}` }));
    await writeFile(file, `${toJsonl(records)}{"nope": 1}\n`);
    const lines: string[] = [];
    const source = await loadClientFiles(tok, 'c0', { data: file }, (l) => lines.push(l));
    expect(source).toMatchObject({ id: 'c0', trainSamples: 18, validSamples: 2 });
    expect(lines).toEqual([expect.stringMatching(/^skipped .*c0\.jsonl:21: /)]);
    const d = source.encoded(64);
    expect(d.train).toHaveLength(18);
    expect(d.validation[1]!.ids.length).toBeGreaterThan(0);
  });

  it('a GSM8K file with a separate validation file', async () => {
    const train = join(dir, 'g.train.jsonl');
    const valid = join(dir, 'g.valid.jsonl');
    await writeFile(train, toJsonl(gsm8kRecords(6)));
    await writeFile(valid, toJsonl(gsm8kRecords(2)));
    const source = await loadClientFiles(tok, 'g', { data: train, valid });
    expect(source).toMatchObject({ trainSamples: 6, validSamples: 2 });
  });

  it('a file with no usable record names the file; a missing one names the flag', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, 'not json\n{"foo": 1}\n');
    await expect(loadClientFiles(tok, 'c2', { data: bad })).rejects.toThrow(/bad\.jsonl: no valid training records/);
    await expect(loadClientFiles(tok, 'c2', { data: join(dir, 'missing.jsonl') })).rejects.toThrow(/^--data: /);
  });
});
