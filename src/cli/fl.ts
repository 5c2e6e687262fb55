// `fedhpo fl run`: one federated LoRA trial from a config file. Without --nats everything runs in
// this process on the in-process transport; with --nats it stays one process but every message
// crosses the given nats-server (each actor on its own connection, as separate processes would be).
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { NatsTransport } from '../actors/transport-nats.js';
import type { NatsCliArgs } from '../actors/transport-nats-options.js';
import type { ConnectTransport } from '../actors/federation.js';
import type { RoundRecord } from '../actors/federation-state.js';
import { runTrial } from '../actors/trial.js';
import { trialSummary, writeTrialOutputs } from '../actors/trial-outputs.js';
import { closeSandboxPool } from '../eval/sandbox.js';
import { applyOverrides, dataName, type FlConfig, loadFlConfig, parseFlConfig, SCENARIOS } from '../fl/fl-config.js';
import { loadYamlFile } from '../fl/pretrain-config.js';
import { withModel } from '../model/source.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';
import { checkOutputPath } from '../engine/files.js';

function flRunOptions(y: Argv) {
  return withNatsFlags(y)
    .option('config', { type: 'string', demandOption: true, describe: 'federated run config (YAML)' })
    .option('scenario', { choices: SCENARIOS, describe: 'fed (N clients), global (one client, all data) or local (each client alone)' })
    .option('set', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'override a config key: --set train.lr=3e-3 (repeatable)',
    })
    .option('out', { type: 'string', describe: "output directory (default: the config's out, else runs/fl-<task>-<scenario>)" })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON summary as the last stdout line' })
    .option('verbose', { type: 'boolean', default: false, describe: "log the actors' messages (rejections, retries) on stderr" });
}

type FlRunArgs = Awaited<ReturnType<typeof flRunOptions>['argv']>;

/** The config with --set and --scenario applied (validated once, errors naming the dotted key). */
export async function configFromArgs(a: Pick<FlRunArgs, 'config' | 'set' | 'scenario'>): Promise<FlConfig> {
  const sets = [...a.set, ...(a.scenario ? [`scenario=${a.scenario}`] : [])];
  if (!sets.length) return loadFlConfig(a.config);
  return parseFlConfig(applyOverrides(await loadYamlFile(a.config), sets), a.config);
}

function natsConnector(a: NatsCliArgs): ConnectTransport | undefined {
  const connection = natsFromArgs(a);
  if (!connection) return undefined;
  return (name, hooks) => NatsTransport.connect({ connection, name: `fedhpo-${name}`, ...hooks });
}

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

function progressLine(run: string, rounds: number, rec: RoundRecord): string {
  let up = 0;
  let down = 0;
  for (const c of Object.values(rec.clients)) {
    up += c.uploadBytes;
    down += c.downloadBytes;
  }
  const loss = (x: number | null): string => (x === null ? '-' : x.toFixed(4));
  const rejected = Object.values(rec.rejected).reduce((a, b) => a + b, 0);
  return (
    `[${run}] round ${rec.round}/${rounds} val loss ${loss(rec.valLoss)} train loss ${loss(rec.trainLoss)} ` +
    `clients ${rec.accepted.length}/${rec.selected.length} up ${kib(up)} down ${kib(down)} ${rec.seconds.toFixed(1)} s` +
    (rejected ? ` rejected ${rejected}` : '')
  );
}

export function flCommands(y: Argv): Argv {
  return y
    .command(
      'run',
      'Run one federated LoRA trial (server and clients as actors, in this process or through --nats)',
      (a) => flRunOptions(a),
      async (a) => {
        const config = await configFromArgs(a);
        const connect = natsConnector(a);
        const out = a.out ?? config.out ?? join('runs', `fl-${dataName(config.data)}-${config.scenario}`);
        await checkOutputPath(out, 'directory', a.out !== undefined ? '--out' : 'out');
        const header =
          `fl run: ${config.scenario} on ${config.data.task ?? `the files of ${String(config.data.clients)}`}, ${config.rounds} rounds, seed ${config.seed}, ` +
          `${connect ? `through NATS ${String(a.nats)}` : 'in-process transport'}, out ${out}`;
        // Said with the first round, once the model, data and aggregator are in: a bad input stays one line.
        let started = false;
        const onRound = (run: string, rec: RoundRecord): void => {
          if (!started) console.error(header);
          started = true;
          console.error(progressLine(run, config.rounds, rec));
        };
        try {
          const report = await withModel({ dir: config.model, threads: config.threads }, async (model) => {
            const r = await runTrial(config, {
              model,
              ...(connect ? { connect } : {}),
              onRound,
              warn: (line) => console.error(line),
              ...(a.verbose ? { log: (line: string) => console.error(line) } : {}),
            });
            await writeTrialOutputs(out, r, config, config.model);
            return r;
          });
          const summary = { ...trialSummary(report), out };
          if (a.json) {
            console.log(JSON.stringify(summary));
            return;
          }
          const t = report.test;
          console.log(`validation loss by round: ${report.rounds.map((r) => (r.valLoss === null ? '-' : r.valLoss.toFixed(4))).join(' ')}`);
          console.log(
            `test score ${(100 * t.score).toFixed(1)}% on ${t.samples} records; per client worst ${(100 * t.worst).toFixed(1)}% ` +
              `median ${(100 * t.median).toFixed(1)}% best ${(100 * t.best).toFixed(1)}%`,
          );
          console.log(
            `bytes up ${kib(report.totals.uploadBytes)} down ${kib(report.totals.downloadBytes)}; ` +
              `${(report.totals.trainFlops / 1e9).toFixed(1)} GFLOP training; ${report.totals.seconds.toFixed(1)} s; outputs in ${out}`,
          );
        } finally {
          closeSandboxPool();
        }
      },
    )
    .demandCommand(1, 'name an fl command (see fedhpo fl --help)');
}
