// `fedhpo bench record|replay|analyze|export`: the tabular FedHPO benchmark (as FedHPO-Bench). record
// runs a study config's whole grid once into a table (resumable), replay scores strategies against it
// in seconds, analyze prints how the val-loss ranking agrees with the score ranking and across
// rounds (the study analysis on the table), export flattens it for a spreadsheet.
import { writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { BENCH_OBJECTIVES } from '../hpo/bench-problem.js';
import type { ReplayResult } from '../hpo/bench-replay.js';
import type { AgreementRow } from '../hpo/ranking.js';
import type { RankCorrelation } from '../hpo/rank-stats.js';
import { loadStudyConfig } from '../hpo/study-config.js';
import { checkOutputPath } from '../engine/files.js';
import { UsageError } from './util.js';
import { numberFlag } from './flags.js';

const log = (line: string): void => console.error(line);

/** `1,2,4,8` or repeated flags -> numbers; a UsageError naming the flag otherwise. */
function numberList(flag: string, raw: readonly (string | number)[] | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const out = raw.flatMap((v) => String(v).split(',')).map((s) => s.trim());
  return out.map((s) => {
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} ${s}: want a number (or a comma-separated list)`);
    return n;
  });
}

function positiveInt(flag: string, n: number | undefined): number | undefined {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new UsageError(`--${flag} ${n}: want a whole number >= 1`);
  return n;
}

const fmt = (v: number, digits = 4): string => v.toFixed(digits);

function printReplay(r: ReplayResult): void {
  const t = r.table;
  console.log(
    `table     ${t.file}: ${t.configs} configs x ${t.maxRound} rounds (grid budget ${t.gridBudget} rounds); ` +
      `${t.objective} (${t.direction}) best ${fmt(t.best)}, worst ${fmt(t.worst)}; fidelity ${t.minRound}..${t.maxRound}`,
  );
  const width = Math.max(8, ...r.rows.map((row) => row.strategy.length));
  for (const fraction of [...new Set(r.rows.map((row) => row.fraction))]) {
    const rows = r.rows.filter((row) => row.fraction === fraction);
    console.log(`\nbudget ${fraction} of the grid (${rows[0]!.budgetRounds} rounds), ${r.seeds} seeds:`);
    console.log(`  ${'strategy'.padEnd(width)}  regret  [95 % interval]    mean rank  p(< random)  full/trials  rounds  seconds`);
    for (const row of rows)
      console.log(
        `  ${row.strategy.padEnd(width)}  ${fmt(row.regret.mean)}  [${fmt(row.regret.low)}, ${fmt(row.regret.high)}]` +
          `  ${row.meanRank.toFixed(2).padStart(9)}  ${row.pBelowRandom === null ? '          -' : row.pBelowRandom.toFixed(4).padStart(11)}` +
          `  ${`${row.fullTrials.toFixed(1)}/${row.trials.toFixed(1)}`.padStart(11)}  ${row.spentRounds.toFixed(0).padStart(6)}  ${row.seconds.toFixed(2).padStart(7)}`,
      );
  }
}

/** "0.412 (p 0.0036)" */
function correlation(c: RankCorrelation): string {
  if (Number.isNaN(c.value)) return 'undefined';
  const p = Number.isNaN(c.p) ? 'no test' : `p ${c.p < 1e-4 ? c.p.toExponential(1) : c.p.toPrecision(2)}`;
  return `${c.value.toFixed(3)} (${p})`;
}

function printAgreements(title: string, rows: readonly AgreementRow[]): void {
  console.log(`\n${title}`);
  if (!rows.length) {
    console.log('  (fewer than 3 configs measured both)');
    return;
  }
  const width = Math.max(...rows.map((r) => r.label.length));
  console.log(`  ${'compared'.padEnd(width)}   n  ${'Spearman rho'.padEnd(20)}  ${'Kendall tau-b'.padEnd(20)}  top-k shared`);
  for (const r of rows) {
    const a = r.agreement;
    const topK = a.topK.map((t) => `${t.shared}/${t.k}`).join(' ');
    console.log(
      `  ${r.label.padEnd(width)}  ${String(a.n).padStart(2)}  ${correlation(a.spearman).padEnd(20)}  ${correlation(a.kendall).padEnd(20)}  ${topK}`,
    );
  }
}

export function benchCommands(y: Argv): Argv {
  return y
    .command(
      'record <config>',
      "Run every config of a study config's grid once (one seed) and record val_loss per round and the score at log-spaced rounds; resumable",
      (a) =>
        a
          .positional('config', { type: 'string', demandOption: true, describe: 'study config (YAML) whose space is a grid' })
          .option('out', { type: 'string', describe: 'table file (default bench/tables/<config>.jsonl); an existing one is continued' })
          .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override: key.path=value (repeatable)' })
          .option('score-rounds', { type: 'string', array: true, describe: 'rounds to score at (default 1, 2, 4, ... and the max round)' })
          .option('limit', numberFlag('limit', 'record at most N more configs, then stop (the rest on the next run)')),
      async (a) => {
        const config = await loadStudyConfig(a.config, a.set);
        const file = a.out ?? join('bench', 'tables', `${basename(a.config, extname(a.config))}.jsonl`);
        const scoreRounds = numberList('score-rounds', a['score-rounds']);
        const limit = positiveInt('limit', a.limit);
        const { recordBenchTable } = await import('../hpo/bench-record.js');
        const { trialRunnerFor } = await import('../actors/trial-runner-for.js');
        const stop = new AbortController();
        const onSignal = (sig: NodeJS.Signals): void => {
          if (stop.signal.aborted) process.exit(130);
          log(`${sig}: stopping; the config being run is dropped (continue with the same command)`);
          stop.abort(`stopped by ${sig}`);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          const r = await recordBenchTable({
            runnerFor: trialRunnerFor,
            config,
            file,
            command: ['fedhpo', ...process.argv.slice(2)],
            ...(scoreRounds ? { scoreRounds } : {}),
            ...(limit !== undefined ? { limit } : {}),
            signal: stop.signal,
            log,
          });
          const done = r.skipped + r.recorded;
          console.log(
            `${r.file}: ${done}/${r.total} configs recorded (${r.recorded} by this run)${done < r.total ? '; run again to continue' : ''}`,
          );
        } catch (e) {
          if (!stop.signal.aborted) throw e;
          process.exitCode = 130;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    )
    .command(
      'replay <table>',
      'Replay strategies against a recorded table: mean normalised regret (95 % interval) and mean rank over seeds',
      (a) =>
        a
          .positional('table', { type: 'string', demandOption: true, describe: 'a table written by bench record' })
          .option('strategy', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'built-in name or module path (repeatable, or comma-separated)',
          })
          .option('seeds', numberFlag('seeds', 'seeds 0..N-1 per strategy and budget', 20))
          .option('budget', {
            type: 'string',
            array: true,
            default: ['0.25'],
            describe: 'budget as a fraction of the grid budget (every config to the max round); several for a curve',
          })
          .option('objective', {
            choices: BENCH_OBJECTIVES,
            default: 'val_loss' as const,
            describe: 'what the strategies optimise and regret is measured on',
          })
          .option('min-rounds', numberFlag('min-rounds', 'lowest fidelity (default 1; on score, the first scored round)'))
          .option('plot', { type: 'string', describe: 'write regret vs budget to FILE (.svg or .png)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the table summary and every row as one JSON line' }),
      async (a) => {
        const seeds = positiveInt('seeds', a.seeds)!;
        const fractions = numberList('budget', a.budget)!;
        for (const f of fractions) if (!(f > 0)) throw new UsageError(`--budget ${f}: want a fraction > 0 of the grid budget`);
        const strategies = a.strategy
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (!strategies.length) throw new UsageError('--strategy: no strategy given (a built-in name or a module path)');
        if (a.plot !== undefined && !/\.(svg|png)$/i.test(a.plot))
          throw new UsageError(`--plot ${a.plot}: want a file ending in .svg or .png`);
        if (a.plot !== undefined) await checkOutputPath(a.plot, 'file', '--plot');
        const { replayBenchTable } = await import('../hpo/bench-replay.js');
        const minRound = positiveInt('min-rounds', a['min-rounds']);
        const result = await replayBenchTable({
          table: a.table,
          strategies,
          seeds,
          fractions,
          objective: a.objective,
          ...(minRound !== undefined ? { minRound } : {}),
          ...(a.json ? {} : { onProgress: log }),
        });
        if (a.json) console.log(JSON.stringify(result));
        else printReplay(result);
        if (a.plot !== undefined) {
          const { regretBudgetChart } = await import('../plot/regret-budget.js');
          const { specToSvg, svgToPng } = await import('../plot/render.js');
          const t = result.table;
          const chart = regretBudgetChart(
            result.rows,
            `${t.name}: ${t.configs} configs x ${t.maxRound} rounds, ${t.objective}, ${seeds} seeds`,
          );
          const svg = await specToSvg(chart.spec);
          await writeFile(a.plot, /\.png$/i.test(a.plot) ? svgToPng(svg) : svg);
          log(`wrote ${a.plot}`);
        }
      },
    )
    .command(
      'analyze <table>',
      'Val-loss rank vs score rank (Spearman, Kendall tau-b with p-values, top-k overlap) at a scored round, and each round vs the last',
      (a) =>
        a
          .positional('table', { type: 'string', demandOption: true, describe: 'a table written by bench record' })
          .option('round', numberFlag('round', 'observe every config at this scored round (default the max round)'))
          .option('top-k', { type: 'string', array: true, describe: 'top-k sizes: counts, or fractions of the configs (default 1,3,5)' })
          .option('json', { type: 'boolean', default: false, describe: 'print everything as one JSON line' }),
      async (a) => {
        const topK = numberList('top-k', a['top-k']);
        for (const k of topK ?? []) if (!(k > 0)) throw new UsageError(`--top-k ${k}: want a count >= 1 or a fraction in (0, 1)`);
        const { readBenchTable } = await import('../hpo/bench-table.js');
        const { benchRound, benchStudyData } = await import('../hpo/bench-study.js');
        const { crossFidelityRows, lossScoreAgreementRows } = await import('../hpo/ranking.js');
        const table = await readBenchTable(a.table);
        const round = benchRound(table, a.round);
        const study = benchStudyData(table, { round });
        const options = topK ? { topK } : {};
        const lossScore = lossScoreAgreementRows(study, options);
        const fidelity = crossFidelityRows(study, options);
        const complete = study.trials.filter((t) => t.status === 'complete');
        const scores = new Set(complete.map((t) => t.metrics?.score).filter((v) => v !== undefined));
        const losses = new Set(complete.map((t) => t.values?.[0]));
        if (a.json) {
          console.log(
            JSON.stringify({
              table: a.table,
              round,
              configs: study.trials.length,
              complete: complete.length,
              distinct: { val_loss: losses.size, score: scores.size },
              loss_score: lossScore,
              cross_fidelity: fidelity,
            }),
          );
          return;
        }
        console.log(
          `table     ${a.table} observed at round ${round}: ${study.trials.length} configs, ${complete.length} complete; ` +
            `${losses.size} distinct val_loss values, ${scores.size} distinct scores`,
        );
        printAgreements('val_loss rank vs score rank (1 = best, ties averaged; p two-sided):', lossScore);
        printAgreements('rank at each round vs the last (same metric):', fidelity);
      },
    )
    .command(
      'export <table>',
      'One row per (config, round): hyperparameters, round, val_loss, score (empty where not evaluated), status',
      (a) =>
        a
          .positional('table', { type: 'string', demandOption: true })
          .option('format', {
            choices: ['csv', 'json'] as const,
            default: 'csv' as const,
            describe: 'CSV (RFC 4180) or a JSON array of rows',
          })
          .option('output', { type: 'string', describe: 'file to write (default stdout)' }),
      async (a) => {
        // Before reading: a FIFO as --output would block the write forever, a directory fail after the work.
        if (a.output) await checkOutputPath(a.output, 'file', '--output');
        const { readBenchTable } = await import('../hpo/bench-table.js');
        const { benchExportTable } = await import('../hpo/bench-export.js');
        const { toCsv } = await import('../hpo/study-export.js');
        const table = benchExportTable(await readBenchTable(a.table));
        const text = a.format === 'csv' ? toCsv(table) : `${JSON.stringify(table.rows)}\n`;
        if (a.output) await writeFile(a.output, text);
        else process.stdout.write(text);
      },
    )
    .demandCommand(1, 'name a bench command: record, replay, analyze, export');
}
