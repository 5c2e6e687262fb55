// Bytes per message for the reference adapter (DESIGN.md: d_model 256, 4 layers, LoRA r=8 on q_proj
// and v_proj = 32768 values) under every codec setting, for the full local adapter and for its delta
// from the global adapter, with the relative error each setting puts on the update (w - w_global).
// The adapter is really trained: a few AdamW steps on the bench model from a global with B != 0.
//   npx tsx bench/codec.ts [-- --steps 10 --json]
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/engine/rng.js';
import { type CodecSettings, decodeTensors, encodeTensors } from '../src/fl/codec/codec.js';
import { LocalTrainer, loraTarget } from '../src/fl/local-trainer.js';
import { adapterTensors, type NamedTensors, subtractTensors } from '../src/fl/tensors.js';
import { parseLlamaConfig } from '../src/model/config.js';
import { LlamaModel, initWeights } from '../src/model/model.js';
import { LoraAdapter } from '../src/peft/lora.js';
import { encodeSynthetic } from './synthetic.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } } });
const steps = Number(values.steps);
const cfg = parseLlamaConfig({ vocab_size: 1024, hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4 });

const engine = new Engine({ threads: 2 });
const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 0));
const adapter = LoraAdapter.init(cfg, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, 0);
// A global from earlier rounds: B is no longer zero.
const rng = new Rng(1);
for (const [name, t] of adapter.tensors) if (name.includes('lora_B')) rng.fillNormal(t, 0.01);
const global = adapterTensors(adapter);
const data = encodeSynthetic(cfg.vocab_size, 16 * (steps + 1), 128, 1);
const trainer = new LocalTrainer(model, { steps, batchSize: 16, seqLen: 128, lr: 1e-3, optimizer: { kind: 'adamw' }, seed: 0, padId: 0 });
await trainer.run(loraTarget(adapter), data);
await engine.close();
const local = adapterTensors(adapter);
const update = subtractTensors(local, global);

const norm = (t: NamedTensors) => Math.sqrt([...t.values()].reduce((s, x) => s + x.data.reduce((a, v) => a + v * v, 0), 0));
const settings: CodecSettings[] = [
  { precision: 'fp32' },
  { precision: 'fp16' },
  { precision: 'int8', granularity: 'tensor' },
  { precision: 'int8', granularity: 'channel' },
];
const label = (s: CodecSettings) =>
  `${s.precision}${s.precision === 'int8' ? `/${s.granularity}` : ''}${s.compression === 'deflate' ? '+deflate' : ''}`;
const rows = settings
  .flatMap((s) => [s, { ...s, compression: 'deflate' as const }])
  .map((s) => {
    const full = encodeTensors(local, s);
    const delta = encodeTensors(update, s);
    // Update error when sending full weights (server subtracts the global) vs sending the delta.
    const fullErr = norm(subtractTensors(subtractTensors(decodeTensors(full).tensors, global), update)) / norm(update);
    const deltaErr = norm(subtractTensors(decodeTensors(delta).tensors, update)) / norm(update);
    return {
      setting: label(s),
      full_bytes: full.length,
      delta_bytes: delta.length,
      update_rel_err_full: fullErr,
      update_rel_err_delta: deltaErr,
    };
  });
console.log(`reference adapter: 32768 values, ${steps} AdamW steps (lr 1e-3) from a global with B ~ N(0, 0.01^2)`);
console.log('setting                 full bytes  delta bytes  update error (full)  update error (delta)');
for (const r of rows)
  console.log(
    `${r.setting.padEnd(22)} ${String(r.full_bytes).padStart(11)} ${String(r.delta_bytes).padStart(12)} ${r.update_rel_err_full.toExponential(2).padStart(20)} ${r.update_rel_err_delta.toExponential(2).padStart(21)}`,
  );
if (values.json) console.log(JSON.stringify(rows));
