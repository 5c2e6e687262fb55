// Issue 9's federated measurements on the shipped base and a federated config (arith by default):
// (1) RSS with 1 vs N simulated clients, each having trained a step, against the growth the
// adapters and their optimizer state account for; (2) bytes per round and the final validation
// loss under every update codec (same seed), as the change vs fp32; (3) one round's time
// in-process vs through a nats-server on loopback, and the ratio. Figures from one run each.
//   npm run bench:fl [-- --config configs/fl-arith-lora.yaml --clients 100 --codec-rounds 3 --time-rounds 2 --reps 2
//                       --nats nats://127.0.0.1:4222 --skip memory,codecs,transport --json]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { closeSandboxPool } from '../src/eval/sandbox.js';
import { encodeClient } from '../src/fl/client-data.js';
import { federatedData } from '../src/fl/client-files.js';
import { type FlConfig, loadFlConfig } from '../src/fl/fl-config.js';
import { modelSha256 } from '../src/fl/model-fingerprint.js';
import { withModel } from '../src/model/source.js';
import { type CodecRow, codecRuns } from './fl-codecs.js';
import { type ClientMemory, clientMemory } from './fl-memory.js';
import { type TransportTiming, transportTiming } from './fl-transport.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/fl-arith-lora.yaml' },
    clients: { type: 'string', default: '100' },
    'codec-rounds': { type: 'string', default: '3' },
    'time-rounds': { type: 'string', default: '2' },
    reps: { type: 'string', default: '2' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    skip: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const skip = new Set(values.skip.split(',').filter(Boolean));
// A study name of this process's own: the shared nats-server carries other runs' subjects too.
const base = await loadFlConfig(values.config, [`study=flbench-${process.pid}`]);
const out: { config: string; load_average: number[]; memory?: ClientMemory; codecs?: CodecRow[]; transport?: TransportTiming } = {
  config: values.config,
  load_average: [],
};
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(3)} MB`;

await withModel({ dir: base.model, threads: base.threads }, async (loaded) => {
  const sha = await modelSha256(loaded);
  const task = await federatedData(base.data);
  const clients = task.clients.map((c) => encodeClient(loaded.tokenizer, c, base.train.seq_len, base.eval.valid_limit));
  const withRounds = (rounds: number): FlConfig => ({ ...base, rounds });
  if (!skip.has('memory')) {
    const m = await clientMemory(base, loaded, sha, Number(values.clients));
    out.memory = m;
    console.log(
      `memory: RSS ${m.rss_1_client_mb} MB with 1 client, ${m.rss_n_clients_mb} MB with ${m.clients} (each trained 1 step and evaluated): ` +
        `growth ${m.growth_mb} MB; expected ${m.expected_growth_mb} MB = ${m.clients - 1} x (adapter + AdamW m, v) of ${m.adapter_values} fp32 values; ` +
        `JS heap grew ${m.heap_used_growth_mb} MB, ArrayBuffers ${m.array_buffers_growth_mb} MB; the clients' token data ~${m.client_data_mb} MB`,
    );
  }
  if (!skip.has('codecs')) {
    const rows = await codecRuns(withRounds(Number(values['codec-rounds'])), loaded, sha, clients);
    out.codecs = rows;
    console.log(
      `codecs: ${base.data.task ?? 'files'}, ${clients.length} clients, ${values['codec-rounds']} rounds of ${base.train.local_steps} local steps, seed ${base.seed}`,
    );
    console.log('codec                up per round  down per round  final val loss  change vs fp32');
    for (const r of rows)
      console.log(
        `${r.codec.padEnd(20)} ${mb(r.up_bytes_per_round).padStart(13)} ${mb(r.down_bytes_per_round).padStart(15)} ${r.final_val_loss.toFixed(5).padStart(15)} ${r.val_loss_change.toExponential(2).padStart(15)}`,
      );
  }
  if (!skip.has('transport')) {
    const t = await transportTiming(withRounds(Number(values['time-rounds'])), loaded, sha, clients, values.nats, Number(values.reps));
    out.transport = t;
    console.log(
      `round time: in-process ${t.in_process_round_s} s, NATS (${t.nats}) ${t.nats_round_s} s, ratio ${t.ratio} ` +
        `(median of ${t.rounds_each} rounds each); minimum ${t.in_process_min_round_s} s vs ${t.nats_min_round_s} s, ratio ${t.min_ratio}; ` +
        `same final loss: ${t.same_final_loss}`,
    );
  }
});
closeSandboxPool();
out.load_average = loadavg().map((x) => +x.toFixed(2));
console.log(`load average at the end (1/5/15 min): ${out.load_average.join(' ')}`);
if (values.json) console.log(JSON.stringify(out));
