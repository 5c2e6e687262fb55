// The aggregators a config can name, with their options validated (snake_case keys, as in the YAML
// configs), and the one entry point that also accepts a module path for a user's own aggregator.
import { z } from 'zod';
import { type Aggregator, AggregatorError, type JsonValue } from './aggregator.js';
import { loadAggregator } from './aggregator-loader.js';
import { FedAvg } from './fedavg.js';
import { FedAvgM } from './fedavgm.js';
import { FedProx } from './fedprox.js';
import { PFedMe } from './pfedme.js';

const sampleRate = z.number().gt(0).max(1).default(1);

/** name -> options schema and factory. */
export const AGGREGATORS = {
  fedavg: {
    options: z.object({ sample_rate: sampleRate }).strict(),
    create: (o: { sample_rate: number }): Aggregator => new FedAvg({ sampleRate: o.sample_rate }),
  },
  fedavgm: {
    options: z
      .object({ sample_rate: sampleRate, server_lr: z.number().positive().default(1), momentum: z.number().min(0).lt(1).default(0.9) })
      .strict(),
    create: (o: { sample_rate: number; server_lr: number; momentum: number }): Aggregator =>
      new FedAvgM({ sampleRate: o.sample_rate, serverLr: o.server_lr, momentum: o.momentum }),
  },
  fedprox: {
    options: z.object({ sample_rate: sampleRate, mu: z.number().min(0) }).strict(),
    create: (o: { sample_rate: number; mu: number }): Aggregator => new FedProx({ sampleRate: o.sample_rate, mu: o.mu }),
  },
  pfedme: {
    options: z
      .object({
        sample_rate: sampleRate,
        beta: z.number().gt(0).max(2).default(1),
        lambda: z.number().positive().default(15),
        inner_steps: z.number().int().positive().max(1000).default(5),
        personal_lr: z.number().positive().default(0.01),
      })
      .strict(),
    create: (o: { sample_rate: number; beta: number; lambda: number; inner_steps: number; personal_lr: number }): Aggregator =>
      new PFedMe({ sampleRate: o.sample_rate, beta: o.beta, lambda: o.lambda, innerSteps: o.inner_steps, personalLr: o.personal_lr }),
  },
} as const;

export type AggregatorName = keyof typeof AGGREGATORS;

export const isAggregatorName = (s: string): s is AggregatorName => Object.hasOwn(AGGREGATORS, s);

/** A module path rather than a name: './x.js', '../x.mjs', '/abs/x.js', 'x.ts' ... */
const looksLikePath = (s: string): boolean => /[\\/]/.test(s) || /\.[cm]?[jt]s$/.test(s);

/** A built-in aggregator by name, options validated; AggregatorError lists every bad option. */
export function createAggregator(name: string, options: unknown = {}): Aggregator {
  if (!isAggregatorName(name))
    throw new AggregatorError(`unknown aggregator '${name}' (built in: ${Object.keys(AGGREGATORS).join(', ')}; or give a module path)`);
  const entry = AGGREGATORS[name];
  const parsed = entry.options.safeParse(options ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => `${k}: unknown option`)
        : [`${i.path.map(String).join('.') || '(options)'}: ${i.message}`],
    );
    throw new AggregatorError(`aggregator '${name}': ${lines.join('; ')}`);
  }
  return (entry.create as (o: unknown) => Aggregator)(parsed.data);
}

/** A built-in name (`fedavg`, `fedavgm`, `fedprox`, `pfedme`) or a module path (see loadAggregator). */
export async function resolveAggregator(spec: string, options: { [key: string]: JsonValue } = {}): Promise<Aggregator> {
  return looksLikePath(spec) ? loadAggregator(spec, options) : createAggregator(spec, options);
}
