// Where a LoRA training step's time goes (issue 15): runs the keep and the lean training graph of
// a shape once each under onnxruntime's profiler and prints each graph's kernel time and output
// bytes per op type. onnxruntime directly (not the engine worker), so the session can be profiled.
//   npx tsx bench/profile-step.ts [--shape smollm-135m] [--runs 2] [--threads 2]
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { expectedTensorShapes, parseLlamaConfig } from '../src/model/config.js';
import { type ActivationMemory, trainingGraph } from '../src/model/graphs.js';
import { initWeights } from '../src/model/model.js';
import { LoraAdapter } from '../src/peft/lora.js';
import { SHAPES } from './scale-shapes.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'smollm-135m' },
    runs: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
  },
});
const BATCH = 4;
const SEQ = 256;
const cfg = parseLlamaConfig(SHAPES[values.shape]!);
const adapter = LoraAdapter.init(cfg, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, 0);
const weights = initWeights(cfg, 0, 0.02, Infinity);
const shapes = expectedTensorShapes(cfg);
const feeds: Record<string, ort.Tensor> = {};
for (const [name, t] of Object.entries(adapter.feeds())) feeds[name] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
const ids = BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => BigInt((i * 7919) % cfg.vocab_size));
feeds.input_ids = new ort.Tensor('int64', ids, [BATCH, SEQ]);
feeds.labels = new ort.Tensor(
  'int64',
  ids.map((_, i) => ids[(i + 1) % ids.length]!),
  [BATCH, SEQ],
);

for (const memory of ['keep', 'lean'] as ActivationMemory[]) {
  const graph = trainingGraph(cfg, 'adapter', adapter.graphSpec, memory);
  const session = await ort.InferenceSession.create(graph.bytes, {
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: `/tmp/fedhpo-profile-${memory}`,
  });
  const run: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const w = weights.get(name);
    run[name] = w ? new ort.Tensor('float32', w, shapes.get(name)!) : feeds[name]!;
  }
  const t0 = performance.now();
  for (let i = 0; i < Number(values.runs); i++) await session.run(run);
  const seconds = (performance.now() - t0) / 1000 / Number(values.runs);
  session.endProfiling(); // writes <prefix>_<timestamp>.json
  await session.release();
  const prefix = `fedhpo-profile-${memory}_`;
  const name = readdirSync('/tmp').find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!name) throw new Error(`no /tmp/${prefix}*.json written`);
  const file = `/tmp/${name}`;
  const events = JSON.parse(readFileSync(file, 'utf8')) as {
    cat: string;
    dur: number;
    args?: { op_name?: string; output_size?: string };
  }[];
  rmSync(file);
  const byOp = new Map<string, { us: number; bytes: number }>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.op_name) continue;
    const a = byOp.get(e.args.op_name) ?? { us: 0, bytes: 0 };
    a.us += e.dur;
    a.bytes += Number(e.args.output_size ?? 0);
    byOp.set(e.args.op_name, a);
    total += e.dur;
  }
  console.log(`${values.shape} ${memory}: ${seconds.toFixed(2)} s per step (${values.runs} runs), kernel time by op type:`);
  for (const [op, a] of [...byOp].sort((x, y) => y[1].us - x[1].us).slice(0, 12))
    console.log(
      `  ${op.padEnd(28)} ${((100 * a.us) / total).toFixed(1).padStart(5)} %  outputs ${(a.bytes / 2 ** 20 / Number(values.runs)).toFixed(0).padStart(6)} MiB per step`,
    );
}
