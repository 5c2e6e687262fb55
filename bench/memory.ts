// Base weights exist once: RSS with 1 vs 50 LoRA adapters (each trained one step, evaluated and
// used for generation) on one base model, against the bytes the adapters themselves account for.
//   npm run bench:memory [-- --adapters 50 --json]
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.js';
import { makeBatches } from '../src/data/batching.js';
import { parseLlamaConfig } from '../src/model/config.js';
import { LlamaModel, initWeights } from '../src/model/model.js';
import { LoraAdapter } from '../src/peft/lora.js';
import { LocalTrainer, evaluate, loraTarget } from '../src/fl/local-trainer.js';
import { encodeSynthetic } from './synthetic.js';

const { values } = parseArgs({
  options: {
    adapters: { type: 'string', default: '50' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.adapters);
const MB = 2 ** 20;
const rss = (): number => {
  global.gc?.();
  return process.memoryUsage().rss / MB;
};

const cfg = parseLlamaConfig({ vocab_size: 4096, hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 8, num_attention_heads: 8 });
const engine = new Engine({ threads: Number(values.threads) });
const rss0 = rss();
const weights = initWeights(cfg, 0);
let baseBytes = 0;
for (const w of weights.values()) baseBytes += w.byteLength;
const model = await LlamaModel.fromWeights(engine, cfg, weights); // transfers: no copy stays here
const data = encodeSynthetic(cfg.vocab_size, 8, 64, 0);
const valid = makeBatches(data, { batchSize: 4, seqLen: 64, shuffle: false, padId: 0 });
const trainer = new LocalTrainer(model, { steps: 1, batchSize: 4, seqLen: 64, lr: 1e-3, optimizer: { kind: 'adamw' }, seed: 0, padId: 0 });

const adapters: LoraAdapter[] = [];
async function client(i: number, keep = true): Promise<void> {
  const a = LoraAdapter.init(cfg, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, i);
  await trainer.run(loraTarget(a), data);
  await evaluate(model, loraTarget(a), valid);
  await model.generate([[5, 6, 7]], { maxNewTokens: 2, adapter: { spec: a.graphSpec, feeds: a.feeds() } });
  if (keep) adapters.push(a);
}

// ORT plans each session's activation memory on its first runs and keeps it ("memory pattern"):
// a one-time cost per graph and shape, so the first adapter's graphs run once before measuring.
await client(0, false);
await client(0);
const rssOne = rss();
const series: [number, number][] = [[1, Math.round(rssOne)]];
for (let i = 1; i < N; i++) {
  await client(i);
  if ((i + 1) % 10 === 0) series.push([i + 1, Math.round(rss())]);
}
const rssMany = rss();
console.log(`RSS (MB) by adapters: ${series.map(([n, m]) => `${n}:${m}`).join(' ')}`);
const adapterBytes = adapters[0]!.size * 4;
const growth = rssMany - rssOne;
const out = {
  base_mb: +(baseBytes / MB).toFixed(1),
  rss_before_mb: Math.round(rss0),
  rss_1_adapter_mb: Math.round(rssOne),
  rss_n_adapters_mb: Math.round(rssMany),
  adapters: N,
  growth_mb: +growth.toFixed(1),
  adapters_accounted_mb: +(((N - 1) * adapterBytes) / MB).toFixed(1),
  base_copies_if_duplicated_mb: +(((N - 1) * baseBytes) / MB).toFixed(0),
};
console.log(
  `base model ${out.base_mb} MB (${cfg.num_hidden_layers} layers, hidden ${cfg.hidden_size}, vocab ${cfg.vocab_size}); LoRA r=8 q,v: ${(adapterBytes / 1024).toFixed(0)} KB per adapter`,
);
console.log(
  `RSS: ${out.rss_before_mb} MB before the model, ${out.rss_1_adapter_mb} MB with 1 adapter (train+eval+generate graphs), ${out.rss_n_adapters_mb} MB with ${N}`,
);
console.log(
  `growth for ${N - 1} more adapters: ${out.growth_mb} MB; the adapters account for ${out.adapters_accounted_mb} MB; one base copy each would be ${out.base_copies_if_duplicated_mb} MB`,
);
if (values.json) console.log(JSON.stringify(out));
await engine.close();
