// Engine benchmark on the reference configuration (DESIGN.md): tokens/s of a full LoRA training
// step (forward, backward, AdamW), the MatMul FLOP rate it implies, a MatMul peak measured in the
// same run at the same thread count, their ratio, and RSS.
//   npm run bench:engine [-- --threads 2 --steps 6 --json]
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.js';
import { matmulFlops } from '../src/engine/flops.js';
import { matmulPeak } from './matmul-peak.js';
import { encodeSynthetic } from './synthetic.js';
import { parseLlamaConfig } from '../src/model/config.js';
import { trainingGraph } from '../src/model/graphs.js';
import { LlamaModel, initWeights } from '../src/model/model.js';
import { LoraAdapter } from '../src/peft/lora.js';
import { LocalTrainer, loraTarget } from '../src/fl/local-trainer.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '6' },
    json: { type: 'boolean', default: false },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
const BATCH = 16;
const SEQ = 128;
const cfg = parseLlamaConfig({ vocab_size: 1024, hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4 });
const lora = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] as const };

const engine = new Engine({ threads });

const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 0));
const adapter = LoraAdapter.init(cfg, { ...lora, targets: [...lora.targets] }, 0);
const data = encodeSynthetic(cfg.vocab_size, BATCH * (steps + 2), SEQ, 1);
const trainer = new LocalTrainer(model, {
  steps: 2,
  batchSize: BATCH,
  seqLen: SEQ,
  lr: 1e-3,
  optimizer: { kind: 'adamw' },
  seed: 0,
  padId: 0,
});
await trainer.run(loraTarget(adapter), data); // warm-up: session creation, first-run allocations

const peak1 = await matmulPeak(engine);
const timed = new LocalTrainer(model, { ...trainer.config, steps });
const result = await timed.run(loraTarget(adapter), data);
const peak2 = await matmulPeak(engine);
const peak = Math.max(peak1, peak2);

const stepFlops = matmulFlops(trainingGraph(cfg, 'adapter', adapter.graphSpec), { b: BATCH, s: SEQ, r: lora.r });
const seconds = result.seconds;
const tokensPerS = (BATCH * SEQ * result.steps) / seconds;
const gflops = (stepFlops * result.steps) / seconds / 1e9;
const rssMb = process.memoryUsage().rss / 2 ** 20;
const out = {
  tokens_per_s: Math.round(tokensPerS),
  gflops: +gflops.toFixed(2),
  matmul_peak_gflops: +peak.toFixed(2),
  peak_fraction: +(gflops / peak).toFixed(3),
  rss_mb: Math.round(rssMb),
};
console.log(`reference config: d=256 L=4 H=4 ffn=688 V=1024, batch ${BATCH}x${SEQ}, LoRA r=8 on q,v, AdamW, ${threads} thread(s)`);
console.log(`step: ${((seconds / result.steps) * 1000).toFixed(0)} ms, ${(stepFlops / 1e9).toFixed(2)} GFLOP of MatMul per step`);
console.log(
  `tokens/s ${out.tokens_per_s}  achieved ${out.gflops} GFLOP/s  MatMul peak ${out.matmul_peak_gflops} GFLOP/s  fraction ${out.peak_fraction}  RSS ${out.rss_mb} MB`,
);
if (values.json) console.log(JSON.stringify(out));
await engine.close();
