// The sandbox process's total memory is capped by the OS (RLIMIT_DATA), not only V8's old space:
// strings, ICU's native copies and a failed flattening end as "memory limit exceeded", with the
// sandbox's peak RSS (VmHWM, kept by the kernel, sampled here) under the cap and this process
// unaffected. Linux only (the measurements read /proc).
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSandboxPool, runCodeTests, sandboxMemoryLimitMb } from '../../src/eval/sandbox.js';

afterAll(() => closeSandboxPool());

const ADD_TESTS = [
  { args: [1, 2], expected: 3 },
  { args: [-4, 4], expected: 0 },
];
const GOOD = 'function add(a, b) { return a + b; }';
const CAP_MB = sandboxMemoryLimitMb(64);
/** Generous: a bomb must reach the cap before the budget runs out, even on a loaded machine. */
const BOMB_BUDGET = { timeoutMs: 15_000 };

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Pids of this process's children (from /proc/<pid>/task/<tid>/children, else by scanning ppids). */
function childPids(): number[] {
  const tasks = readdirSync(`/proc/${process.pid}/task`);
  const lists = tasks.map((tid) => procFile(process.pid, `task/${tid}/children`));
  if (lists.some((l) => l !== undefined)) return lists.flatMap((l) => (l ?? '').split(/\s+/).filter(Boolean).map(Number));
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      const stat = procFile(pid, 'stat');
      return stat !== undefined && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
    });
}

/** This process's sandbox processes (node running sandbox-worker.js). */
function sandboxPids(): number[] {
  return childPids().filter((pid) => procFile(pid, 'cmdline')?.includes('sandbox-worker.js'));
}

function statusKb(pid: number, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(procFile(pid, 'status') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Runs `run` while sampling every sandbox process's peak RSS (VmHWM) every few ms. */
async function measured<T>(run: () => Promise<T>): Promise<{ result: T; peakRssMb: number; pids: Set<number> }> {
  let peakKb = 0;
  const pids = new Set<number>();
  const sample = (): void => {
    for (const pid of sandboxPids()) {
      pids.add(pid);
      peakKb = Math.max(peakKb, statusKb(pid, 'VmHWM') ?? 0);
    }
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await run();
    return { result, peakRssMb: peakKb / 1024, pids };
  } finally {
    clearInterval(timer);
  }
}

/** The process has exited (its /proc entry is gone, or it is a zombie not yet reaped). */
const gone = (pid: number): boolean => {
  const status = procFile(pid, 'status');
  return status === undefined || /^State:\s+Z/m.test(status);
};

const hostRssMb = (): number => process.memoryUsage().rss / 2 ** 20;

async function expectHealthy(): Promise<void> {
  expect(await runCodeTests(GOOD, 'add', ADD_TESTS)).toEqual({ passed: true, passedTests: 2 });
}

describe.skipIf(process.platform !== 'linux')('sandbox memory cap', () => {
  it(`runs the sandbox under RLIMIT_DATA = sandboxMemoryLimitMb (${CAP_MB} MB for a 64 MB heap)`, async () => {
    const { result, pids } = await measured(() => runCodeTests(GOOD, 'add', ADD_TESTS));
    expect(result.passed).toBe(true);
    const live = [...pids].filter((pid) => procFile(pid, 'limits') !== undefined);
    expect(live.length).toBeGreaterThan(0);
    for (const pid of live) {
      const line = procFile(pid, 'limits')!
        .split('\n')
        .find((l) => l.startsWith('Max data size'));
      expect(line?.split(/\s{2,}/).slice(1, 3)).toEqual([String(CAP_MB * 2 ** 20), String(CAP_MB * 2 ** 20)]);
    }
  });

  // The reproductions (all free of Buffer/TypedArray/ArrayBuffer, which the sandbox does not
  // expose), plus native memory kept alive. Each used to grow to hundreds of MB or a GB.
  const bombs: [string, string][] = [
    [
      'a flattened two-byte string of 2^29 - 24 characters (1 GB), then an infinite loop',
      'function add() { const s = "\\u1234".repeat(2 ** 29 - 24); s.indexOf("x"); while (true) {} }',
    ],
    [
      'a thrown, flattened 2^29 - 24 character string',
      'function add() { const s = "\\u1234".repeat(2 ** 29 - 24); s.indexOf("x"); throw s; }',
    ],
    [
      'collected Intl.Segmenter iterators (ICU copies the text outside the V8 heap)',
      'function add() { const s = "hello world ".repeat(1e6); for (;;) new Intl.Segmenter("en", { granularity: "word" }).segment(s)[Symbol.iterator]().next(); }',
    ],
    [
      'Intl.Segmenter segments kept alive',
      'const keep = []; function add() { const s = "hello world ".repeat(1e6); for (;;) keep.push(new Intl.Segmenter("en").segment(s)); }',
    ],
  ];

  it.each(bombs)('%s: ends as a memory-limit failure, peak RSS under the cap', async (_name, code) => {
    const hostBefore = hostRssMb();
    const { result, peakRssMb } = await measured(() => runCodeTests(code, 'add', ADD_TESTS, BOMB_BUDGET));
    expect(result).toMatchObject({ passed: false, passedTests: 0 });
    expect(result.error).toMatch(/^memory limit exceeded/);
    expect(peakRssMb).toBeGreaterThan(0);
    expect(peakRssMb).toBeLessThan(CAP_MB);
    expect(hostRssMb() - hostBefore).toBeLessThan(100);
    await expectHealthy();
  });

  it('a thrown 2^29-character string that was never flattened is described by its length, not read', async () => {
    const { result, peakRssMb } = await measured(() =>
      runCodeTests('function add() { throw "x".repeat(2 ** 29 - 24); }', 'add', ADD_TESTS),
    );
    expect(result).toEqual({ passed: false, passedTests: 0, error: 'test 1 threw <a string of 536870888 characters>' });
    expect(peakRssMb).toBeLessThan(150);
  });

  it('an unflattened 2^29-character string and an infinite loop stay small (a rope) and end as a timeout', async () => {
    const code = 'function add() { const s = "\\u1234".repeat(2 ** 29 - 24); while (true) {} }';
    const { result, peakRssMb } = await measured(() => runCodeTests(code, 'add', ADD_TESTS, { timeoutMs: 500 }));
    expect(result.error).toMatch(/timed out/);
    expect(peakRssMb).toBeLessThan(150);
  });

  it('samples that use memory within reason still pass', async () => {
    const samples = [
      // ~40 MB of V8 heap: a million numbers, sorted.
      'function add(a, b) { const xs = Array.from({ length: 1e6 }, (_, i) => (i * 7919) % 1e6); xs.sort((x, y) => x - y); return a + b + xs[0]; }',
      // A 20 MB flat string.
      'function add(a, b) { const s = "ab".repeat(1e7); return s.indexOf("ba") === 1 ? a + b : -1; }',
      // Intl.Segmenter used normally.
      'function add(a, b) { const n = [...new Intl.Segmenter("en", { granularity: "word" }).segment("hello world ".repeat(1000))].length; return n === 4000 ? a + b : n; }',
    ];
    for (const code of samples)
      expect(await runCodeTests(code, 'add', ADD_TESTS, { timeoutMs: 10_000 }), code).toEqual({ passed: true, passedTests: 2 });
  });

  it('pool: a clean process is reused, one that hit the cap or kept much memory is replaced', async () => {
    closeSandboxPool();
    const first = await measured(() => runCodeTests(GOOD, 'add', ADD_TESTS));
    const second = await measured(() => runCodeTests(GOOD, 'add', ADD_TESTS));
    expect([...second.pids].every((pid) => first.pids.has(pid))).toBe(true);

    closeSandboxPool();
    const bomb = await measured(() => runCodeTests(bombs[0]![1], 'add', ADD_TESTS, BOMB_BUDGET));
    expect(bomb.result.error).toMatch(/^memory limit exceeded/);
    expect(bomb.pids.size).toBe(1);
    expect(gone([...bomb.pids][0]!)).toBe(true);

    // Passes, but leaves ~150 MB of ICU copies behind: over half the cap, so the process is not reused.
    const hoard =
      'const keep = []; function add(a, b) { if (!keep.length) for (let i = 0; i < 6; i++) keep.push(new Intl.Segmenter("en").segment("hello world ".repeat(1e6))); return a + b; }';
    closeSandboxPool();
    const kept = await measured(() => runCodeTests(hoard, 'add', ADD_TESTS, { timeoutMs: 10_000 }));
    expect(kept.result).toEqual({ passed: true, passedTests: 2 });
    expect(kept.pids.size).toBe(1);
    await expect.poll(() => gone([...kept.pids][0]!)).toBe(true);
    await expectHealthy();
  });
});
