// Bytes per round and the final validation loss of the same federated run (same seed, same data)
// under every update codec: fp32, fp16, int8 per tensor and per channel, each with and without
// deflate. Uplink bytes are the clients' update envelopes (the codec's); the downlink is always the
// lossless fp32 global (round message and evaluation), so it does not change with the codec.
import { runFederation } from '../src/actors/federation.js';
import type { ClientData } from '../src/fl/client-data.js';
import type { CodecSettings } from '../src/fl/codec/codec.js';
import type { FlConfig } from '../src/fl/fl-config.js';
import type { LoadedModel } from '../src/model/source.js';

export interface CodecRow {
  codec: string;
  /** Per training round, summed over the clients. */
  up_bytes_per_round: number;
  down_bytes_per_round: number;
  final_val_loss: number;
  /** final_val_loss minus fp32's. */
  val_loss_change: number;
  seconds: number;
}

const PRECISIONS: CodecSettings[] = [
  { precision: 'fp32' },
  { precision: 'fp16' },
  { precision: 'int8', granularity: 'tensor' },
  { precision: 'int8', granularity: 'channel' },
];

export const codecLabel = (s: CodecSettings): string =>
  `${s.precision}${s.precision === 'int8' ? `/${s.granularity}` : ''}${s.compression === 'deflate' ? '+deflate' : ''}`;

export async function codecRuns(config: FlConfig, loaded: LoadedModel, sha: string, clients: ClientData[]): Promise<CodecRow[]> {
  const rows: CodecRow[] = [];
  const settings = PRECISIONS.flatMap((s) => [
    { ...s, compression: 'none' as const },
    { ...s, compression: 'deflate' as const },
  ]);
  for (const [i, s] of settings.entries()) {
    const r = await runFederation(
      { ...config, codec: { granularity: 'channel', level: 6, ...s }, trial: `codec-${i}` },
      { model: loaded, clients, modelSha256: sha },
    );
    const trained = r.history.filter((h) => h.round >= 1);
    let up = 0;
    let down = 0;
    for (const h of trained)
      for (const c of Object.values(h.clients)) {
        up += c.uploadBytes;
        down += c.downloadBytes;
      }
    const loss = r.history.at(-1)?.valLoss;
    if (loss === null || loss === undefined) throw new Error(`bench:fl codec ${codecLabel(s)}: no final validation loss`);
    rows.push({
      codec: codecLabel(s),
      up_bytes_per_round: Math.round(up / trained.length),
      down_bytes_per_round: Math.round(down / trained.length),
      final_val_loss: loss,
      val_loss_change: loss - (rows[0]?.final_val_loss ?? loss),
      seconds: r.seconds,
    });
    console.error(`[bench:fl] codec ${codecLabel(s)}: up ${rows.at(-1)!.up_bytes_per_round} B/round, final val loss ${loss.toFixed(5)}`);
  }
  return rows;
}
