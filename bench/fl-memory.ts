// RSS of one process simulating 1 vs N federated clients on one shared base model: each client
// trains one local step, sends its update and scores the new global, then RSS is read (after a GC)
// while every client actor is still alive. The expected growth counts, per extra client, one
// adapter and its AdamW state (m, v): three fp32 copies of the adapter.
import type { ClientData } from '../src/fl/client-data.js';
import type { FlConfig } from '../src/fl/fl-config.js';
import type { LoadedModel } from '../src/model/source.js';
import { LoraAdapter } from '../src/peft/lora.js';
import { runFederation } from '../src/actors/federation.js';
import { encodeSynthetic } from './synthetic.js';

const MB = 2 ** 20;
const SEQ = 64;

export interface ClientMemory {
  clients: number;
  adapter_values: number;
  rss_1_client_mb: number;
  rss_n_clients_mb: number;
  growth_mb: number;
  /** (N-1) x (adapter + AdamW m, v) in fp32. */
  expected_growth_mb: number;
  /** The JS heap and the typed-array memory (ArrayBuffers) grown over the same runs. */
  heap_used_growth_mb: number;
  array_buffers_growth_mb: number;
  /** The clients' token data (JS arrays of ids and labels), not part of the expected growth. */
  client_data_mb: number;
}

function syntheticClients(n: number, vocab: number): ClientData[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    train: encodeSynthetic(vocab, 4, SEQ, 2 * i),
    validation: encodeSynthetic(vocab, 2, SEQ, 2 * i + 1),
  }));
}

interface Sample {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

function sample(): Sample {
  global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heapUsed: m.heapUsed / MB, arrayBuffers: m.arrayBuffers / MB };
}

/** Memory at the end of round 1, while the server and every client actor still hold their state. */
async function federationMemory(config: FlConfig, loaded: LoadedModel, sha: string, n: number, trial: string): Promise<Sample> {
  let at: Sample | undefined;
  await runFederation(
    { ...config, trial },
    {
      model: loaded,
      clients: syntheticClients(n, loaded.model.cfg.vocab_size),
      modelSha256: sha,
      onEvent: (e) => {
        if (e.type === 'round-done' && e.record.round === 1) at = sample();
      },
    },
  );
  if (!at) throw new Error('bench:fl memory: round 1 never finished');
  return at;
}

export async function clientMemory(base: FlConfig, loaded: LoadedModel, sha: string, n: number): Promise<ClientMemory> {
  if (!global.gc) throw new Error('bench:fl needs node --expose-gc (npm run bench:fl does this)');
  const config: FlConfig = {
    ...base,
    rounds: 1,
    train: { ...base.train, local_steps: 1, batch_size: 4, seq_len: SEQ },
    eval: { ...base.eval, batch_size: 2 },
  };
  // Warm-up: ORT plans each graph's activation memory on its first runs and keeps it (bench/memory.ts).
  await federationMemory(config, loaded, sha, 1, 'mem-warm');
  const one = await federationMemory(config, loaded, sha, 1, 'mem-1');
  const many = await federationMemory(config, loaded, sha, n, `mem-${n}`);
  const values = LoraAdapter.init(loaded.model.cfg, config.lora, 0).size;
  // A JS array of small ints costs 8 bytes per element; ids and labels, SEQ+1 and SEQ of them.
  const dataBytesPerClient = 6 * (2 * SEQ + 1) * 8;
  const r1 = (x: number): number => +x.toFixed(1);
  return {
    clients: n,
    adapter_values: values,
    rss_1_client_mb: r1(one.rss),
    rss_n_clients_mb: r1(many.rss),
    growth_mb: r1(many.rss - one.rss),
    expected_growth_mb: r1(((n - 1) * 3 * values * 4) / MB),
    heap_used_growth_mb: r1(many.heapUsed - one.heapUsed),
    array_buffers_growth_mb: r1(many.arrayBuffers - one.arrayBuffers),
    client_data_mb: +(((n - 1) * dataBytesPerClient) / MB).toFixed(2),
  };
}
