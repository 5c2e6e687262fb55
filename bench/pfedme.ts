// Issue 13's pFedMe measurement: pFedMe vs FedAvg with LoRA on the shipped base at two levels of
// label skew (Dirichlet alpha over the instruct task's categories, the same proportions in each
// client's train / validation / test data). Every client is scored on its own test share with the
// global adapter, and with its personalised adapter under pFedMe. One seed, one run per cell.
//   npm run bench:pfedme [-- --alphas 0.1,10 --algorithms fedavg,pfedme --clients 4 --rounds 4 --local-steps 5
//                           --lambda 15 --inner-steps 3 --personal-lr 3e-3 --eta 0.02 --json]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parseFlConfig } from '../src/fl/fl-config.js';
import { type PersonalisedRunSummary, runPersonalised } from '../src/fl/pfedme-run.js';
import { SHIPPED_BASE_MODEL, withModel } from '../src/model/source.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: SHIPPED_BASE_MODEL },
    task: { type: 'string', default: 'instruct' },
    alphas: { type: 'string', default: '0.1,10' },
    algorithms: { type: 'string', default: 'fedavg,pfedme' },
    clients: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '4' },
    'local-steps': { type: 'string', default: '5' },
    'test-per-client': { type: 'string', default: '30' },
    lambda: { type: 'string', default: '15' },
    'inner-steps': { type: 'string', default: '3' },
    'personal-lr': { type: 'string', default: '3e-3' },
    eta: { type: 'string', default: '0.02' },
    json: { type: 'boolean', default: false },
  },
});
const num = (k: keyof typeof values): number => Number(values[k]);
// The same local training as configs/fl-*-lora.yaml (AdamW 3e-3, batch 8); pFedMe's inner problem uses
// that optimizer at personal_lr, and train.lr is its eta (the rate w_i moves towards theta_i).
const train = (lr: number) =>
  parseFlConfig({
    data: { task: values.task },
    rounds: 1,
    train: { local_steps: num('local-steps'), batch_size: 8, seq_len: 192, lr, optimizer: 'adamw', clip_norm: 1 },
  }).train;
const lora = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] as ('q_proj' | 'v_proj')[] };
const rows: PersonalisedRunSummary[] = [];
await withModel({ dir: values.model, threads: 2 }, async (loaded) => {
  for (const alpha of values.alphas.split(',').map(Number))
    for (const algorithm of values.algorithms.split(',') as ('fedavg' | 'pfedme')[]) {
      const s = await runPersonalised({
        algorithm,
        model: loaded,
        task: values.task,
        dataSeed: 0,
        clients: num('clients'),
        alpha,
        rounds: num('rounds'),
        seed: 0,
        lora,
        train: train(algorithm === 'pfedme' ? num('eta') : 3e-3),
        pfedme: { lambda: num('lambda'), innerSteps: num('inner-steps'), personalLr: num('personal-lr'), beta: 1 },
        eval: { testPerClient: num('test-per-client'), batchSize: 16, maxNewTokens: 64, validLimit: 40 },
        log: (l) => console.error(l),
      });
      rows.push(s);
      const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
      console.log(
        `alpha ${alpha} ${algorithm}: per-client score global mean ${pct(s.meanGlobal)} worst ${pct(s.worstGlobal)}; ` +
          `personal mean ${pct(s.meanPersonal)} worst ${pct(s.worstPersonal)}; val loss ${s.valLoss[0]!.toFixed(3)} -> ${s.valLoss.at(-1)!.toFixed(3)}; ` +
          `clients ${s.clients.map((c) => `${c.id}(${c.trainRecords} train, ${c.testRecords} test)`).join(' ')}; ${s.seconds.toFixed(0)} s`,
      );
    }
});
console.log(
  `load average at the end (1/5/15 min): ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
if (values.json) console.log(JSON.stringify(rows));
