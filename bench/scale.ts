// Scale benchmark (issue 15): tokens/s and peak RSS of one LoRA training step
// (LoRA r=8 on q_proj,v_proj, AdamW, batch 4 x 256, 2 threads) on a random model of three shapes,
// each beside a MatMul peak measured in the same process (as bench/engine.ts does). Each shape runs
// in its own child process (this script with --shape NAME), so none inherits another's heap; the
// parent polls the child's RSS, and stops it past --max-rss-gb or --timeout, recording what it saw.
// --memory keep|lean forces the training graph (default: what LlamaModel picks for the shape).
//   npm run bench:scale [-- --shape smollm-135m --steps 3 --timeout 600 --max-rss-gb 12 --memory keep --json]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.js';
import { matmulFlops } from '../src/engine/flops.js';
import { LocalTrainer, loraTarget } from '../src/fl/local-trainer.js';
import { parameterCount, parseLlamaConfig } from '../src/model/config.js';
import { activationMemoryFor, trainingGraph, type ActivationMemory } from '../src/model/graphs.js';
import { LlamaModel, initWeights } from '../src/model/model.js';
import { type LoraConfig, LoraAdapter } from '../src/peft/lora.js';
import { matmulPeak } from './matmul-peak.js';
import { OPT_IN, SHAPES } from './scale-shapes.js';
import { encodeSynthetic } from './synthetic.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string' },
    child: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '600' },
    'max-rss-gb': { type: 'string', default: '12' },
    json: { type: 'boolean', default: false },
    /** keep | lean | auto (the default: what `fedhpo train` picks for the shape). */
    memory: { type: 'string', default: 'auto' },
  },
});
const BATCH = 4;
const SEQ = 256;
const lora: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] };
const MB = 2 ** 20;

interface ShapeResult {
  shape: string;
  /** The training graph's activation memory (lean: layers recomputed, vocabulary-chunked loss). */
  memory?: ActivationMemory;
  status: 'ok' | 'timeout' | 'rss-limit' | 'failed';
  params?: number;
  step_ms?: number;
  tokens_per_s?: number;
  step_gflop?: number;
  gflops?: number;
  matmul_peak_gflops?: number;
  peak_fraction?: number;
  peak_rss_mb?: number;
  init_s?: number;
  seconds?: number;
  /** For a shape that did not finish: the phase it was in and when that phase began (s). */
  phase?: string;
  phase_at_s?: number;
  error?: string;
}

/** One shape, in this process: prints one JSON line prefixed RESULT. */
async function runShape(name: string): Promise<void> {
  const cfg = parseLlamaConfig(SHAPES[name]!);
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  const engine = new Engine({ threads: Number(values.threads) });
  const phase = (p: string) => console.log(`PHASE ${p}`);
  phase('init weights');
  const t0 = performance.now();
  const params = parameterCount(cfg);
  const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 0, 0.02, Infinity));
  const memory = values.memory === 'auto' ? activationMemoryFor(cfg, BATCH, SEQ) : (values.memory as ActivationMemory);
  model.activationMemory = memory;
  const init_s = (performance.now() - t0) / 1000;
  const adapter = LoraAdapter.init(cfg, lora, 0);
  const data = encodeSynthetic(cfg.vocab_size, BATCH * (steps + warmup + 1), SEQ, 1);
  const config = { steps: warmup, batchSize: BATCH, seqLen: SEQ, lr: 1e-3, optimizer: { kind: 'adamw' as const }, seed: 0, padId: 0 };
  phase('warm-up step');
  if (warmup > 0) await new LocalTrainer(model, config).run(loraTarget(adapter), data); // session creation, first-run allocations
  phase('timed steps');
  const peak1 = await matmulPeak(engine);
  const result = await new LocalTrainer(model, { ...config, steps }).run(loraTarget(adapter), data);
  const peak2 = await matmulPeak(engine);
  const peak = Math.max(peak1, peak2);
  // FLOPs of the 'keep' graph: the useful work, so a lean step's recomputation shows as a lower fraction.
  const stepFlops = matmulFlops(trainingGraph(cfg, 'adapter', adapter.graphSpec, 'keep'), { b: BATCH, s: SEQ, r: lora.r });
  const gflops = (stepFlops * result.steps) / result.seconds / 1e9;
  const out: ShapeResult = {
    shape: name,
    memory,
    status: 'ok',
    params,
    step_ms: Math.round((result.seconds / result.steps) * 1000),
    tokens_per_s: Math.round((BATCH * SEQ * result.steps) / result.seconds),
    step_gflop: +(stepFlops / 1e9).toFixed(1),
    gflops: +gflops.toFixed(2),
    matmul_peak_gflops: +peak.toFixed(2),
    peak_fraction: +(gflops / peak).toFixed(3),
    // ru_maxrss is the process's peak resident set (worker threads included), in KiB.
    peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
    init_s: +init_s.toFixed(1),
  };
  console.log(`RESULT ${JSON.stringify(out)}`);
  await engine.close();
}

/** RSS of a process in MB from /proc, or undefined once it is gone. */
function procRssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Run one shape in a child process, with a wall-clock timeout and an RSS ceiling. */
function spawnShape(name: string): Promise<ShapeResult> {
  const timeoutMs = Number(values.timeout) * 1000;
  const maxRssMb = Number(values['max-rss-gb']) * 1024;
  const args = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--child',
    '--shape',
    name,
    '--threads',
    values.threads,
    '--steps',
    values.steps,
    '--warmup',
    values.warmup,
    '--memory',
    values.memory,
  ];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let seenRss = 0;
    let stopped: 'timeout' | 'rss-limit' | undefined;
    let phase: string | undefined;
    let phaseAt = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
      const phases = [...stdout.matchAll(/^PHASE (.+)$/gm)];
      const last = phases.at(-1)?.[1];
      if (last !== phase) {
        phase = last;
        phaseAt = +((performance.now() - started) / 1000).toFixed(1);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      const rss = child.pid !== undefined ? procRssMb(child.pid) : undefined;
      if (rss !== undefined) seenRss = Math.max(seenRss, rss);
      if (stopped) return;
      if (rss !== undefined && rss > maxRssMb) stopped = 'rss-limit';
      else if (performance.now() - started > timeoutMs) stopped = 'timeout';
      if (stopped) child.kill('SIGKILL');
    }, 500);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      const seconds = +((performance.now() - started) / 1000).toFixed(1);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line && !stopped) {
        resolve({ ...(JSON.parse(line.slice(7)) as ShapeResult), seconds });
        return;
      }
      const status = stopped ?? 'failed';
      const error =
        stopped === 'timeout'
          ? `stopped after ${values.timeout}s`
          : stopped === 'rss-limit'
            ? `stopped at RSS over ${values['max-rss-gb']} GB`
            : `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      resolve({ shape: name, status, peak_rss_mb: Math.round(seenRss), seconds, phase, phase_at_s: phaseAt, error });
    });
  });
}

if (values.child) {
  await runShape(values.shape!);
} else {
  if (!['keep', 'lean', 'auto'].includes(values.memory)) throw new Error(`--memory: keep, lean or auto, got ${values.memory}`);
  const names = values.shape ? [values.shape] : Object.keys(SHAPES).filter((n) => !OPT_IN.has(n));
  for (const n of names) if (!(n in SHAPES)) throw new Error(`unknown shape ${n}; one of ${Object.keys(SHAPES).join(', ')}`);
  console.log(
    `LoRA r=8 on q,v, AdamW, batch ${BATCH}x${SEQ}, ${values.threads} thread(s), ${values.warmup} warm-up + ${values.steps} timed step(s); one child process per shape`,
  );
  const results: ShapeResult[] = [];
  for (const n of names) {
    const r = await spawnShape(n);
    results.push(r);
    if (r.status === 'ok') {
      console.log(
        `${n} (${r.memory}): ${(r.params! / 1e6).toFixed(1)}M params, step ${r.step_ms} ms (${r.step_gflop} GFLOP of MatMul), tokens/s ${r.tokens_per_s}, ` +
          `${r.gflops} GFLOP/s vs MatMul peak ${r.matmul_peak_gflops} GFLOP/s (fraction ${r.peak_fraction}), peak RSS ${r.peak_rss_mb} MB, ` +
          `init ${r.init_s} s, total ${r.seconds} s`,
      );
    } else
      console.log(
        `${n}: ${r.status} after ${r.seconds} s in phase "${r.phase}" (entered at ${r.phase_at_s} s), highest RSS seen ${r.peak_rss_mb} MB: ${r.error}`,
      );
  }
  if (values.json) console.log(JSON.stringify(results));
}
