// The README's scenario table (the reference's Table 1 shape): every task's config in the `global`,
// `fed` and `local` scenarios over several run seeds, as mean ± sample std of the final validation
// loss and the test score. Each run leaves its outputs (summary.json, metrics.jsonl, adapter) in
// OUT/<task>-<scenario>-seed<N>; a run whose summary.json is there is read back, not run again,
// so an interrupted sweep resumes and --report-only reprints the table. Seeds run outermost, so a
// sweep cut short still has every (task, scenario) cell for the first seeds.
//   npm run bench:scenarios [-- --tasks arith,code --scenarios global,fed,local --seeds 0,1,2 --out runs/scenarios --json --report-only]
// --set key=value (repeatable) overrides every run's config, e.g. `--set peft.method=prefix
// --set peft.num_virtual_tokens=8`; give such a sweep its own --out.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runTrial } from '../src/actors/trial.js';
import { writeTrialOutputs } from '../src/actors/trial-outputs.js';
import { closeSandboxPool } from '../src/eval/sandbox.js';
import { loadFlConfig, SCENARIOS } from '../src/fl/fl-config.js';
import { openModel, type OpenedModel } from '../src/model/source.js';
import { cellsOf, markdownTable, type RunSummary } from './scenarios-table.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: 'arith,code' },
    scenarios: { type: 'string', default: 'global,fed,local' },
    seeds: { type: 'string', default: '0,1,2' },
    out: { type: 'string', default: 'runs/scenarios' },
    'report-only': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const tasks = values.tasks.split(',');
const scenarios = values.scenarios.split(',');
for (const s of scenarios)
  if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--scenarios: unknown '${s}' (known: ${SCENARIOS.join(', ')})`);
const seeds = values.seeds.split(',').map(Number);
const configFile = (task: string): string => join('configs', `fl-${task}-lora.yaml`);
for (const t of tasks) if (!existsSync(configFile(t))) throw new Error(`--tasks: no ${configFile(t)}`);

const summaries: RunSummary[] = [];
// One base model for every run (loaded lazily: --report-only and fully resumed sweeps never load it).
let model: OpenedModel | undefined;
try {
  for (const seed of seeds)
    for (const task of tasks)
      for (const scenario of scenarios) {
        const dir = join(values.out, `${task}-${scenario}-seed${seed}`);
        const file = join(dir, 'summary.json');
        if (!existsSync(file)) {
          if (values['report-only']) continue;
          const config = await loadFlConfig(configFile(task), [...values.set, `seed=${seed}`, `scenario=${scenario}`]);
          model ??= await openModel({ dir: config.model, threads: config.threads });
          console.error(`[scenarios] ${task} ${scenario} seed ${seed} -> ${dir} (${new Date().toISOString()})`);
          const report = await runTrial(config, { model });
          await writeTrialOutputs(dir, report, config, config.model);
        }
        const s = JSON.parse(await readFile(file, 'utf8')) as {
          valLoss: (number | null)[];
          test: { score: number };
          totals: { seconds: number };
        };
        const run: RunSummary = { task, scenario, seed, valLoss: s.valLoss.at(-1) ?? null, score: s.test.score, seconds: s.totals.seconds };
        console.error(
          `[scenarios] ${task} ${scenario} seed ${seed}: final val loss ${run.valLoss?.toFixed(4)} test score ${(100 * run.score).toFixed(1)}% (${run.seconds.toFixed(0)} s)`,
        );
        summaries.push(run);
      }
} finally {
  await model?.close();
  closeSandboxPool();
}
const cells = cellsOf(summaries, tasks, scenarios);
console.log(markdownTable(cells));
if (values.json) console.log(JSON.stringify({ cells, runs: summaries }));
