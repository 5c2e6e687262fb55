// A made-up but plausible study, deterministic from a seed: for examples, demos and tests of the
// rank analysis, plots and report without running federated training. Its validation loss and its
// score follow different functions of the config (the score cares more about the LoRA rank), and
// the score is noisy at low fidelity, so the two rankings disagree the way the reference paper shows.
import { Rng } from '../engine/rng.js';
import { fromUnit, parseSpace } from './space.js';
import type { Objective, TrialStatus } from './strategy.js';
import type { RoundValue, StudyData, AnalyzedTrial } from './study-data.js';

export interface SyntheticStudyOptions {
  readonly seed?: number;
  readonly name?: string;
  readonly strategy?: string;
  /** Number of trials (default 40). */
  readonly trials?: number;
  /** Rounds each trial is asked for (default 8). */
  readonly fidelity?: number;
  /** Fraction of trials pruned part-way (default 0.2), and failed (default 0.05). */
  readonly pruned?: number;
  readonly failed?: number;
  /** Rounds at which the score is also measured during a trial (default [1, 2, 4, 8] up to the fidelity). */
  readonly scoreRounds?: readonly number[];
}

export const SYNTHETIC_SPACE = parseSpace({
  'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true },
  'lora.r': { type: 'int', low: 4, high: 32, grid: [4, 8, 16, 32] },
  'lora.alpha': { type: 'int', low: 8, high: 32, grid: [8, 16, 32] },
  'train.local_steps': { type: 'int', low: 1, high: 4 },
});

export const SYNTHETIC_OBJECTIVES: readonly Objective[] = [
  { name: 'val_loss', direction: 'minimize' },
  { name: 'score', direction: 'maximize' },
];

/** Clients per round and bytes per LoRA rank per client update (fp32 q/v adapters of a small model). */
const CLIENTS = 4;
const BYTES_PER_RANK = 2 * 2 * 256 * 4 * 4;

export function syntheticStudy(options: SyntheticStudyOptions = {}): StudyData {
  const rng = new Rng(options.seed ?? 1);
  const n = options.trials ?? 40;
  const fidelity = options.fidelity ?? 8;
  const scoreRounds = (options.scoreRounds ?? [1, 2, 4, 8]).filter((r) => r <= fidelity);
  const trials: AnalyzedTrial[] = [];
  for (let id = 0; id < n; id++) {
    const config = Object.fromEntries([...SYNTHETIC_SPACE].map(([name, p]) => [name, fromUnit(p, rng.next())]));
    const lr = Math.log10(config['train.lr'] as number);
    const r = Math.log2(config['lora.r'] as number);
    const alpha = Math.log2(config['lora.alpha'] as number);
    const steps = config['train.local_steps'] as number;
    // Validation loss: a valley in lr around 1e-2.5, a mild alpha effect; faster with more local steps.
    const floor = 1.2 + 0.35 * (lr + 2.5) ** 2 + 0.05 * (alpha - 4) ** 2 + 0.02 * rng.normal();
    const speed = 0.25 + 0.1 * steps + 0.15 * Math.max(0, lr + 4);
    const lossAt = (round: number) => floor + 1.5 * Math.exp(-speed * round);
    // Score: wants a higher rank and is measured with noise that shrinks as training goes on.
    const skill = 0.6 - 0.12 * (lr + 2.5) ** 2 + 0.06 * (r - 2) + 0.03 * rng.normal();
    const scoreAt = (round: number) =>
      Math.min(1, Math.max(0, skill * (1 - Math.exp(-0.4 * round)) + (0.12 / Math.sqrt(round)) * rng.normal()));
    const u = rng.next();
    const status: TrialStatus =
      u < (options.failed ?? 0.05) ? 'failed' : u < (options.failed ?? 0.05) + (options.pruned ?? 0.2) ? 'pruned' : 'complete';
    const reached = status === 'complete' ? fidelity : status === 'pruned' ? 1 + rng.int(Math.max(1, fidelity - 2)) : 1 + rng.int(fidelity);
    const curve: RoundValue[] = Array.from({ length: status === 'failed' ? reached - 1 : reached }, (_, i) => ({
      round: i + 1,
      value: lossAt(i + 1),
    }));
    const scoreCurve = scoreRounds.filter((s) => s <= reached && status !== 'failed').map((round) => ({ round, value: scoreAt(round) }));
    const valLoss = lossAt(reached);
    const score = scoreCurve.find((p) => p.round === reached)?.value ?? scoreAt(reached);
    const rounds = reached;
    trials.push({
      id,
      config,
      fidelity,
      status,
      rounds,
      curve,
      scoreCurve,
      ...(status === 'failed'
        ? { reason: 'client 2 crashed (synthetic)' }
        : {
            values: [valLoss, score],
            metrics: { val_loss: valLoss, score, bytes_sent: rounds * CLIENTS * 2 * BYTES_PER_RANK * (config['lora.r'] as number) },
          }),
    });
  }
  return { name: options.name, strategy: options.strategy ?? 'random', space: SYNTHETIC_SPACE, objectives: SYNTHETIC_OBJECTIVES, trials };
}
