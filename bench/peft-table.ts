// The README's PEFT-method table in the shape of the reference's Table 1: for each method (one
// bench:scenarios sweep per method, each in its own --out) and scenario, the test score and the final
// validation loss per task, beside the method's trainable values, one client's upload per round and
// the compute time of one local step (both from the method's `global` run: one client, so no sharing).
//   npm run bench:peft-table -- --runs lora=runs/t1-lora,prompt=runs/t1-prompt,ptuning=runs/t1-ptuning,prefix=runs/t1-prefix [--tasks arith,code --seed 0 --json]
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type FlConfig, peftSettingsOf, type SCENARIOS } from '../src/fl/fl-config.js';
import { loadLlamaConfig } from '../src/model/config.js';
import { tensorCount } from '../src/peft/adapter.js';
import { createAdapter, needsEmbeddings } from '../src/peft/methods.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    tasks: { type: 'string', default: 'arith,code' },
    seed: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.runs) throw new Error('--runs method=DIR,... is required (the --out of each bench:scenarios sweep)');
const methods = values.runs.split(',').map((kv) => {
  const [method, dir] = kv.split('=');
  if (!method || !dir) throw new Error(`--runs: expected method=DIR, got '${kv}'`);
  return { method, dir };
});
const tasks = values.tasks.split(',');
/** The reference's order. */
const TABLE_SCENARIOS = ['global', 'fed', 'local'] as const satisfies readonly (typeof SCENARIOS)[number][];

interface Summary {
  valLoss: (number | null)[];
  test: { score: number };
  totals: { uploadBytes: number; computeSeconds: number };
  config: FlConfig;
}
async function summary(dir: string, task: string, scenario: string): Promise<Summary | undefined> {
  const file = join(dir, `${task}-${scenario}-seed${values.seed}`, 'summary.json');
  return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Summary) : undefined;
}

interface Row {
  method: string;
  scenario: string;
  /** Per task: test score (0..1) and final validation loss. */
  cells: Record<string, { score: number; valLoss: number | null } | null>;
  trainable: number | null;
  uploadBytesPerRound: number | null;
  stepSeconds: number | null;
}

const rows: Row[] = [];
for (const { method, dir } of methods) {
  // The method's own figures, from its first task's global run.
  const global = await summary(dir, tasks[0]!, 'global');
  let trainable: number | null = null;
  let uploadBytesPerRound: number | null = null;
  let stepSeconds: number | null = null;
  if (global) {
    const c = global.config;
    const cfg = await loadLlamaConfig(c.model);
    const settings = peftSettingsOf(c.lora, c.peft);
    // Values are not read, only counted: a vocabulary init gets zeros of the right size.
    const embeddings = needsEmbeddings(settings) ? new Float32Array(cfg.vocab_size * cfg.hidden_size) : undefined;
    trainable = tensorCount(createAdapter(cfg, settings, 0, embeddings).tensors);
    uploadBytesPerRound = global.totals.uploadBytes / c.rounds;
    stepSeconds = global.totals.computeSeconds / (c.rounds * c.train.local_steps);
  }
  for (const scenario of TABLE_SCENARIOS) {
    const cells: Row['cells'] = {};
    for (const task of tasks) {
      const s = await summary(dir, task, scenario);
      cells[task] = s ? { score: s.test.score, valLoss: s.valLoss.at(-1) ?? null } : null;
    }
    rows.push({ method, scenario, cells, trainable, uploadBytesPerRound, stepSeconds });
  }
}

const cell = (c: Row['cells'][string]): string =>
  c ? `${(100 * c.score).toFixed(1)} (${c.valLoss === null ? 'n/a' : c.valLoss.toFixed(3)})` : 'not run';
const n = (x: number | null, f: (v: number) => string): string => (x === null ? 'n/a' : f(x));
console.log(
  [
    `| method | scenario | ${tasks.map((t) => `${t}: score % (val loss)`).join(' | ')} | trainable values | upload per client-round (B) | s per local step |`,
    `|---|---|${tasks.map(() => '---|').join('')}---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.scenario} | ${tasks.map((t) => cell(r.cells[t] ?? null)).join(' | ')} | ${n(r.trainable, String)} | ${n(r.uploadBytesPerRound, (v) => v.toFixed(0))} | ${n(r.stepSeconds, (v) => v.toFixed(3))} |`,
    ),
  ].join('\n'),
);
if (values.json) console.log(JSON.stringify(rows));
