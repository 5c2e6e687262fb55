// FLoRA's client task `flora.local-hpo`: the client runs its own random search on its own data (a
// budget of local trials, each trained for some local rounds) and replies with every (config, loss)
// pair — FLoRA shares these by design; the server fits its loss surface on them.
import { z } from 'zod';
import { Rng } from '../../engine/rng.js';
import { sampleUntried } from '../sampling.js';
import { type Config, configKey, parseSpace } from '../space.js';
import type { ClientTask } from './task.js';

const paramValue = z.union([z.number(), z.string(), z.boolean()]);

export const FloraLocalHpoArgs = z
  .object({
    space: z.record(z.string(), z.json()),
    seed: z.number().int().refine(Number.isSafeInteger, 'must be a safe integer'),
    /** Local trials (configs) per client. */
    trials: z.number().int().min(1).max(10_000),
    rounds: z.number().int().min(1).max(10_000),
  })
  .strict();
export type FloraLocalHpoArgs = z.infer<typeof FloraLocalHpoArgs>;

export const FloraLocalHpoResult = z
  .object({
    pairs: z
      .array(z.object({ config: z.record(z.string(), paramValue), loss: z.number().refine(Number.isFinite, 'must be finite') }).strict())
      .max(10_000),
  })
  .strict();
export type FloraLocalHpoResult = z.infer<typeof FloraLocalHpoResult>;

export const floraLocalHpoTask: ClientTask<FloraLocalHpoArgs, FloraLocalHpoResult> = {
  name: 'flora.local-hpo',
  description: "FLoRA: random search on the client's own data, reply with every (config, loss) pair",
  args: FloraLocalHpoArgs,
  result: FloraLocalHpoResult,
  evaluations(a, clientId) {
    const space = parseSpace(a.space, 'flora.local-hpo args.space');
    const rng = new Rng(a.seed).fork('flora-client').fork(clientId);
    const taken = new Set<string>();
    const out: { config: Config; rounds: number }[] = [];
    for (let i = 0; i < a.trials; i++) {
      const config = sampleUntried(space, rng, taken);
      if (!config) break;
      taken.add(configKey(space, config));
      out.push({ config, rounds: a.rounds });
    }
    return out;
  },
  // A local trial that diverged (non-finite loss) is left out: the surface is fitted on what trained.
  compute: (_a, trials) => ({ pairs: trials.filter((t) => Number.isFinite(t.loss)).map((t) => ({ config: t.config, loss: t.loss })) }),
};
