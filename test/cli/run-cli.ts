// Runs the fedhpo CLI from source (node --import tsx), so CLI tests need no build.
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI; never rejects (the exit code is part of the result). */
export function fedhpo(...args: string[]): Promise<Run> {
  return fedhpoWithin(60_000, ...args);
}

/** As fedhpo, killed after `timeoutMs` (a long command on a loaded machine needs more than a minute). */
export function fedhpoWithin(timeoutMs: number, ...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 16 << 20, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A usage or data error: exit 2, the expected text on stderr, no stack trace, nothing on stdout. */
export function expectUserError(r: Run, ...needles: string[]): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^fedhpo: /m);
  for (const n of needles) expect(r.stderr).toContain(n);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).toBe('');
}
