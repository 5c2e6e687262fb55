// Running untrusted generated JavaScript against unit tests, for pass@1.
//
// The code runs in a separate, bare Node process (./sandbox-worker.js): forked with a V8 heap limit
// and with code generation from strings disabled, no loader hooks and an empty environment. In it, each job gets a fresh node:vm context stripped to plain
// ECMAScript globals (no require, process, import, fetch), with a vm timeout covering microtasks;
// here, a kill timer SIGKILLs the process as a backstop. The generated code never runs in this
// process. See the worker file for the layers.
//
// The score cannot be forged from inside the sandbox: the expected values never leave this process.
// The worker sends, per test, the canonical JSON text of what the sample returned (computed without
// running any code of the result, ./sandbox-canonical.js); this process canonicalises the expected
// value the same way and compares the two strings. Failure messages show what the sample returned,
// never the expected value.
//
// Why a process and not a worker thread: V8 treats some heap exhaustion as fatal for the whole
// process (e.g. `new Array(2**27).fill(0)` under a 64 MB worker resourceLimit aborts everything
// with "CALL_AND_RETRY_LAST Allocation failed"), so a thread cannot contain a memory bomb.
//
// Processes are pooled (at most MAX_PROCESSES): one that finished a job cleanly (a pass, or an
// ordinary failure — wrong result, exception, syntax error — all confined to the discarded vm
// context) takes the next job, up to MAX_JOBS_PER_PROCESS; after a timeout, crash, memory
// exhaustion or any protocol surprise it is killed and a fresh one is forked.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { extractCodeCandidates } from './code-extract.js';
import { canonicalJson } from './sandbox-canonical.js';

export interface CodeTest {
  args: unknown[];
  expected: unknown;
}

export interface SandboxOptions {
  /** Time budget for the whole sample (top-level code plus every test), ms. Default 2000. */
  timeoutMs?: number;
  /** V8 old-generation heap limit of the sandbox process, MB. Default 64. */
  maxOldGenerationSizeMb?: number;
}

export interface CodeRunResult {
  /** Every test passed. */
  passed: boolean;
  passedTests: number;
  /** Why the sample failed (first failing test, compile error, timeout, memory limit, ...). */
  error?: string;
}

const WORKER_PATH = fileURLToPath(new URL('./sandbox-worker.js', import.meta.url));
/** Extra time beyond the budget (process start, context setup) before the process is killed. */
const KILL_GRACE_MS = 2000;
const MAX_PROCESSES = Math.max(1, Math.min(4, availableParallelism()));
const MAX_JOBS_PER_PROCESS = 200;
const STDERR_TAIL = 4096;

type WorkerMessage =
  | { type: 'ready' }
  /** One test's outcome: the canonical JSON of the result, or why there is none. */
  | { type: 'test'; i: number; result?: string; error?: string }
  /** clean: nothing but ordinary passes/failures happened (no timeout), so the process can be reused. */
  | { type: 'done'; clean: boolean; error?: string };

interface SandboxProcess {
  child: ChildProcess;
  maxOldMb: number;
  jobs: number;
  stderr: string;
  exited: boolean;
}

const idle: SandboxProcess[] = [];
let busy = 0;
const waiting: (() => void)[] = [];

function spawnSandbox(maxOldMb: number): SandboxProcess {
  const child = fork(WORKER_PATH, [], {
    execArgv: [`--max-old-space-size=${maxOldMb}`, '--disallow-code-generation-from-strings', '--no-warnings'],
    env: {},
    cwd: tmpdir(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const p: SandboxProcess = { child, maxOldMb, jobs: 0, stderr: '', exited: false };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    p.stderr = (p.stderr + d).slice(-STDERR_TAIL);
  });
  child.on('exit', () => {
    p.exited = true;
    const k = idle.indexOf(p);
    if (k >= 0) idle.splice(k, 1);
  });
  child.on('error', () => {});
  return p;
}

/** Idle processes must not keep the caller alive. */
function setRef(p: SandboxProcess, on: boolean): void {
  const channel = p.child.channel as { ref?(): void; unref?(): void } | null | undefined;
  if (on) {
    p.child.ref();
    channel?.ref?.();
    (p.child.stderr as { ref?(): void } | null)?.ref?.();
  } else {
    p.child.unref();
    channel?.unref?.();
    (p.child.stderr as { unref?(): void } | null)?.unref?.();
  }
}

function kill(p: SandboxProcess): void {
  if (!p.exited) p.child.kill('SIGKILL');
}

async function acquire(maxOldMb: number): Promise<SandboxProcess> {
  while (busy >= MAX_PROCESSES) await new Promise<void>((resolve) => waiting.push(resolve));
  busy++;
  for (let k = idle.length - 1; k >= 0; k--) {
    const p = idle[k]!;
    if (p.exited || !p.child.connected) {
      idle.splice(k, 1);
    } else if (p.maxOldMb === maxOldMb) {
      idle.splice(k, 1);
      setRef(p, true);
      return p;
    }
  }
  return spawnSandbox(maxOldMb);
}

function release(p: SandboxProcess, reusable: boolean): void {
  busy--;
  if (reusable && !p.exited && p.child.connected && p.jobs < MAX_JOBS_PER_PROCESS) {
    setRef(p, false);
    idle.push(p);
    // Keep at most MAX_PROCESSES idle.
    while (idle.length > MAX_PROCESSES) kill(idle.shift()!);
  } else {
    kill(p);
  }
  waiting.shift()?.();
}

/** Kills the idle sandbox processes (busy ones end with their job). Optional: idle ones do not keep the process alive. */
export function closeSandboxPool(): void {
  for (const p of idle.splice(0)) kill(p);
}

type Canonical = { text: string } | { refused: string };

/** Plain host values (expected values after their JSON round trip) are recognised by this realm's prototype. */
const HOST_REALM = { objectPrototype: Object.prototype };

/**
 * The canonical JSON of an expected value, after the JSON round trip the tests promise (toJSON
 * applied, `undefined` kept as such at the top). Throws when it is not JSON-serialisable.
 */
function expectedText(expected: unknown): Canonical {
  const json = expected === undefined ? undefined : JSON.stringify(expected);
  return canonicalJson(json === undefined ? undefined : JSON.parse(json), HOST_REALM);
}

function message(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return 'unknown error';
  }
}

const SHOWN = 120;
function clipped(s: string): string {
  return s.length > SHOWN ? `${s.slice(0, SHOWN)}...` : s;
}

/**
 * Tallies the worker's per-test outcomes against the expected texts, which the worker never sees.
 * The worker is not trusted with the verdict: it only reports what each call produced, in order.
 */
class Tally {
  private next = 0;
  passedTests = 0;
  private firstError: string | undefined;

  constructor(private readonly expected: readonly Canonical[]) {}

  /** Takes one test's outcome; false when the message breaks the protocol. */
  add(m: { i: number; result?: unknown; error?: unknown }): boolean {
    const want = this.expected[this.next];
    if (m.i !== this.next || want === undefined) return false;
    const n = ++this.next;
    if (typeof m.result === 'string') {
      if ('text' in want && m.result === want.text) this.passedTests++;
      // Never the expected value: a message may end up where a sample's author can read it.
      else
        this.firstError ??=
          'text' in want ? `test ${n}: wrong result, got ${clipped(m.result)}` : `test ${n}: the expected value ${want.refused}`;
      return true;
    }
    if (typeof m.error !== 'string') return false;
    this.firstError ??= `test ${n} ${m.error}`;
    return true;
  }

  /** The verdict: a job-level error (compile error, timeout, memory, ...) wins over the first failed test. */
  result(jobError?: string): CodeRunResult {
    const unfinished = this.next < this.expected.length ? `only ${this.next} of ${this.expected.length} tests ran` : undefined;
    const error = jobError ?? this.firstError ?? unfinished;
    return error === undefined ? { passed: true, passedTests: this.passedTests } : { passed: false, passedTests: this.passedTests, error };
  }
}

/**
 * Runs the first of `candidates` that compiles (all as untrusted code) in a sandbox process.
 * Never rejects: every failure of the sample, including the process dying, is a failed result.
 */
export async function runCodeCandidates(
  candidates: readonly string[],
  entry: string,
  tests: readonly CodeTest[],
  opts: SandboxOptions = {},
): Promise<CodeRunResult> {
  const timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? 2000));
  const maxOldMb = Math.max(16, Math.floor(opts.maxOldGenerationSizeMb ?? 64));
  let args: string[];
  let tally: Tally;
  try {
    args = tests.map((t) => JSON.stringify(t.args ?? []));
    tally = new Tally(tests.map((t) => expectedText(t.expected)));
  } catch (e) {
    return { passed: false, passedTests: 0, error: `tests are not JSON-serialisable: ${message(e)}` };
  }
  const p = await acquire(maxOldMb);
  p.jobs++;
  p.stderr = '';
  return new Promise<CodeRunResult>((resolve) => {
    let settled = false;
    const finish = (jobError: string | undefined, reusable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      p.child.off('message', onMessage);
      p.child.off('close', onExit);
      release(p, reusable);
      resolve(tally.result(jobError));
    };
    /** An abnormal end: V8's heap limit when it said so, else `why`. */
    const abnormal = (why: string): void => {
      finish(/heap out of memory|Allocation failed/i.test(p.stderr) ? `memory limit exceeded (${maxOldMb} MB)` : why, false);
    };
    const onMessage = (m: WorkerMessage): void => {
      if (m?.type === 'test') {
        if (!tally.add(m)) abnormal('sandbox protocol error');
      } else if (m?.type === 'done') {
        if (m.clean === true) finish(typeof m.error === 'string' ? m.error : undefined, true);
        else abnormal(typeof m.error === 'string' ? m.error : 'sandbox error');
      } else if (m?.type !== 'ready') {
        abnormal('sandbox protocol error');
      }
    };
    // 'close' comes after the process exited and its stderr was read to the end.
    const onExit = (code: number | null, signal: string | null): void => {
      abnormal(`sandbox process died (${signal ?? `exit code ${code}`})`);
    };
    const killTimer = setTimeout(() => abnormal(`timed out after ${timeoutMs} ms (sandbox process killed)`), timeoutMs + KILL_GRACE_MS);
    p.child.on('message', onMessage);
    p.child.on('close', onExit);
    if (p.exited) {
      onExit(null, null);
      return;
    }
    p.child.send({ type: 'job', candidates: [...candidates], entry, tests: args, timeoutMs }, (e) => {
      if (e) finish(`could not reach the sandbox process: ${message(e)}`, false);
    });
  });
}

/**
 * Runs generated JavaScript that defines a function `entry` against `tests` (JSON-serialisable
 * arguments and expected values; results are compared as canonical JSON — sorted keys, so key order
 * does not matter; `undefined` inside arrays compares as null, as in JSON; see canonicalJson). A
 * function returning a promise is awaited (within the same budget); one that never settles fails.
 * Results are read without running their code: a Proxy, a getter, or an object other than a plain
 * object or array (Map, Date, class instance, ...) fails the test. Never rejects.
 */
export function runCodeTests(code: string, entry: string, tests: readonly CodeTest[], opts?: SandboxOptions): Promise<CodeRunResult> {
  return runCodeCandidates([code], entry, tests, opts);
}

/**
 * pass@1 of one generation: 1 when the code extracted from it (markdown fences stripped, trailing
 * junk after the function cut — see extractCodeCandidates) passes every test, else 0.
 */
export async function scoreCode(
  output: string,
  reference: { entry: string; tests: readonly CodeTest[] },
  opts?: SandboxOptions,
): Promise<0 | 1> {
  const r = await runCodeCandidates(extractCodeCandidates(output, reference.entry), reference.entry, reference.tests, opts);
  return r.passed ? 1 : 0;
}
