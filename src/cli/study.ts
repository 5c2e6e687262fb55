// `fedhpo study ...`: run a study from a YAML config, resume one from its directory, and read one
// (status, best, export). Trials are real federations of the config's `trial` FL document (or, with
// `trial.kind: synthetic`, a test objective): trialRunnerFor (src/actors/trial-runner-for.ts) decides.
// A finished run or resume ends by writing report.html and every plot beside the journal.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { checkFederatedStudyData, isFederatedTrial } from '../actors/federated-trial-config.js';
import { runStudy, type StudyRunOutcome } from '../actors/study-runner.js';
import type { NatsCliArgs } from '../actors/transport-nats-options.js';
import { JOURNAL_FILE, readJournal } from '../hpo/journal.js';
import { loadStudyConfig, type StudyConfig } from '../hpo/study-config.js';
import { studyTable, toCsv } from '../hpo/study-export.js';
import { bestDocument, type StudySummary, studySummary } from '../hpo/study-outputs.js';
import { StudyState } from '../hpo/study-state.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';
import { studyProgress } from './study-progress.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';
import { checkOutputPath } from '../engine/files.js';

const log = (line: string): void => console.error(line);

/** Replays a study read-only (a torn last line, e.g. one being written right now, is left alone). */
async function readStudy(dir: string): Promise<StudyState> {
  const { events } = await readJournal(dir);
  return StudyState.replay(events, join(dir, 'journal.jsonl'));
}

/** studies/<config name>: a second run over it is refused with the way on (resume, or --out). */
function defaultOut(config: string): string {
  return join('studies', basename(config, extname(config)));
}

/** Runs or resumes with progress; Ctrl-C (or SIGTERM) stops gracefully, a second one exits at once. */
async function drive(opts: Parameters<typeof runStudy>[0]): Promise<void> {
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(130);
    log(`${sig}: stopping the study (resume it with: fedhpo study resume ${opts.dir})`);
    stop.abort(`stopped by ${sig}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = studyProgress(log);
  let result: StudyRunOutcome;
  try {
    result = await runStudy({ ...opts, signal: stop.signal, onEvent: progress.onEvent, log });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printSummary(studySummary(await readStudy(result.dir)), result.dir);
  if (result.state === 'stopped') {
    process.exitCode = 130;
    return;
  }
  await writeReportFiles(result.dir);
}

/** report.html and the plots; a plotting problem is reported in one line and never undoes the study. */
async function writeReportFiles(dir: string): Promise<void> {
  const started = performance.now();
  try {
    // Imported here: Vega takes most of a second to load, which the read-only commands would pay too.
    const { writeStudyReport } = await import('../plot/report.js');
    const r = await writeStudyReport(dir);
    console.log(`report     ${r.path} and ${r.files.length} plot files (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    log(
      `fedhpo: the study is complete, but its report failed: ${e instanceof Error ? e.message : String(e)} (retry: fedhpo report ${dir} --plots both)`,
    );
    process.exitCode = 1;
  }
}

function printSummary(s: StudySummary, dir: string): void {
  const r = s.budget.rounds;
  console.log(
    `study      ${s.study_id}${s.name ? ` (${s.name})` : ''} in ${dir}: ${s.state}${s.finish_reason ? ` (${s.finish_reason})` : ''}`,
  );
  console.log(`strategy   ${s.strategy}; objectives ${s.objectives.map((o) => `${o.name} (${o.direction})`).join(', ')}`);
  const t = s.trials;
  console.log(
    `trials     ${t.total}: ${t.complete} complete, ${t.failed} failed, ${t.diverged} diverged, ${t.pruned} pruned, ${t.running + t.queued} unfinished`,
  );
  console.log(
    `budget     ${r.spent}${r.local_rounds ? ` + ${+r.local_rounds.toFixed(2)} local` : ''}${r.limit !== null ? `/${r.limit}` : ''} rounds (${r.client_rounds} client-rounds${r.local_client_rounds ? ` + ${r.local_client_rounds} local` : ''}${r.lost ? `, ${r.lost} lost to interruptions` : ''}), ` +
      `${s.budget.trials.asked}${s.budget.trials.limit !== null ? `/${s.budget.trials.limit}` : ''} trials, ${s.budget.wall_time.seconds} s`,
  );
  const r2 = s.rank_agreement;
  if (r2)
    console.log(
      `ranks      val_loss rank vs score rank over ${r2.n} complete trials: Spearman ${r2.spearman.toFixed(2)} (p ${r2.spearman_p.toFixed(2)}), ` +
        `Kendall ${r2.kendall.toFixed(2)} (p ${r2.kendall_p.toFixed(2)})`,
    );
  for (const b of s.best)
    console.log(
      `best       trial ${b.trial}: ${Object.entries(b.values)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}${b.score !== null && !('score' in b.values) ? `, score ${b.score}` : ''} @ ${b.fidelity} rounds; ${Object.entries(
        b.hyperparameters,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
}

/** `--remote-clients [ids]` and `--keep-clients` as the study config's remote_clients (before the user's --set). */
function remoteClientSets(ids: string | undefined, keep: boolean | undefined, sets: readonly string[]): string[] {
  if (ids === undefined) {
    if (keep !== undefined) throw new UsageError('--keep-clients: only with --remote-clients');
    return [...sets];
  }
  const list = ids
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s);
  if (new Set(list).size !== list.length) throw new UsageError(`--remote-clients ${ids}: ids must be distinct`);
  const doc = { ...(list.length ? { clients: list } : {}), keep: keep ?? false };
  return [`remote_clients=${JSON.stringify(doc)}`, ...sets];
}

/**
 * Where trials run: in this process (`--workers` at once), or with --nats on trial workers (`--workers`
 * of them in this process); a study with remote_clients runs its trials here and reaches its clients through --nats.
 */
function placement(nats: Awaited<ReturnType<typeof natsFromArgs>>, workers: number | undefined, config: StudyConfig | undefined) {
  if (config?.remote_clients && !nats)
    throw new UsageError("remote_clients: the trials' clients are fl client processes, reached through NATS: give --nats URL");
  const parallel = workers !== undefined ? { parallel: workers } : {};
  if (!nats) return parallel;
  return config?.remote_clients ? { nats, ...parallel } : { nats, localWorkers: workers ?? 0 };
}

export function studyCommands(y: Argv): Argv {
  return y
    .command(
      'run <config>',
      'Run a study from a YAML config (federated trials; ends with report.html and plots)',
      (a) =>
        withNatsFlags(
          a
            .positional('config', { type: 'string', demandOption: true, describe: 'study config (YAML)' })
            .option('out', { type: 'string', describe: 'study directory (default studies/<config name>)' })
            .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override: key.path=value (repeatable)' })
            .option(
              'workers',
              numberFlag(
                'workers',
                'trials at once in this process; with --nats, trial workers to run in this process besides remote ones',
              ),
            )
            .option('remote-clients', {
              type: 'string',
              describe:
                "the trials' clients are fl client processes reached through --nats: their ids, comma-separated (empty: the task's; study config remote_clients)",
            })
            .option('keep-clients', {
              type: 'boolean',
              describe: 'with remote clients: leave them running when the study finishes (default: dismissed)',
            }),
        ),
      async (a) => {
        const config = await loadStudyConfig(a.config, remoteClientSets(a['remote-clients'], a['keep-clients'], a.set));
        if (isFederatedTrial(config.trial)) await checkFederatedStudyData(config, a.config);
        const nats = await natsFromArgs(a as NatsCliArgs);
        const workers = a.workers;
        const dir = a.out ?? defaultOut(a.config);
        await checkOutputPath(dir, 'directory', '--out');
        if (existsSync(join(dir, JOURNAL_FILE)))
          throw new UsageError(
            `${dir} already holds a study: see it with fedhpo study status ${dir}, continue it with fedhpo study resume ${dir}, or give --out DIR for a new one`,
          );
        await drive({
          dir,
          config,
          // Said once the study is open (a directory that already holds a study is refused before).
          onOpen: () => log(`study directory ${dir}`),
          ...placement(nats, workers, config),
        });
      },
    )
    .command(
      'resume <dir>',
      'Continue a study from its journal (after a crash, kill -9 or Ctrl-C)',
      (a) =>
        withNatsFlags(
          a.positional('dir', { type: 'string', demandOption: true }).option('workers', numberFlag('workers', 'as for study run')),
        ),
      async (a) => {
        const nats = await natsFromArgs(a as NatsCliArgs);
        const workers = a.workers;
        const state = await readStudy(a.dir).catch(() => undefined); // study resume says why
        // A finished study only writes its outputs again: it needs no clients.
        const config = state?.finished ? undefined : state?.config;
        await drive({ dir: a.dir, ...placement(nats, workers, config) });
      },
    )
    .command(
      'status <dir>',
      'Trials, budget spent and best so far (read-only; works while the study runs)',
      (a) => a.positional('dir', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
      async (a) => {
        const summary = studySummary(await readStudy(a.dir));
        if (a.json) console.log(JSON.stringify(summary));
        else printSummary(summary, a.dir);
      },
    )
    .command(
      'best <dir>',
      'The best trial (or the Pareto front) and its full trial config',
      (a) => a.positional('dir', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
      async (a) => {
        const state = await readStudy(a.dir);
        const best = studySummary(state).best;
        if (!best.length) throw new UsageError(`${a.dir}: no trial has completed yet`);
        if (a.json) return console.log(JSON.stringify({ best, config: bestDocument(state) }));
        printSummary(studySummary(state), a.dir);
        console.log(JSON.stringify(bestDocument(state), null, 2));
      },
    )
    .command(
      'export <dir>',
      'One row per trial: hyperparameters by dotted name, objectives, status, rounds, costs',
      (a) =>
        a
          .positional('dir', { type: 'string', demandOption: true })
          .option('format', { choices: ['csv', 'json'] as const, default: 'csv' as const })
          .option('output', { type: 'string', describe: 'file to write (default stdout)' }),
      async (a) => {
        if (a.output) await checkOutputPath(a.output, 'file', '--output');
        const table = studyTable(await readStudy(a.dir));
        const text = a.format === 'csv' ? toCsv(table) : `${JSON.stringify(table.rows)}\n`;
        if (a.output) await writeFile(a.output, text);
        else process.stdout.write(text);
      },
    )
    .demandCommand(1, 'name a study command: run, resume, status, best, export');
}
