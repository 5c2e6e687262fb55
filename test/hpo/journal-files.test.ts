// A study journal is read only as a bounded regular file (a FIFO or a link to /dev/zero hung every
// study reader), and a line nested too deep is damage, refused before the schema recurses into it
// (it overflowed the stack). Resuming a directory without a study says so, and leaves no lock file.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalError, readJournal } from '../../src/hpo/journal.js';
import { Study } from '../../src/hpo/study.js';
import { deepJson } from '../bounded.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-journal-files-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('reading a journal', () => {
  it('refuses a FIFO, a link to /dev/zero and a directory at once, naming the file', async () => {
    for (const [name, make] of [
      ['fifo', (f: string) => void execFileSync('mkfifo', [f])],
      ['zero', (f: string) => symlink('/dev/zero', f)],
      ['dir', (f: string) => mkdir(f)],
    ] as const) {
      const d = join(dir, name);
      await mkdir(d);
      await make(join(d, 'journal.jsonl'));
      const started = performance.now();
      await expect(readJournal(d)).rejects.toThrow(`${join(d, 'journal.jsonl')}: not a regular file`);
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  it('refuses a line nested 100,000 deep as a JournalError naming the line', async () => {
    const d = join(dir, 'deep');
    await mkdir(d);
    await writeFile(join(d, 'journal.jsonl'), `{"kind": "study.started", "config": ${deepJson(100_000)}}\n`);
    await expect(readJournal(d)).rejects.toThrow(JournalError);
    await expect(readJournal(d)).rejects.toThrow(
      `${join(d, 'journal.jsonl')} line 1: not a journal event (nests arrays/objects more than 64 levels deep)`,
    );
  });

  it('resuming a missing directory or a file says there is no study there, creating nothing', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    for (const d of [join(dir, 'missing'), file, join(dir, 'deep-empty')]) {
      if (d.endsWith('deep-empty')) await mkdir(d);
      await expect(Study.resume(d, { mode: 'in-process' })).rejects.toThrow(`${d}: no study here (journal.jsonl is missing)`);
    }
    expect(await readdir(join(dir, 'deep-empty'))).toEqual([]);
  });
});
