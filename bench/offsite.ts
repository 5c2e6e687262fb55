// Issue 13's offsite-tuning measurement on the 12-layer base (models/fedhpo-base-deep): fed vs
// local with 20 % and 50 % of the middle layers dropped, the same adapter layers fine-tuned
// federatedly over the full model (drop 0: the emulator is the full model) as the reference, and the
// untuned full model. Scores are the adapter plugged into the full model on the task's test split
// (fed: also on the emulator it was trained with); bytes are the codec's fp32 encoding. One seed.
//   npm run bench:offsite [-- --config configs/fl-instruct-offsite.yaml --drops 0.2,0.5 --json]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { federatedData } from '../src/fl/client-files.js';
import { type FlConfig, loadFlConfig } from '../src/fl/fl-config.js';
import { type OffsiteSummary, runOffsite } from '../src/fl/offsite-run.js';
import { scoreTestSplit } from '../src/fl/test-score.js';
import { withModel } from '../src/model/source.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/fl-instruct-offsite.yaml' },
    drops: { type: 'string', default: '0.2,0.5' },
    scenarios: { type: 'string', default: 'fed,local' },
    reference: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
  },
});
const base = await loadFlConfig(values.config);
const runs: { drop: number; scenario: FlConfig['scenario'] }[] = [];
if (values.reference) runs.push({ drop: 0, scenario: 'fed' });
for (const drop of values.drops.split(',').map(Number))
  for (const scenario of values.scenarios.split(',') as FlConfig['scenario'][]) runs.push({ drop, scenario });
const out: { untuned?: number; runs: OffsiteSummary[] } = { runs: [] };
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;

await withModel({ dir: base.model, threads: base.threads }, async ({ model, tokenizer }) => {
  const task = await federatedData(base.data);
  const weights = await model.weights();
  if (values.reference) {
    const s = await scoreTestSplit(model, tokenizer, { feeds: {} }, task.test, task.testShare, {
      limit: base.eval.test_limit,
      batchSize: base.eval.batch_size,
      maxNewTokens: base.eval.max_new_tokens,
      seqLen: base.train.seq_len,
    });
    out.untuned = s.score;
    console.log(`untuned full model: score ${pct(s.score)}, test loss ${s.loss.toFixed(3)}`);
  }
  for (const r of runs) {
    const config: FlConfig = {
      ...base,
      scenario: r.scenario,
      offsite: { drop: r.drop, adapter_layers: base.offsite?.adapter_layers ?? 2 },
    };
    const s = await runOffsite(config, {
      engine: model.engine,
      cfg: model.cfg,
      weights,
      tokenizer,
      task,
      scoreEmulator: r.scenario !== 'local',
      log: (l) => console.error(l),
    });
    out.runs.push(s);
    console.log(
      `drop ${r.drop} ${r.scenario}: emulator ${s.plan.kept.length} layers (dropped ${s.plan.dropped.join(',') || 'none'}); ` +
        `plugged-in score ${pct(s.plugged.score)} (test loss ${s.plugged.loss.toFixed(3)}), on the emulator ${pct(s.emulator.score)}; ` +
        `val loss ${s.rounds[0]!.valLoss.toFixed(3)} -> ${s.rounds.at(-1)!.valLoss.toFixed(3)}; ` +
        `emulator ${mb(s.bytes.emulator)} once per client, adapter ${mb(s.bytes.adapter)} per message, total ${mb(s.bytes.total)} ` +
        `(full model ${mb(s.bytes.fullModel)}); ${s.seconds.toFixed(0)} s`,
    );
  }
});
console.log(
  `load average at the end (1/5/15 min): ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
if (values.json) console.log(JSON.stringify(out));
