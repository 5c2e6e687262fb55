// A synthetic client's own objective, for studies on the synthetic test objective (and the
// conformance suite): the synthetic runner's bowl with each client's optimum moved by a fixed,
// per-client amount (`heterogeneity`), i.e. clients whose data differ. The federation's optimum (the
// synthetic runner's) sits among the clients' optima.
import { hash01 } from '../synthetic-runner.js';
import { type Config, type SearchSpace, toUnit } from '../space.js';
import type { LocalEvaluation, LocalObjective } from './task.js';

export interface SyntheticClientSettings {
  readonly clientId: string;
  /** How far (in the unit cube, per dim, at most ±heterogeneity/2) this client's optimum moves. */
  readonly heterogeneity: number;
  /** Local steps of one local round (the charge of a local round). */
  readonly localStepsPerRound: number;
}

/** The client's loss of `config` after `rounds` local rounds (deterministic). */
export function syntheticClientLoss(space: SearchSpace, s: SyntheticClientSettings, config: Config, rounds: number): number {
  let d = 0;
  for (const [name, p] of space) {
    const centre = 0.2 + 0.6 * hash01(`optimum|${name}`); // the synthetic runner's optimum
    const optimum = Math.min(1, Math.max(0, centre + s.heterogeneity * (hash01(`client|${s.clientId}|${name}`) - 0.5)));
    d += (toUnit(p, config[name]!) - optimum) ** 2;
  }
  const final = 0.3 + (2 * d) / Math.max(1, space.size);
  return final + (2.5 - final) * Math.exp(-rounds / 4);
}

export class SyntheticLocalObjective implements LocalObjective {
  constructor(
    private readonly space: SearchSpace,
    private readonly settings: SyntheticClientSettings,
    /** Sees every true loss the client computes (tests: privacy checks). */
    private readonly onLoss?: (loss: number) => void,
  ) {}

  evaluateSync(config: Config, rounds: number): LocalEvaluation {
    const loss = syntheticClientLoss(this.space, this.settings, config, rounds);
    this.onLoss?.(loss);
    return { loss, localSteps: rounds * this.settings.localStepsPerRound, clientRounds: rounds };
  }

  async evaluate(config: Config, rounds: number): Promise<LocalEvaluation> {
    return this.evaluateSync(config, rounds);
  }
}
