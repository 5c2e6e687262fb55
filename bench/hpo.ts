// HPO bench (issue 10): (a) the time of one ask of every built-in strategy with 50, 200 and 500
// observed trials; (b) mean normalised regret with 95 % intervals of every strategy on Branin and
// Hartmann-6 grids at 25 % of the grid's budget over 20 seeds; (c) scheduler overhead per trial.
//   npm run bench:hpo [-- --json --seeds 20 --fraction 0.25 --strategies random,bo --skip-timing --skip-regret --skip-overhead]
import { parseArgs } from 'node:util';
import { regretTable } from '../src/hpo/regret-table.js';
import { STRATEGIES } from '../src/hpo/strategies/index.js';
import type { StrategyFactory } from '../src/hpo/strategy.js';
import { braninGrid, hartmann6Grid } from '../src/hpo/testfns.js';
import { schedulerOverheadPerTrial } from './hpo-overhead.js';
import { askTimings } from './hpo-timing.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '20' },
    fraction: { type: 'string', default: '0.25' },
    counts: { type: 'string', default: '50,200,500' },
    // FTS and FLoRA need clients (client tasks): bench/federated-hpo.ts compares them.
    strategies: {
      type: 'string',
      default: Object.keys(STRATEGIES)
        .filter((n) => n !== 'fts' && n !== 'flora')
        .join(','),
    },
    'skip-timing': { type: 'boolean', default: false },
    'skip-regret': { type: 'boolean', default: false },
    'skip-overhead': { type: 'boolean', default: false },
  },
});
const strategies: Record<string, StrategyFactory> = {};
for (const name of values.strategies.split(',')) {
  const s = STRATEGIES[name];
  if (!s || !Object.hasOwn(STRATEGIES, name))
    throw new Error(`--strategies: unknown strategy '${name}' (known: ${Object.keys(STRATEGIES).join(', ')})`);
  strategies[name] = s.factory;
}
const log = (msg: string) => (values.json ? process.stderr.write(`${msg}\n`) : console.log(msg));

const timings = values['skip-timing'] ? [] : askTimings(strategies, values.counts.split(',').map(Number));
if (!values.json)
  for (const t of timings)
    log(
      `ask ${t.strategy.padEnd(10)} ${String(t.observed).padStart(4)} observed: ${t.wallMs.toFixed(1).padStart(7)} ms wall ` +
        `${t.cpuMs.toFixed(1).padStart(7)} ms cpu${t.coldWallMs !== undefined ? `  (cold fit: ${t.coldWallMs.toFixed(1)} ms wall, ${t.coldCpuMs!.toFixed(1)} ms cpu)` : ''}`,
    );

const problems = [braninGrid(), hartmann6Grid()];
const regret = values['skip-regret'] ? [] : regretTable(problems, strategies, Number(values.seeds), [Number(values.fraction)], log);
if (!values.json)
  for (const r of regret)
    log(
      `${r.problem.padEnd(10)} ${r.strategy.padEnd(10)} regret ${r.regret.mean.toFixed(4)} [${r.regret.low.toFixed(4)}, ${r.regret.high.toFixed(4)}]` +
        `  rank ${r.meanRank.toFixed(2)}  p(< random) ${r.pBelowRandom === null ? '   -  ' : r.pBelowRandom.toFixed(4)}` +
        `  full trials ${r.fullTrials.toFixed(1)} of ${r.trials.toFixed(1)}  ${r.seconds.toFixed(1)} s`,
    );

const overhead = values['skip-overhead'] ? null : await schedulerOverheadPerTrial();
if (!values.json && overhead)
  log(
    `scheduler overhead per trial: ${(100 * overhead.fraction).toFixed(2)} % of trial time ` +
      `(${(1000 * overhead.overheadSecondsPerTrial).toFixed(1)} ms per trial of ${overhead.meanTrialSeconds.toFixed(2)} s; ` +
      `${overhead.trials} federated trials on a tiny model in ${overhead.studySeconds.toFixed(1)} s); ` +
      `${(100 * overhead.schedulerFraction).toFixed(2)} % without the runner's close (the base model's release)\n` +
      `  of the study's overhead: ${Object.entries(overhead.breakdown)
        .map(([k, v]) => `${k} ${(1000 * v).toFixed(1)} ms`)
        .join(', ')}`,
  );
else
  console.log(
    JSON.stringify({
      ask_ms: timings,
      regret: {
        fraction_of_grid_budget: Number(values.fraction),
        seeds: Number(values.seeds),
        rows: regret,
      },
      scheduler_overhead_per_trial: overhead?.fraction ?? null,
      scheduler_overhead: overhead,
    }),
  );
