// `data split` never loses a user's file (issue 8, defect 10) and keeps only records of the file's
// format, as fl run reads a client's file (defect 13). Reproductions: `--in sp/client_4.jsonl --out sp` deleted its own input
// and exited 0; a GSM8K record without `answer` went into a client file.
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSplit } from '../../src/data/split-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-split-output-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const records = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ question: `q${from + i}`, answer: `so #### ${from + i}`, category: `c${i % 3}` }));
const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

/** Every file under `d` (one level) with its hash. */
async function snapshot(d: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(d)).sort()) out[name] = await sha(join(d, name));
  return out;
}

describe('data split output directory', () => {
  it('refuses an input that the split would remove or replace, touching nothing', async () => {
    const sp = join(dir, 'sp');
    const input = join(dir, 'all.jsonl');
    await writeFile(input, records(40).join('\n'));
    await dataSplit({ input, splitter: 'iid', clients: 5, seed: 0, out: sp });
    const before = await snapshot(sp);

    // The reproduction: client_4 is surplus for a 3-client split of itself.
    const c4 = join(sp, 'client_4.jsonl');
    await expect(dataSplit({ input: c4, splitter: 'iid', clients: 3, seed: 0, out: sp })).rejects.toThrow(
      `--in ${c4} is ${c4}, which this split would remove; split into another directory`,
    );
    const c1 = join(sp, 'client_1.jsonl');
    await expect(dataSplit({ input: c1, splitter: 'iid', clients: 3, seed: 0, out: sp })).rejects.toThrow(
      `--in ${c1} is ${c1}, which this split would replace`,
    );
    // A hard link to a file the split would replace is the same file.
    const linked = join(dir, 'linked.jsonl');
    await link(join(sp, 'client_0.jsonl'), linked);
    await expect(dataSplit({ input: linked, splitter: 'iid', clients: 2, seed: 0, out: sp })).rejects.toThrow(
      `--in ${linked} is ${join(sp, 'client_0.jsonl')}, which this split would replace`,
    );
    expect(await snapshot(sp)).toEqual(before);

    // An input inside the output directory that is not replaced is fine, and so is re-splitting.
    const mine = join(sp, 'mine.jsonl');
    await writeFile(mine, records(9, 100).join('\n'));
    const mineHash = await sha(mine);
    const r = await dataSplit({ input: mine, splitter: 'iid', clients: 3, seed: 0, out: sp });
    expect(r.summary.records).toBe(9);
    // The earlier split's client_3 and client_4 were its own: removed; the input and nothing else stays.
    expect(Object.keys(await snapshot(sp))).toEqual(['client_0.jsonl', 'client_1.jsonl', 'client_2.jsonl', 'mine.jsonl', 'split.json']);
    expect(await sha(mine)).toBe(mineHash);
  });

  it('never replaces or removes a file no earlier split wrote; an existing file as --out is refused before reading', async () => {
    const input = join(dir, 'in.jsonl');
    await writeFile(input, records(12).join('\n'));
    const out = join(dir, 'users');
    await mkdir(out);
    await writeFile(join(out, 'client_0.jsonl'), 'my own notes\n');
    await expect(dataSplit({ input, splitter: 'iid', clients: 2, seed: 0, out })).rejects.toThrow(
      `--out ${out}: client_0.jsonl is there and no earlier split wrote it (it is not in split.json)`,
    );
    expect(await readdir(out)).toEqual(['client_0.jsonl']);

    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'split.json'), '{"mine": true}');
    await expect(dataSplit({ input, splitter: 'iid', clients: 2, seed: 0, out: other })).rejects.toThrow(
      `${join(other, 'split.json')}: not a split summary (no 'clients' list)`,
    );
    expect(await readFile(join(other, 'split.json'), 'utf8')).toBe('{"mine": true}');

    // client_7 not listed by the earlier split stays (it is not ours to remove); no staging dir is left.
    const kept = join(dir, 'kept');
    await dataSplit({ input, splitter: 'iid', clients: 2, seed: 0, out: kept });
    await writeFile(join(kept, 'client_7.jsonl'), 'foreign\n');
    await dataSplit({ input, splitter: 'iid', clients: 3, seed: 1, out: kept });
    expect((await readdir(kept)).sort()).toEqual(['client_0.jsonl', 'client_1.jsonl', 'client_2.jsonl', 'client_7.jsonl', 'split.json']);

    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const err = dataSplit({ input: join(dir, 'missing.jsonl'), splitter: 'iid', clients: 2, seed: 0, out: file });
    await expect(err).rejects.toThrow(`--out ${file}: exists and is not a directory`);
    expect(await readFile(file, 'utf8')).toBe('x');
  });
});

describe("data split keeps only records of the file's format that fl run can use", () => {
  it('reports a GSM8K record without answer and others missing their format fields as file:line bad lines', async () => {
    const input = join(dir, 'gsm.jsonl');
    const lines = [
      ...records(4),
      JSON.stringify({ question: 'no answer here', category: 'c0' }),
      JSON.stringify({ instruction: 'no output', category: 'c1' }),
      JSON.stringify({ prompt: 'no completion', category: 'c2' }),
      JSON.stringify({ question: 'q', answer: 7, category: 'c0' }),
      JSON.stringify({ category: 'c1' }),
      ...records(2, 50),
    ];
    await writeFile(input, lines.join('\n'));
    const out = join(dir, 'gsm');
    const r = await dataSplit({ input, splitter: 'meta', seed: 0, out });
    expect(r.skipped).toEqual([
      `${input}:5: missing field 'answer'`,
      // The file is GSM8K (its first record's format): records of no known format lack its question.
      `${input}:6: missing field 'question'`,
      `${input}:7: missing field 'question'`,
      `${input}:8: field 'answer' must be a string, got number`,
      `${input}:9: missing field 'question'`,
    ]);
    expect(r.summary).toMatchObject({ records: 6, skipped: 5 });
    const written = (await Promise.all(r.files.map((f) => readFile(f, 'utf8')))).join('');
    expect(written).not.toContain('no answer here');
    expect(written.trimEnd().split('\n')).toHaveLength(6);

    await writeFile(join(dir, 'none.jsonl'), `${JSON.stringify({ question: 'x' })}\n`);
    await expect(
      dataSplit({ input: join(dir, 'none.jsonl'), splitter: 'iid', clients: 1, seed: 0, out: join(dir, 'none') }),
    ).rejects.toThrow(`${join(dir, 'none.jsonl')}: no valid text records (1 skipped; line 1: missing field 'answer')`);
  });
});
