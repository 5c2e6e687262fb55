// readTokenFile (fedhpo model nll --tokens): a bad entry is one error naming the file, entry and
// position, however deeply it nests; only regular files are read.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../src/cli/model.js';
import { deepJson, expectCleanError } from '../bounded.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-tokens-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readTokenFile', () => {
  it('reads arrays of token ids', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, '[[1, 5, 6, 7], [2, 3]]');
    expect(await readTokenFile(file, 10)).toEqual([
      [1, 5, 6, 7],
      [2, 3],
    ]);
  });

  it('names the entry and position of a 100,000-deep value (was: stack overflow)', async () => {
    const file = join(dir, 'deep.json');
    await writeFile(file, `[[1, 5, 6, 7], [2, ${deepJson(100_000)}]]`);
    const e = await expectCleanError(() => readTokenFile(file, 10), [`${file}: entry 1, position 1: [[[[`, 'is not a token id in [0, 10)']);
    expect(e.message.length).toBeLessThan(200);
    const entry = join(dir, 'deep-entry.json');
    await writeFile(entry, `[[1, 2], ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]`);
    await expectCleanError(() => readTokenFile(entry, 10), [`${entry}: entry 1 is not an array of token ids, got {"a":{"a":`]);
  });

  it('refuses a FIFO, /dev/zero and invalid JSON naming the file', async () => {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await expectCleanError(() => readTokenFile(fifo, 10), [`${fifo}: not a regular file`], { ms: 5000 });
    const zero = join(dir, 'zero.json');
    await symlink('/dev/zero', zero);
    await expectCleanError(() => readTokenFile(zero, 10), [`${zero}: not a regular file`], { ms: 5000, peakRiseMb: 100 });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[[1, 2]');
    await expectCleanError(() => readTokenFile(bad, 10), [`${bad}: invalid JSON`]);
  });
});
