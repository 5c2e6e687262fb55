// Federated HPO bench (issue 12): FTS, FLoRA (each surface), BO and random search on the synthetic
// objective with heterogeneous clients (each client's optimum moved by up to ±heterogeneity/2 per
// dim: different data), at the same budget in rounds — the clients' local work for FTS and FLoRA is
// charged to it as local client-rounds ÷ clients. Each study runs through the real machinery (study,
// journal, client tasks as typed messages over the in-process transport). Regret of a run: its best
// complete trial's federated loss against the best config of the full federated search (every
// config of the finite space run federated), normalised by the worst: (inc - best) / (worst - best).
//   npx tsx bench/federated-hpo.ts [--seeds 10] [--budget 60] [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runStudy } from '../src/actors/study-runner.js';
import { readJournal } from '../src/hpo/journal.js';
import { enumerateConfigs } from '../src/hpo/sampling.js';
import { parseStudyConfig, studySpace } from '../src/hpo/study-config.js';
import { SyntheticTrialRunner } from '../src/hpo/synthetic-runner.js';
import { trialConfigOf } from '../src/hpo/trial-config.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    budget: { type: 'string', default: '60' },
    heterogeneity: { type: 'string', default: '0.3' },
    json: { type: 'boolean', default: false },
  },
});
const seeds = Number(values.seeds);
const budget = Number(values.budget);
const rounds = 4;

const RUNS: Record<string, { name: string; options: Record<string, unknown> }> = {
  random: { name: 'random', options: {} },
  'bo (FedAvg+BO)': { name: 'bo', options: { startupTrials: 3 } },
  fts: { name: 'fts', options: { startupTrials: 3, localRounds: 1 } },
  // Local work (localTrials x localRounds local rounds per client) + one federated trial = the budget.
  ...Object.fromEntries(
    ['sgm', 'sgm+u', 'mplm', 'aplm'].map((s) => [
      `flora ${s}`,
      { name: 'flora', options: { surface: s, localTrials: Math.floor((budget - rounds) / rounds), localRounds: rounds } },
    ]),
  ),
};

function configFor(seed: number, strategy: { name: string; options: Record<string, unknown> }) {
  return parseStudyConfig(
    {
      name: 'bench-fhpo',
      seed,
      space: {
        'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true, grid: [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1] },
        'lora.r': { type: 'int', low: 2, high: 32, step: 2 },
        'lora.dropout': { type: 'float', low: 0, high: 0.3, grid: [0, 0.05, 0.1, 0.2, 0.3] },
      },
      fidelity: { rounds },
      budget: { rounds: budget },
      strategy,
      client_tasks: { clients: 3, heterogeneity: Number(values.heterogeneity), local_steps_per_round: 10 },
      trial: { kind: 'synthetic', clients: 3 },
    },
    'bench',
  );
}

/** The federated loss of every config of the space at the max round (the full federated search). */
async function fullSearch(): Promise<{ best: number; worst: number }> {
  const config = configFor(0, RUNS.random!);
  const space = studySpace(config);
  const runner = new SyntheticTrialRunner(space, 0, {
    kind: 'synthetic',
    noise: 0,
    delay_ms: 0,
    fail_rate: 0,
    diverge_rate: 0,
    clients: 3,
  });
  let best = Number.POSITIVE_INFINITY;
  let worst = Number.NEGATIVE_INFINITY;
  for (const c of enumerateConfigs(space)!) {
    const out = await runner.run({
      trialId: 0,
      attempt: 1,
      config: trialConfigOf(config, c),
      fidelity: rounds,
      dir: '',
      onRound: () => 'continue',
      signal: new AbortController().signal,
    });
    best = Math.min(best, out.metrics.val_loss!);
    worst = Math.max(worst, out.metrics.val_loss!);
  }
  return { best, worst };
}

const table = await fullSearch();
const root = await mkdtemp(join(tmpdir(), 'fedhpo-bench-fhpo-'));
const rows: { strategy: string; regret: number[]; trials: number[]; local: number[]; seconds: number[] }[] = [];
try {
  for (const [label, strategy] of Object.entries(RUNS)) {
    const row = { strategy: label, regret: [] as number[], trials: [] as number[], local: [] as number[], seconds: [] as number[] };
    for (let seed = 0; seed < seeds; seed++) {
      const dir = join(root, `${label.replace(/\W+/g, '-')}-${seed}`);
      const started = performance.now();
      await runStudy({ dir, config: configFor(seed, strategy) });
      row.seconds.push((performance.now() - started) / 1000);
      const { events } = await readJournal(dir);
      const done = events.flatMap((e) => (e.kind === 'trial.finished' && e.status === 'complete' ? [e.values![0]!] : []));
      const incumbent = done.length ? Math.min(...done) : table.worst;
      row.regret.push((incumbent - table.best) / (table.worst - table.best));
      row.trials.push(done.length);
      row.local.push(events.reduce((s, e) => s + (e.kind === 'client-task.finished' ? e.client_rounds / Math.max(1, e.clients) : 0), 0));
    }
    rows.push(row);
    if (!values.json) console.error(`${label}: done`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ci = (xs: number[]) => {
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return 1.96 * (sd / Math.sqrt(xs.length));
};
const summary = rows.map((r) => ({
  strategy: r.strategy,
  regret: mean(r.regret),
  regret_ci95: ci(r.regret),
  trials: mean(r.trials),
  local_rounds: mean(r.local),
  seconds: mean(r.seconds),
}));
if (values.json)
  console.log(JSON.stringify({ seeds, budget, rounds, heterogeneity: Number(values.heterogeneity), full_search: table, rows: summary }));
else {
  console.log(
    `budget ${budget} rounds, trials of ${rounds} rounds, ${seeds} seeds; full federated search: best ${table.best.toFixed(4)}, worst ${table.worst.toFixed(4)}`,
  );
  console.log('| strategy | normalised regret (95 % CI) | federated trials | local rounds charged | s per study |');
  console.log('|---|---|---|---|---|');
  for (const s of summary)
    console.log(
      `| ${s.strategy} | ${s.regret.toFixed(4)} ± ${s.regret_ci95.toFixed(4)} | ${s.trials.toFixed(1)} | ${s.local_rounds.toFixed(1)} | ${s.seconds.toFixed(1)} |`,
    );
}
