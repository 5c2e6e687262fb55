// Running untrusted generated JavaScript against unit tests, for pass@1.
//
// The code runs in a separate, bare Node process (./sandbox-worker.js): forked under an OS limit on
// its total memory, with a V8 heap limit, with code generation from strings disabled, no loader
// hooks and an empty environment. In it, each job gets a fresh node:vm context stripped to plain
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
// Why an OS limit as well as the heap limit: --max-old-space-size bounds V8's old space only. A
// flattened 2^29-character string (1 GB), ICU's native copies behind Intl.Segmenter iterators and
// other native memory grow past it (measured: 1.07 GB RSS for `"\u1234".repeat(2**29-24)` once
// flattened). See sandboxMemoryLimitMb for the limit and the measurements behind it.
//
// Processes are pooled (at most MAX_PROCESSES): one that finished a job cleanly (a pass, or an
// ordinary failure — wrong result, exception, syntax error — all confined to the discarded vm
// context) and holds little memory takes the next job, up to MAX_JOBS_PER_PROCESS; after a
// timeout, crash, memory exhaustion or any protocol surprise it is killed and a fresh one is forked.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CodeTest } from '../data/tasks/types.js';
import { extractCodeCandidates } from './code-extract.js';
import { canonicalJson } from './sandbox-canonical.js';

export interface SandboxOptions {
  /** Time budget for the whole sample (top-level code plus every test), ms. Default 2000. */
  timeoutMs?: number;
  /**
   * V8 old-generation heap limit of the sandbox process, MB. Default 64. The process's total
   * memory is capped at sandboxMemoryLimitMb(this) (320 MB for the default).
   */
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

/**
 * The cap on the sandbox process's total memory, MB, for a V8 old-space limit of `maxOldMb`:
 * RLIMIT_DATA (ulimit -d), set by the shell that execs node. Why this limit and this value
 * (measured with Node 20.20 on Linux 6.18 x86_64, 64 MB old space unless said):
 *  - RLIMIT_AS (ulimit -v) does not fit: V8 reserves address space it never touches (VmSize is
 *    760 MB right after start and 1.1 GB once the heap is full, at 42–150 MB RSS), and node fails
 *    at startup under 800 MB ("Failed to reserve virtual memory for CodeRange"). A cap high enough
 *    for normal samples would bound nothing near the RSS we care about.
 *  - RLIMIT_DATA counts private writable mappings (Linux >= 4.7): V8 pages in use, malloc arenas,
 *    thread stacks, ICU buffers — what RSS can grow by — and not V8's inaccessible reservations.
 *    Node's own VmData is ~88 MB after start; it fails to start under ~100 MB (its watchdog and
 *    platform threads cannot get stacks). Samples that fill the V8 heap up to its limit reach
 *    VmData 117–121 MB at 16 MB old space, 181–192 MB at 64, 246–260 at 128, 296–350 at 256:
 *    about 110 MB + 1.3 × old space.
 *  - So 2 × old space + 192 MB (320 MB for 64) leaves every heap-bound sample at most ~60% of the
 *    cap, while a flattened 1 GB string fails at its allocation (peak RSS 43 MB) and ICU's copies
 *    behind Intl.Segmenter stop at the cap (peak RSS 229–239 MB: RSS is VmData's touched part plus
 *    ~30 MB of node's shared text, so it stays under the cap).
 * What hitting it looks like: V8 aborts with "Fatal process out of memory" / "heap out of memory"
 * (a failed V8 allocation), or a native allocation failure crashes the process (ICU: SIGSEGV), or
 * the process crawls through garbage collections at the cap until the kill timer; the last two are
 * recognised by the VmData this process samples during the job.
 */
export function sandboxMemoryLimitMb(maxOldMb: number): number {
  return 2 * maxOldMb + 192;
}

/** A job that ends abnormally while its process held at least this share of the cap hit the cap. */
const NEAR_LIMIT = 0.75;
/** A process holding more than this share of the cap after a clean job is not reused. */
const REUSE_LIMIT = 0.5;
const MEMORY_SAMPLE_MS = 20;
/** V8's and the C++ runtime's words for a failed allocation. */
const OOM_STDERR = /out of memory|Allocation failed|Failed to reserve|bad_alloc|Cannot allocate memory/i;

/** The process's VmData in kB (Linux), or undefined when it cannot be read (gone, not Linux). */
function vmDataKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmData:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

type WorkerMessage =
  | { type: 'ready' }
  /** One test's outcome: the canonical JSON of the result, or why there is none. */
  | { type: 'test'; i: number; result?: string; error?: string }
  /** A script job passed (see runScriptTest); sent before its 'done'. */
  | { type: 'script'; passed: boolean; assertions: number }
  /** clean: nothing but ordinary passes/failures happened (no timeout), so the process can be reused. */
  | { type: 'done'; clean: boolean; error?: string };

interface SandboxProcess {
  child: ChildProcess;
  maxOldMb: number;
  /** The cap on its VmData, kB. */
  limitKb: number;
  jobs: number;
  stderr: string;
  exited: boolean;
}

const idle: SandboxProcess[] = [];
let busy = 0;
const waiting: (() => void)[] = [];

/**
 * How the process is started: through /bin/sh, which sets RLIMIT_DATA and execs node in its place
 * (same pid, the IPC channel's descriptor inherited). Node has no setrlimit API; `ulimit -d` is in
 * every POSIX shell (dash, bash, busybox), so a fresh Debian machine needs nothing extra. `&&`: if
 * the limit cannot be set, node is not started at all.
 */
function launcher(maxOldMb: number, limitKb: number): { execPath: string; execArgv: string[] } {
  const nodeArgs = [`--max-old-space-size=${maxOldMb}`, '--disallow-code-generation-from-strings', '--no-warnings'];
  if (process.platform === 'win32') return { execPath: process.execPath, execArgv: nodeArgs };
  return { execPath: '/bin/sh', execArgv: ['-c', `ulimit -d ${limitKb} && exec "$0" "$@"`, process.execPath, ...nodeArgs] };
}

function spawnSandbox(maxOldMb: number): SandboxProcess {
  const limitKb = sandboxMemoryLimitMb(maxOldMb) * 1024;
  const child = fork(WORKER_PATH, [], {
    ...launcher(maxOldMb, limitKb),
    env: {},
    cwd: tmpdir(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const p: SandboxProcess = { child, maxOldMb, limitKb, jobs: 0, stderr: '', exited: false };
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
  // A process that kept much memory (native garbage not yet collected, a fragmented heap) would
  // make the next sample fail at the cap for what this one did.
  // (Without /proc — not Linux — there is no reading, and the limit is not enforced either.)
  const dataKb = vmDataKb(p.child.pid);
  const lowMemory = dataKb === undefined ? process.platform !== 'linux' : dataKb <= REUSE_LIMIT * p.limitKb;
  if (reusable && lowMemory && !p.exited && p.child.connected && p.jobs < MAX_JOBS_PER_PROCESS) {
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
class Tally implements Collector {
  private next = 0;
  passedTests = 0;
  private firstError: string | undefined;

  constructor(private readonly expected: readonly Canonical[]) {}

  /** Takes one test's outcome; false when the message breaks the protocol. */
  add(m: WorkerMessage): boolean {
    if (m.type !== 'test') return false;
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

/** Samples a sandbox process's VmData while it runs a job, to tell "hit the memory cap" from other deaths. */
class MemoryWatch {
  private peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly p: SandboxProcess) {
    this.timer = setInterval(() => this.sample(), MEMORY_SAMPLE_MS);
    this.timer.unref();
  }

  sample(): void {
    this.peakKb = Math.max(this.peakKb, vmDataKb(this.p.child.pid) ?? 0);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The job ended abnormally (crash, kill, timeout): was the cap the reason? */
  hitLimit(): boolean {
    return OOM_STDERR.test(this.p.stderr) || this.peakKb >= NEAR_LIMIT * this.p.limitKb;
  }
}

/** What the parent makes of a job's messages: the per-test tally, or a script job's verdict. */
interface Collector {
  /** Takes one message of the job; false when it breaks the protocol. */
  add(m: WorkerMessage): boolean;
  result(jobError?: string): CodeRunResult;
}

/** A script job's verdict: passed only when the worker said so before a clean 'done' without error. */
class ScriptVerdict implements Collector {
  private passed = false;
  private assertions = 0;

  add(m: WorkerMessage): boolean {
    if (m.type !== 'script' || this.passed || m.passed !== true || typeof m.assertions !== 'number') return false;
    this.passed = true;
    this.assertions = m.assertions;
    return true;
  }

  result(jobError?: string): CodeRunResult {
    if (jobError !== undefined) return { passed: false, passedTests: 0, error: jobError };
    if (!this.passed) return { passed: false, passedTests: 0, error: 'the test gave no verdict' };
    return { passed: true, passedTests: this.assertions };
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
  let args: string[];
  let tally: Tally;
  try {
    args = tests.map((t) => JSON.stringify(t.args ?? []));
    tally = new Tally(tests.map((t) => expectedText(t.expected)));
  } catch (e) {
    return { passed: false, passedTests: 0, error: `tests are not JSON-serialisable: ${message(e)}` };
  }
  return runSandboxJob({ candidates: [...candidates], entry, tests: args }, tally, opts);
}

/**
 * Runs the first of `candidates` that compiles, then `test`: JavaScript test code that calls the
 * sample and checks it with `assert` (node:assert's API, via `require('node:assert')` or as a free
 * name) or `console.assert`, as HumanEval-style JavaScript tests do. Both run in the sandbox process,
 * never here; the realm is locked down before the sample runs, and the harness decides pass/fail
 * (see sandbox-script-harness.js). Passes when the test ends without a failed assertion, having
 * made at least one. `passedTests` of a pass counts the assertions. Never rejects.
 */
export function runScriptTest(candidates: readonly string[], test: string, opts: SandboxOptions = {}): Promise<CodeRunResult> {
  return runSandboxJob({ mode: 'script', candidates: [...candidates], test }, new ScriptVerdict(), opts);
}

async function runSandboxJob(job: Record<string, unknown>, collector: Collector, opts: SandboxOptions): Promise<CodeRunResult> {
  const timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? 2000));
  const maxOldMb = Math.max(16, Math.floor(opts.maxOldGenerationSizeMb ?? 64));
  const p = await acquire(maxOldMb);
  p.jobs++;
  p.stderr = '';
  const memoryError = `memory limit exceeded (${sandboxMemoryLimitMb(maxOldMb)} MB for the process, ${maxOldMb} MB heap)`;
  return new Promise<CodeRunResult>((resolve) => {
    const watch = new MemoryWatch(p);
    let settled = false;
    const finish = (jobError: string | undefined, reusable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      watch.stop();
      p.child.off('message', onMessage);
      p.child.off('close', onExit);
      release(p, reusable);
      resolve(collector.result(jobError));
    };
    /** An abnormal end: the memory cap when the process was at it, else `why`. */
    const abnormal = (why: string): void => {
      watch.sample();
      finish(watch.hitLimit() ? memoryError : why, false);
    };
    const onMessage = (m: WorkerMessage): void => {
      if (m?.type === 'test' || m?.type === 'script') {
        if (!collector.add(m)) abnormal('sandbox protocol error');
      } else if (m?.type === 'done') {
        if (m.clean === true) finish(typeof m.error === 'string' ? m.error : undefined, true);
        else abnormal(typeof m.error === 'string' ? m.error : 'sandbox error');
      } else if (m?.type !== 'ready') {
        abnormal('sandbox protocol error');
      }
    };
    // 'close' comes after the process exited and its stderr was read to the end.
    const onExit = (code: number | null, signal: string | null): void => {
      if (/ulimit/.test(p.stderr)) finish('the sandbox process could not set its memory limit (ulimit -d)', false);
      else abnormal(`sandbox process died (${signal ?? `exit code ${code}`})`);
    };
    const killTimer = setTimeout(() => abnormal(`timed out after ${timeoutMs} ms (sandbox process killed)`), timeoutMs + KILL_GRACE_MS);
    p.child.on('message', onMessage);
    p.child.on('close', onExit);
    if (p.exited) {
      onExit(null, null);
      return;
    }
    p.child.send({ type: 'job', ...job, timeoutMs }, (e) => {
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

/**
 * pass@1 of one generation against test code: the program is `prefix` (the prompt the generation
 * continues) + `output`, cut to its definitions (extractCodeCandidates); 1 when runScriptTest passes.
 */
export async function scoreScript(
  output: string,
  reference: { entry: string; test: string; prefix: string },
  opts?: SandboxOptions,
): Promise<0 | 1> {
  const r = await runScriptTest(extractCodeCandidates(reference.prefix + output, reference.entry), reference.test, opts);
  return r.passed ? 1 : 0;
}
