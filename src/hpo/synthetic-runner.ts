// The synthetic objective: a TEST objective for the study machinery, its tests and benches, never a
// model. `trial.kind: synthetic` makes every trial a deterministic function of (hyperparameters,
// round): a learning curve falling towards a bowl-shaped final loss with its optimum at a fixed point
// of the unit cube, optional Gaussian noise (seeded by the study seed, the config and the round,
// shrinking as 1/sqrt(round)), an optional delay per round, and chosen fractions of configs that
// throw or diverge (NaN) half way, so that failure handling is tested like success.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { getPath } from './config-paths.js';
import { inParam, type ParamValue, type SearchSpace, toUnit } from './space.js';
import type { Metrics, TrialOutcome, TrialRequest, TrialRunner } from './trial-runner.js';

export const SyntheticTrialSchema = z.looseObject({
  kind: z.literal('synthetic'),
  /** Standard deviation of the noise on val_loss at round 1 (divided by sqrt(round) later). */
  noise: z.number().min(0).default(0),
  /** Sleep per round, to give parallel trials, kills and heartbeats something to interrupt. */
  delay_ms: z.number().min(0).default(0),
  /** Fraction of configs that throw half way (chosen by a hash of the config). */
  fail_rate: z.number().min(0).max(1).default(0),
  /** Fraction of configs whose loss becomes NaN half way. */
  diverge_rate: z.number().min(0).max(1).default(0),
  /** Simulated clients per round (for client_rounds and bytes). */
  clients: z.number().int().positive().default(3),
});

export type SyntheticTrialOptions = z.infer<typeof SyntheticTrialSchema>;

/** The file a synthetic "adapter" export writes: a stub, named so nobody mistakes it for weights. */
export const SYNTHETIC_ADAPTER_STUB = 'synthetic-adapter-stub.json';

export class SyntheticTrialRunner implements TrialRunner {
  readonly name = 'synthetic';

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
    private readonly options: SyntheticTrialOptions,
  ) {}

  async run(req: TrialRequest): Promise<TrialOutcome> {
    const units = this.unitPoint(req);
    const key = JSON.stringify(units);
    const start = req.parent?.round ?? 0;
    const breakRound = start + 1 + Math.floor((req.fidelity - start - 1) / 2);
    const fails = hash01(`fail|${key}`) < this.options.fail_rate;
    const diverges = !fails && hash01(`diverge|${key}`) < this.options.diverge_rate;
    const curve: { round: number; metrics: Metrics }[] = [];
    const started = Date.now();
    const done = (status: TrialOutcome['status'], reason?: string): TrialOutcome => {
      const last = curve.at(-1)!;
      const rounds = last.round - start;
      return {
        status,
        ...(reason ? { reason } : {}),
        metrics: last.metrics,
        curve,
        rounds,
        costs: {
          client_rounds: rounds * this.options.clients,
          seconds: (Date.now() - started) / 1000,
          bytes_sent: last.metrics.bytes_sent! - (start ? this.bytesSent(units, start) : 0),
        },
        checkpoint: `synthetic:${req.trialId}@${last.round}`,
      };
    };
    for (let round = start + 1; round <= req.fidelity; round++) {
      req.signal.throwIfAborted();
      if (this.options.delay_ms > 0) await sleep(this.options.delay_ms, undefined, { signal: req.signal });
      if (fails && round === breakRound) throw new Error(`synthetic failure at round ${round}`);
      const metrics = this.metricsAt(units, key, round, diverges && round >= breakRound);
      curve.push({ round, metrics });
      if (Number.isNaN(metrics.val_loss)) return done('diverged', `val_loss is NaN at round ${round}`);
      if ((await req.onRound(round, metrics)) === 'prune' && round < req.fidelity) return done('pruned', `pruned at round ${round}`);
    }
    return done('complete');
  }

  async exportAdapter(checkpoint: string, dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, SYNTHETIC_ADAPTER_STUB);
    const note = 'synthetic test objective: there is no adapter; this stub names the checkpoint the best trial ended at';
    await writeFile(file, `${JSON.stringify({ synthetic: true, checkpoint, note }, null, 2)}\n`);
    return [file];
  }

  /** The trial's hyperparameters as positions in [0, 1], in space order. */
  private unitPoint(req: TrialRequest): number[] {
    return [...this.space].map(([name, spec]) => {
      const v = getPath(req.config, name);
      if (!inParam(spec, v)) throw new Error(`synthetic objective: ${name} = ${JSON.stringify(v)} is not a value of the space`);
      return toUnit(spec, v as ParamValue);
    });
  }

  private metricsAt(units: number[], key: string, round: number, nan: boolean): Metrics {
    const names = [...this.space.keys()];
    let d = 0;
    units.forEach((u, i) => {
      const optimum = 0.2 + 0.6 * hash01(`optimum|${names[i]}`);
      d += (u - optimum) ** 2;
    });
    const final = 0.3 + (2 * d) / Math.max(1, units.length);
    const clean = final + (2.5 - final) * Math.exp(-round / 4);
    const noise = (this.options.noise * gaussian(`noise|${this.seed}|${key}|${round}`)) / Math.sqrt(round);
    const valLoss = nan ? Number.NaN : Math.max(0.01, clean + noise);
    return { val_loss: valLoss, score: 1 / (1 + valLoss), bytes_sent: this.bytesSent(units, round) };
  }

  /** Bytes sent up to `round`: grows with the mean position (a larger rank sends more), so it competes with the loss. */
  private bytesSent(units: number[], round: number): number {
    const mean = units.reduce((a, b) => a + b, 0) / Math.max(1, units.length);
    return Math.round(round * this.options.clients * 1e5 * (1 + 3 * mean));
  }
}

/** FNV-1a of `s` as a number in [0, 1): a reproducible coin per string. */
export function hash01(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // One more avalanche round: FNV alone keeps neighbouring strings close in the low bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}

/** A standard normal draw determined by `s` (Box-Muller on two hashes). */
function gaussian(s: string): number {
  const u1 = Math.max(hash01(`${s}|a`), 1e-12);
  const u2 = hash01(`${s}|b`);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
