// The time of one federated round in-process vs through a nats-server (every actor on its own
// connection, as separate processes would be). The two transports alternate, so a load change on
// the machine hits both alike; per transport the median and the minimum over rounds >= 1 (other
// processes' work only ever adds time, so on a shared machine the minimum is the least disturbed).
import { median } from 'simple-statistics';
import { type ConnectTransport, runFederation } from '../src/actors/federation.js';
import { NatsTransport } from '../src/actors/transport-nats.js';
import type { ClientData } from '../src/fl/client-data.js';
import type { FlConfig } from '../src/fl/fl-config.js';
import type { LoadedModel } from '../src/model/source.js';

export interface TransportTiming {
  nats: string;
  rounds_each: number;
  in_process_round_s: number;
  nats_round_s: number;
  /** nats / in-process, of the medians. */
  ratio: number;
  in_process_min_round_s: number;
  nats_min_round_s: number;
  /** nats / in-process, of the minima. */
  min_ratio: number;
  /** Same seed, so the same numbers either way (a parity check, not a timing). */
  same_final_loss: boolean;
}

const natsConnector =
  (url: string): ConnectTransport =>
  (name, hooks) =>
    NatsTransport.connect({ connection: { servers: [url] }, name: `fedhpo-bench-${name}`, ...hooks });

export async function transportTiming(
  config: FlConfig,
  loaded: LoadedModel,
  sha: string,
  clients: ClientData[],
  url: string,
  reps: number,
): Promise<TransportTiming> {
  const times = { inProcess: [] as number[], nats: [] as number[] };
  const finals = new Set<number | null>();
  for (let rep = 0; rep < reps; rep++)
    for (const mode of ['inProcess', 'nats'] as const) {
      const r = await runFederation(
        { ...config, trial: `time-${mode}-${rep}` },
        { model: loaded, clients, modelSha256: sha, ...(mode === 'nats' ? { connect: natsConnector(url) } : {}) },
      );
      const rounds = r.history.filter((h) => h.round >= 1).map((h) => h.seconds);
      times[mode].push(...rounds);
      finals.add(r.history.at(-1)?.valLoss ?? null);
      console.error(`[bench:fl] ${mode} rep ${rep}: rounds ${rounds.map((s) => s.toFixed(2)).join(' ')} s`);
    }
  const inProcess = median(times.inProcess);
  const nats = median(times.nats);
  return {
    nats: url,
    rounds_each: times.nats.length,
    in_process_round_s: +inProcess.toFixed(3),
    nats_round_s: +nats.toFixed(3),
    ratio: +(nats / inProcess).toFixed(3),
    in_process_min_round_s: +Math.min(...times.inProcess).toFixed(3),
    nats_min_round_s: +Math.min(...times.nats).toFixed(3),
    min_ratio: +(Math.min(...times.nats) / Math.min(...times.inProcess)).toFixed(3),
    same_final_loss: finals.size === 1,
  };
}
