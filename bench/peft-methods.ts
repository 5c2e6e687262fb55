// Each PEFT method on the shipped base model: trainable (and communicated) values, the bytes of one
// client update as the federation sends it (the codec payload of the adapter's tensors, fp32 and
// int8+deflate), and the mean time of a local training step (forward, backward, AdamW) on the
// arith task's records, after a warm-up step.
//   npm run bench:peft [-- --steps 6 --batch-size 8 --seq-len 192 --virtual 8 --threads 2 --json]
import { parseArgs } from 'node:util';
import { encodeExample } from '../src/data/batching.js';
import { toExample } from '../src/data/records.js';
import { loadTask } from '../src/data/tasks/index.js';
import { encodeTensors } from '../src/fl/codec/encode.js';
import { LocalTrainer, adapterTarget } from '../src/fl/local-trainer.js';
import { adapterTensors } from '../src/fl/tensors.js';
import { SHIPPED_BASE_MODEL, openModel } from '../src/model/source.js';
import { initAdapter, loraSettings, type PeftSettings } from '../src/peft/methods.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '6' },
    'batch-size': { type: 'string', default: '8' },
    'seq-len': { type: 'string', default: '192' },
    virtual: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values['batch-size']);
const seqLen = Number(values['seq-len']);
const n = Number(values.virtual);

const lora = loraSettings({ r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] });
const METHODS: [string, PeftSettings][] = [
  ['lora r=8 q,v', lora],
  [`prompt n=${n}`, { ...lora, method: 'prompt', numVirtualTokens: n }],
  [`ptuning n=${n} e=64`, { ...lora, method: 'ptuning', numVirtualTokens: n, encoderHiddenSize: 64 }],
  [`prefix n=${n}`, { ...lora, method: 'prefix', numVirtualTokens: n }],
  [`prefix n=${n} proj e=64`, { ...lora, method: 'prefix', numVirtualTokens: n, prefixProjection: true, encoderHiddenSize: 64 }],
];

const opened = await openModel({ dir: SHIPPED_BASE_MODEL, threads: Number(values.threads) });
const { model, tokenizer } = opened;
const train = loadTask('arith', 0).train.map((r) => encodeExample(tokenizer, toExample(r), seqLen));
const rows: Record<string, string | number>[] = [];
try {
  for (const [name, s] of METHODS) {
    const adapter = await initAdapter(model, s, 0);
    const config = { steps: 1, batchSize, seqLen, lr: 1e-3, optimizer: { kind: 'adamw' as const }, seed: 0, padId: tokenizer.padId };
    await new LocalTrainer(model, config).run(adapterTarget(adapter), train); // warm-up: graph export, session creation
    const r = await new LocalTrainer(model, { ...config, steps }).run(adapterTarget(adapter), train);
    const tensors = adapterTensors(adapter);
    rows.push({
      method: name,
      trainable: adapter.size,
      update_fp32_bytes: encodeTensors(tensors, { precision: 'fp32' }).length,
      update_int8_deflate_bytes: encodeTensors(tensors, { precision: 'int8', compression: 'deflate' }).length,
      step_ms: Math.round((1000 * r.seconds) / r.steps),
    });
    if (!values.json) console.error(`[peft] ${name}: ${JSON.stringify(rows.at(-1))}`);
  }
} finally {
  await opened.close();
}
if (values.json) console.log(JSON.stringify({ batchSize, seqLen, steps, rows }));
else {
  console.log(`shipped base, arith records, batch ${batchSize}, seq_len ${seqLen}, mean of ${steps} steps after a warm-up`);
  console.log('| method | trainable values | update fp32 (bytes) | update int8+deflate (bytes) | step (ms) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.method} | ${r.trainable} | ${r.update_fp32_bytes} | ${r.update_int8_deflate_bytes} | ${r.step_ms} |`);
}
