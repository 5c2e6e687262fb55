// Runs the built CLI (node dist/cli/main.js, as a user's `npx fedhpo` does) under /usr/bin/time for
// its peak RSS, killed at a deadline, a few at a time; and rebuilds dist/ first when src/ is newer.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const TIME = '/usr/bin/time';

export interface BuiltRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set of the CLI process in MB (from wait4's rusage via /usr/bin/time). */
  peakRssMb: number;
  timedOut: boolean;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestMtime(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (tsc -p tsconfig.build.json) if it is missing or older than any file in src/. */
export async function ensureBuilt(): Promise<void> {
  const built = await stat(MAIN).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built >= (await newestMtime(join(ROOT, 'src')))) return;
  await new Promise<void>((done, fail) =>
    execFile(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT }, (err, out) =>
      err ? fail(new Error(`build failed: ${out}`)) : done(),
    ),
  );
}

/** Runs `node dist/cli/main.js ...args` in `cwd`, killed (with its process group) after `deadlineMs`. */
export async function runBuiltCli(args: string[], cwd: string, deadlineMs: number): Promise<BuiltRun> {
  const scratch = await mkdtemp(join(tmpdir(), 'fedhpo-rss-'));
  const rssFile = join(scratch, 'rss');
  try {
    const started = performance.now();
    const child = spawn(TIME, ['-f', '%M', '-o', rssFile, process.execPath, MAIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < 1 << 20) stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 1 << 20) stderr += b.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, deadlineMs);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once('close', (c, s) => done({ code: c, signal: s })),
    );
    clearTimeout(timer);
    const ms = performance.now() - started;
    // /usr/bin/time writes "Command exited with non-zero status N" before the figure: take the last line.
    const rssText = await readFile(rssFile, 'utf8').catch(() => '');
    const kb = Number(rssText.trim().split('\n').at(-1));
    return { code, signal, stdout, stderr, ms, peakRssMb: Number.isFinite(kb) ? kb / 1024 : Number.NaN, timedOut };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs the tasks `lanes` at a time, in order of start; results in input order. */
export async function inLanes<T>(lanes: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, tasks.length) }, lane));
  return results;
}
