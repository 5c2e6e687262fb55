// What `fl run` and `fl server` share: the config flags (--config, --scenario, --set), the output
// flags (--out, --json, --verbose) and running one trial with a progress line per round, its outputs
// written to --out and its summary printed.
import { join } from 'node:path';
import type { Argv } from 'yargs';
import type { ConnectTransport } from '../actors/federation.js';
import type { RoundRecord } from '../actors/federation-state.js';
import type { ServerEvent } from '../actors/server-actor.js';
import { runTrial, type TrialDeps } from '../actors/trial.js';
import { trialSummary, writeTrialOutputs } from '../actors/trial-outputs.js';
import { checkOutputPath } from '../engine/files.js';
import { closeSandboxPool } from '../eval/sandbox.js';
import { applyOverrides, dataName, type FlConfig, loadFlConfig, parseFlConfig, SCENARIOS } from '../fl/fl-config.js';
import { loadYamlFile } from '../fl/pretrain-config.js';
import { withModel } from '../model/source.js';

export function withConfigFlags<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', demandOption: true, describe: 'federated run config (YAML)' })
    .option('scenario', { choices: SCENARIOS, describe: 'fed (N clients), global (one client, all data) or local (each client alone)' })
    .option('set', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'override a config key: --set train.lr=3e-3 (repeatable)',
    });
}

export function withOutputFlags<T>(y: Argv<T>) {
  return y
    .option('out', { type: 'string', describe: "output directory (default: the config's out, else runs/fl-<task>-<scenario>)" })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON summary as the last stdout line' })
    .option('verbose', { type: 'boolean', default: false, describe: "log the actors' messages (rejections, retries) on stderr" });
}

/** The config with --set and --scenario applied (validated once, errors naming the dotted key). */
export async function configFromArgs(a: { config: string; set: string[]; scenario?: FlConfig['scenario'] | undefined }): Promise<FlConfig> {
  const sets = [...a.set, ...(a.scenario ? [`scenario=${a.scenario}`] : [])];
  if (!sets.length) return loadFlConfig(a.config);
  return parseFlConfig(applyOverrides(await loadYamlFile(a.config), sets), a.config);
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

/** Server events worth a line without --verbose (a distributed run's joins, refusals and client failures). */
function notable(run: string, e: ServerEvent, say: (line: string) => void): void {
  if (e.type === 'joined') say(`[${run}] clients joined: ${e.clients.join(', ')}`);
  else if (e.type === 'client-error') say(`[${run}] client ${e.client} ${e.fatal ? 'failed' : 'reported'}: ${e.reason}`);
  else if (e.type === 'rejected' && (e.reason === 'model-mismatch' || e.reason === 'unknown-sender'))
    say(`[${run}] refused a client (${e.reason}): ${e.message}`);
}

export interface FlTrialHow {
  connect?: ConnectTransport;
  /** How the trial's messages travel, for the first progress line. */
  how: string;
  remoteClients?: TrialDeps['remoteClients'];
}

/** Runs the trial, writes its outputs to --out and prints its summary (JSON with --json). */
export async function runFlTrial(
  a: { out?: string | undefined; json: boolean; verbose: boolean },
  config: FlConfig,
  how: FlTrialHow,
): Promise<void> {
  const out = a.out ?? config.out ?? join('runs', `fl-${dataName(config.data)}-${config.scenario}`);
  // Checked before any work: an --out that is a file fails now, not after training.
  await checkOutputPath(out, 'directory', a.out !== undefined ? '--out' : 'out');
  const on = config.data.task ?? `the files of ${String(config.data.clients)}`;
  const header = `fl: ${config.scenario} on ${on}, ${config.rounds} rounds, seed ${config.seed}, ${how.how}, out ${out}`;
  // The header goes out with the first line of the run, once model, data and aggregator are in:
  // a bad input stays one line on stderr.
  let started = false;
  const say = (line: string): void => {
    if (!started) console.error(header);
    started = true;
    console.error(line);
  };
  try {
    const report = await withModel({ dir: config.model, threads: config.threads }, async (model) => {
      const r = await runTrial(config, {
        model,
        ...(how.connect ? { connect: how.connect } : {}),
        ...(how.remoteClients ? { remoteClients: how.remoteClients } : {}),
        onRound: (run, rec) => say(progressLine(run, config.rounds, rec)),
        warn: say,
        // --verbose logs everything; otherwise who joined and who was refused or failed, still.
        ...(a.verbose ? { log: say } : { onServerEvent: (run, e) => notable(run, e, say) }),
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
}
