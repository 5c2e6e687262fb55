// A client task: code that lives with its strategy in src/hpo and that a client runs by name. It is
// split so the client's I/O stays outside it: `evaluations` names the local trials the task needs
// (configs and local rounds), the client trains them on its own data (its LocalObjective, cached), and
// `compute` turns their losses into the reply — the only thing that leaves the client.
import type { z } from 'zod';
import type { JsonValue } from '../../engine/json.js';
import type { Config } from '../space.js';

export interface LocalTrial {
  readonly config: Config;
  /** Local rounds to train (each `local steps per round` steps). */
  readonly rounds: number;
}

export interface LocalTrialResult extends LocalTrial {
  /** The client's own validation loss after the local trial. */
  readonly loss: number;
}

export interface ClientTask<A, R extends JsonValue> {
  readonly name: string;
  readonly description: string;
  /** Validated on the client before anything runs. */
  readonly args: z.ZodType<A>;
  /** Validated on the server when the reply arrives. */
  readonly result: z.ZodType<R>;
  evaluations(args: A, clientId: string): LocalTrial[];
  compute(args: A, trials: readonly LocalTrialResult[], clientId: string): R;
}

/** What a client can do on its own data: train a config locally for some rounds and score it on its validation split. */
export interface LocalObjective {
  evaluate(config: Config, rounds: number): Promise<LocalEvaluation>;
}

export interface LocalEvaluation {
  readonly loss: number;
  readonly localSteps: number;
  /** localSteps ÷ the local steps per round of the config. */
  readonly clientRounds: number;
}
