// checkOutputPath: an output path is checked before the work that writes it (issue 8: `train --out
// FILE` failed only at save time, after training).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/engine/errors.js';
import { checkOutputPath } from '../../src/engine/files.js';
import { protoKeyPath } from '../../src/engine/json.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-output-path-'));
  await writeFile(join(dir, 'file'), 'x');
  await mkdir(join(dir, 'sub'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('checkOutputPath', () => {
  it('accepts an absent path under a directory, or an existing path of the right kind', async () => {
    await expect(checkOutputPath(join(dir, 'new', 'deeper'), 'directory', '--out')).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, 'sub'), 'directory', '--out')).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, 'file'), 'file', '--out')).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, 'new.jsonl'), 'file', '--out')).resolves.toBeUndefined();
  });

  it('refuses a file where a directory goes, a directory where a file goes, and a file above the path', async () => {
    const f = join(dir, 'file');
    await expect(checkOutputPath(f, 'directory', '--out')).rejects.toThrow(new UserError(`--out ${f}: exists and is not a directory`));
    await expect(checkOutputPath(join(dir, 'sub'), 'file', '--output')).rejects.toThrow(
      `--output ${join(dir, 'sub')}: exists and is not a regular file`,
    );
    await expect(checkOutputPath(join(f, 'a', 'b'), 'directory', 'output directory')).rejects.toThrow(
      `output directory ${join(f, 'a', 'b')}: ${f} is not a directory`,
    );
    await expect(checkOutputPath('/dev/null', 'file', '--out')).rejects.toThrow('--out /dev/null: exists and is not a regular file');
  });
});

describe('protoKeyPath', () => {
  it('finds a __proto__ key at any depth (own keys, as parsers make them), else undefined', () => {
    expect(protoKeyPath(JSON.parse('{"a": {"b": [{"__proto__": 1}]}}'))).toBe('a.b.0.__proto__');
    expect(protoKeyPath(JSON.parse('{"__proto__": {"x": 1}}'))).toBe('__proto__');
    expect(protoKeyPath({ a: [1, { constructor: 2, toString: 3 }] })).toBeUndefined();
    expect(protoKeyPath(null)).toBeUndefined();
  });
});
