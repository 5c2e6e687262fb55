// A fedhpo CLI process a test can watch and kill (node --import tsx, from source): its output so far,
// a wait for a line matching a pattern, and its exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface CliProcess {
  readonly proc: ChildProcess;
  readonly output: () => string;
  /** Resolves with the first output line matching `re` (waiting for it), rejects when the process exits first or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnFedhpo(args: string[]): CliProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  const waiters: { re: RegExp; done: (line: string) => void }[] = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(line);
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      done({ code, signal });
    }),
  );
  return {
    proc,
    output: () => out,
    exited,
    kill: (signal = 'SIGKILL') => void proc.kill(signal),
    waitFor: (re, timeoutMs = 90_000) =>
      new Promise((resolveLine, reject) => {
        const found = out.split('\n').find((l) => re.test(l));
        if (found !== undefined) return resolveLine(found);
        const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
        waiters.push({
          re,
          done: (line) => {
            clearTimeout(timer);
            resolveLine(line);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`exited (${code ?? signal}) before a line matching ${re}; output:\n${out}`));
        });
      }),
  };
}
