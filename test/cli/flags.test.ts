// Every numeric flag is checked by src/cli/flags.ts while yargs parses: values as typed ('abc',
// 'Infinity', '-1', prototype names) are refused with one line naming the flag, and no command
// declares a numeric flag any other way.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { NUMBER_FLAGS, numberFlag, parseNumberFlag } from '../../src/cli/flags.js';
import { failureMessage, isUserFacing, UsageError } from '../../src/cli/util.js';

const CLI_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'src/cli');

describe('parseNumberFlag', () => {
  it.each([
    ['lr', 'Infinity', "--lr: expected a number in [0, 1000000], got 'Infinity'"],
    ['lr', 'NaN', "--lr: expected a number in [0, 1000000], got 'NaN'"],
    ['lr', -1, '--lr: expected a number in [0, 1000000], got -1'],
    ['threads', 'abc', "--threads: expected an integer in [1, 256], got 'abc'"],
    ['threads', -1, '--threads: expected an integer in [1, 256], got -1'],
    ['threads', '1.5', "--threads: expected an integer in [1, 256], got '1.5'"],
    ['lora-r', 1e9, '--lora-r: expected an integer in [1, 4096], got 1000000000'],
    ['seed', 'abc', "--seed: expected an integer (at most 2^53 - 1 in size), got 'abc'"],
    ['seed', '12345678901234567890', "--seed: expected an integer (at most 2^53 - 1 in size), got '12345678901234567890'"],
    ['clients', 'toString', "--clients: expected an integer in [1, 100000], got 'toString'"],
    ['steps', '__proto__', "--steps: expected an integer in [1, 1000000000], got '__proto__'"],
    ['lora-alpha', 0, '--lora-alpha: expected a number in (0, 1000000000], got 0'],
    ['lora-dropout', 1, '--lora-dropout: expected a number in [0, 1), got 1'],
    ['alpha', '', "--alpha: expected a number in (0, 1000000000000], got ''"],
    ['lr', true, '--lr: expected a number in [0, 1000000], got no value'],
    ['seq-len', '0', "--seq-len: expected an integer >= 1, got '0'"],
    ['lr', [1, 2], '--lr: given 2 times; give it once'],
  ] as const)('--%s %j is refused', (name, raw, message) => {
    expect(() => parseNumberFlag(name, raw)).toThrow(UsageError);
    expect(() => parseNumberFlag(name, raw)).toThrow(message);
  });

  it.each([
    ['lr', '3e-4', 3e-4],
    ['lr', 0, 0],
    ['seed', '-7', -7],
    ['threads', 2, 2],
    ['lora-dropout', '0.05', 0.05],
  ] as const)('--%s %j is %d', (name, raw, value) => {
    expect(parseNumberFlag(name, raw)).toBe(value);
  });
});

describe('numberFlag through yargs', () => {
  const parse = (...args: string[]) =>
    yargs(args)
      .option('threads', numberFlag('threads', 'threads', 2))
      .option('lr', numberFlag('lr', 'rate'))
      .fail((_msg, err) => {
        throw err;
      })
      .parseSync();

  it('keeps defaults, reads values as typed and refuses bad ones as a user-facing one-liner', () => {
    expect(parse()).toMatchObject({ threads: 2 });
    expect(parse().lr).toBeUndefined();
    expect(parse('--threads', '4', '--lr', '1e-3')).toMatchObject({ threads: 4, lr: 1e-3 });
    let err: unknown;
    try {
      parse('--threads', '-1');
    } catch (e) {
      err = e;
    }
    // yargs wraps what coerce threw in its own YError: still one line, exit 2.
    expect(err).toBeInstanceOf(Error);
    expect(isUserFacing(err as Error)).toBe(true);
    expect(failureMessage(err as Error)).toBe('fedhpo: --threads: expected an integer in [1, 256], got -1');
  });
});

it('no command declares a numeric flag except through numberFlag (one place checks them all)', async () => {
  const offenders: string[] = [];
  for (const name of await readdir(CLI_DIR)) {
    const text = await readFile(join(CLI_DIR, name), 'utf8');
    if (/type:\s*'number'/.test(text)) offenders.push(name);
  }
  expect(offenders).toEqual([]);
  expect(Object.keys(NUMBER_FLAGS).length).toBeGreaterThan(20);
});
