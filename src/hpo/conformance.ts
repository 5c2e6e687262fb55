// The Strategy conformance suite: one library function that any test runner can call on any
// strategy (built in or a user's plug-in) and that answers with the checks that failed, each with a
// message saying what the strategy did. It drives fresh instances through simulated studies (see
// conformance-study.ts) on spaces that exercise every kind of dimension, and compares whole runs:
// same seed, other seed, and a run carried over through JSON state at every ask.
import type { JsonValue } from '../engine/json.js';
import { type ConformanceCheck, type SimSetup, simulateStudy } from './conformance-study.js';
import { createStrategy, pluginFactory } from './plugin.js';
import { parseSpace, type SearchSpace, spaceSize } from './space.js';
import type { FidelityRange, Objective, StrategyContext } from './strategy.js';

export type { ConformanceCheck } from './conformance-study.js';

export interface ConformanceOptions {
  /** The strategy's own options (StrategyContext.options) for every simulated study. */
  readonly options?: Readonly<Record<string, JsonValue>>;
  /** Fidelity range of the simulated studies (default 1..9 rounds: rungs 1, 3, 9 for eta = 3). */
  readonly fidelity?: FidelityRange;
  /** Two seeds: the first for every study, the second to see that the seed matters (default 1, 2). */
  readonly seeds?: readonly [number, number];
  /** Whether another seed must give other suggestions (default true; false for a deterministic grid). */
  readonly seedSensitive?: boolean;
  /** Whether the strategy finishes (isDone) once a small finite space is used up (default true). */
  readonly exhaustsFiniteSpaces?: boolean;
  /** Trials per simulated study in a large space (default 40). */
  readonly trials?: number;
}

export interface ConformanceFailure {
  readonly check: ConformanceCheck;
  /** Which simulated study showed it (space, workers, outcomes). */
  readonly study: string;
  readonly message: string;
}

export interface ConformanceReport {
  /** The strategy's name as it reports it. */
  readonly strategy: string;
  readonly ok: boolean;
  /** Every check the suite ran. */
  readonly checks: readonly ConformanceCheck[];
  /** The failed ones (at most three messages per check and study). */
  readonly failures: readonly ConformanceFailure[];
}

/** The spaces the suite runs on: each kind of dimension alone, mixed, a tiny finite one and a single point. */
export const CONFORMANCE_SPACES: Readonly<Record<string, SearchSpace>> = {
  continuous: parseSpace({
    'train.lr': { type: 'float', low: 1e-5, high: 1e-1, log: true },
    'lora.dropout': { type: 'float', low: 0, high: 0.5 },
  }),
  'int-steps': parseSpace({
    'lora.r': { type: 'int', low: 2, high: 64, step: 2 },
    'train.local_steps': { type: 'int', low: 1, high: 512, log: true },
    'fl.sample_rate_pct': { type: 'int', low: 10, high: 100, step: 15 },
  }),
  categorical: parseSpace({
    'lora.targets': { type: 'categorical', choices: ['qv', 'qkvo', 'all'] },
    'fl.aggregator': { type: 'categorical', choices: ['fedavg', 'fedprox'] },
    'train.bf16': { type: 'categorical', choices: [true, false] },
  }),
  mixed: parseSpace({
    'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true },
    'lora.r': { type: 'int', low: 2, high: 16, step: 2 },
    'lora.alpha': { type: 'float', low: 1, high: 64, grid: [8, 16, 32] },
    'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
  }),
  tiny: parseSpace({
    'lora.r': { type: 'int', low: 1, high: 3 },
    'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
  }),
  'single-point': parseSpace({
    'lora.r': { type: 'int', low: 8, high: 8 },
    'train.lr': { type: 'float', low: 1e-3, high: 1e-3 },
  }),
};

const LOSS: Objective = { name: 'val_loss', direction: 'minimize' };
const SCORE: Objective = { name: 'score', direction: 'maximize' };
const ALL_CHECKS: ConformanceCheck[] = [
  'no-crash',
  'in-space',
  'ask-count',
  'parent',
  'no-duplicates',
  'failed-not-repeated',
  'view-unchanged',
  'json-state',
  'no-stall',
  'done-means-done',
  'deterministic',
  'seed-sensitive',
  'state-round-trip',
  'exhausts',
  'multi-objective',
];
const SMALL_FINITE = 16;

/**
 * Runs a strategy through the suite: `strategy` is a StrategyFactory (ctx => strategy) or a class
 * taking the context, as a plug-in module's default export is. Resolves to the failed checks (none
 * when `ok`); never throws for a misbehaving strategy: a throw inside it is a `no-crash` failure.
 */
export async function checkStrategyConformance(
  strategy: ((ctx: StrategyContext) => unknown) | (new (ctx: StrategyContext) => unknown),
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const factory = pluginFactory<StrategyContext>(strategy, 'strategy', 'checkStrategyConformance');
  const [seed, otherSeed] = options.seeds ?? [1, 2];
  const trials = options.trials ?? 40;
  const base = {
    objectives: [LOSS],
    fidelity: options.fidelity ?? { min: 1, max: 9 },
    seed,
    options: options.options ?? {},
    outcomes: 'mixed' as const,
  };
  const failures: ConformanceFailure[] = [];
  const record = (study: string, problems: readonly { check: ConformanceCheck; message: string }[]) => {
    const perCheck = new Map<ConformanceCheck, number>();
    for (const p of problems) {
      const n = (perCheck.get(p.check) ?? 0) + 1;
      perCheck.set(p.check, n);
      if (n <= 3) failures.push({ check: p.check, study, message: p.message });
    }
  };
  const run = (label: string, setup: SimSetup) => {
    const result = simulateStudy(factory, setup);
    record(label, result.problems);
    return result;
  };

  // Every space, with a few worker counts (asks for 1, 2, 3 and 8 at once) and some failures.
  const workersOf: Record<string, number> = { continuous: 1, 'int-steps': 3, categorical: 8, mixed: 3, tiny: 2, 'single-point': 1 };
  const runs: Record<string, ReturnType<typeof simulateStudy>> = {};
  for (const [name, space] of Object.entries(CONFORMANCE_SPACES)) {
    const small = spaceSize(space) <= SMALL_FINITE;
    const setup: SimSetup = { ...base, space, workers: workersOf[name] ?? 1, maxTrials: small ? 200 : trials };
    const label = `${name} space, ${setup.workers} worker(s)`;
    const r = (runs[name] = run(label, setup));
    if (small && options.exhaustsFiniteSpaces !== false && !r.finished && !r.aborted)
      record(label, [{ check: 'exhausts', message: `not done after ${r.trials.length} trials in a space of ${spaceSize(space)} configs` }]);
  }
  const mixed: SimSetup = { ...base, space: CONFORMANCE_SPACES.mixed!, workers: 3, maxTrials: trials };
  const tiny: SimSetup = { ...base, space: CONFORMANCE_SPACES.tiny!, workers: 2, maxTrials: 200 };

  // Same seed, same run; another seed, another run.
  const again = run('mixed space, same seed', mixed);
  if (!again.problems.length) compareTraces(runs.mixed!.trace, again.trace, 'deterministic', 'mixed space, same seed', record);
  if (options.seedSensitive !== false) {
    const other = run('mixed space, other seed', { ...mixed, seed: otherSeed });
    if (!other.problems.length && sameTrace(runs.mixed!.trace, other.trace))
      record('mixed space, other seed', [{ check: 'seed-sensitive', message: `seeds ${seed} and ${otherSeed} gave the same suggestions` }]);
  }

  // Carried over through JSON state before every ask (mixed) and every third ask (tiny): the same run.
  for (const [label, setup, every, reference] of [
    ['mixed space, restored before every ask', mixed, 1, runs.mixed!],
    ['tiny space, restored every third ask', tiny, 3, runs.tiny!],
  ] as const) {
    const r = run(label, { ...setup, swapEvery: every });
    if (!r.problems.length) compareTraces(reference.trace, r.trace, 'state-round-trip', label, record);
  }

  // More parallel workers than one ask usually fills.
  run('mixed space, 8 workers', { ...mixed, workers: 8 });

  // Trials the strategy did not suggest (a study's enqueued configs): tolerated, and never run again.
  const enqueued = [
    { 'lora.r': 1, 'lora.targets': 'qv' },
    { 'lora.r': 3, 'lora.targets': 'all' },
  ];
  run('tiny space, 2 configs enqueued first', { ...tiny, enqueued });
  run('mixed space, 1 config enqueued first', {
    ...mixed,
    enqueued: [{ 'train.lr': 1e-3, 'lora.r': 8, 'lora.alpha': 16, 'lora.targets': 'all' }],
  });

  // Every trial fails or diverges: the study still moves on (new configs, or done), never loops on a failure.
  run('continuous space, every trial fails', {
    ...base,
    space: CONFORMANCE_SPACES.continuous!,
    workers: 3,
    maxTrials: trials,
    outcomes: 'all-fail',
  });
  const failing = run('tiny space, every trial fails', { ...tiny, outcomes: 'all-fail' });
  if (options.exhaustsFiniteSpaces !== false && !failing.finished && !failing.aborted)
    record('tiny space, every trial fails', [{ check: 'exhausts', message: `not done after ${failing.trials.length} failed trials` }]);

  // Several objectives: run where declared, refused with a clear error otherwise.
  const two = { ...base, objectives: [LOSS, SCORE] };
  const name = strategyName(factory, { ...base, space: CONFORMANCE_SPACES.mixed! });
  const declared = multiObjectiveFlag(factory, { ...base, space: CONFORMANCE_SPACES.mixed! });
  if (declared === true) run('mixed space, two objectives', { ...mixed, ...two });
  else if (declared === false) {
    const refusal = refusalOf(factory, { ...two, space: CONFORMANCE_SPACES.mixed! });
    if (!refusal || !/objective/i.test(refusal))
      record('mixed space, two objectives', [
        {
          check: 'multi-objective',
          message: `a study with two objectives was ${refusal ? `refused with "${refusal}"` : 'accepted'} although multiObjective is false`,
        },
      ]);
  } else record('mixed space', [{ check: 'multi-objective', message: 'multiObjective is not a boolean' }]);

  return { strategy: name, ok: failures.length === 0, checks: ALL_CHECKS, failures };
}

/** The report as lines of text, one per failure (for a console or an assertion message). */
export function formatConformanceReport(report: ConformanceReport): string {
  if (report.ok) return `strategy ${report.strategy}: all ${report.checks.length} conformance checks pass`;
  return [
    `strategy ${report.strategy}: ${report.failures.length} conformance failure(s)`,
    ...report.failures.map((f) => `  ${f.check} [${f.study}]: ${f.message}`),
  ].join('\n');
}

function sameTrace(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function compareTraces(
  expected: readonly string[],
  actual: readonly string[],
  check: ConformanceCheck,
  study: string,
  record: (study: string, problems: { check: ConformanceCheck; message: string }[]) => void,
): void {
  const i = expected.findIndex((x, k) => x !== actual[k]);
  const at = i >= 0 ? i : expected.length === actual.length ? -1 : Math.min(expected.length, actual.length);
  if (at < 0) return;
  const step = `step ${at + 1} of ${expected.length}`;
  record(study, [{ check, message: `${step}: expected ${clip(expected[at])}, got ${clip(actual[at])}` }]);
}

const clip = (s: string | undefined): string => (s === undefined ? 'the end of the run' : s.length > 160 ? `${s.slice(0, 157)}...` : s);

function strategyName(factory: (ctx: StrategyContext) => unknown, ctx: StrategyContext): string {
  try {
    const s = factory(ctx) as { name?: unknown };
    return typeof s?.name === 'string' ? s.name : '(unnamed)';
  } catch {
    return '(factory throws)';
  }
}

function multiObjectiveFlag(factory: (ctx: StrategyContext) => unknown, ctx: StrategyContext): unknown {
  try {
    return (factory(ctx) as { multiObjective?: unknown })?.multiObjective;
  } catch {
    return undefined;
  }
}

/** The message with which building a strategy for `ctx` (through the loader's checks) fails, if it does. */
function refusalOf(factory: (ctx: StrategyContext) => unknown, ctx: StrategyContext): string | undefined {
  try {
    createStrategy(factory, ctx, 'the strategy');
    return undefined;
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  }
}
