// `fedhpo plot landscape|rank-scatter|history|curves` and `fedhpo report`: read study directories or
// recorded bench tables (a .jsonl file, observed at --round) through loadAnalysisSource, build a
// chart or the report, print the files written. The plotting modules are
// imported when a plot command runs: Vega takes most of a second to load, which every other
// command would pay otherwise.
import type { Argv } from 'yargs';
import { type AnalysisSource, loadAnalysisSource } from '../hpo/study-source.js';
import type { Chart } from '../plot/chart.js';
import type { ChartFormat } from '../plot/chart-options.js';
import { numberFlag } from './flags.js';

const FORMATS = { png: ['png'], svg: ['svg'], both: ['svg', 'png'] } as const satisfies Record<string, readonly ChartFormat[]>;

const output = <T>(a: Argv<T>) =>
  a
    .option('format', { choices: ['png', 'svg', 'both'] as const, default: 'both' as const, describe: 'file format(s) to write' })
    .option('out', {
      type: 'string',
      describe: 'directory to write into (default: the study directory; for a table, a directory beside it named after it)',
    });

const SOURCE = 'study directory (holds journal.jsonl) or a bench table (.jsonl, from bench record)';

const withRound = <T>(a: Argv<T>) =>
  a.option('round', numberFlag('round', 'a bench table: observe every config at this scored round (default the max round)'));

const load = (source: string, round: number | undefined): Promise<AnalysisSource> =>
  loadAnalysisSource(source, round !== undefined ? { round } : {});

async function write(chart: Chart, dir: string, format: keyof typeof FORMATS): Promise<void> {
  const { writeChart } = await import('../plot/chart.js');
  for (const path of await writeChart(dir, chart, FORMATS[format])) console.log(path);
}

export function plotCommands(y: Argv): Argv {
  return y
    .command(
      'landscape <dir>',
      'Rank landscape over two hyperparameters: val-loss rank and score rank side by side',
      (a) =>
        withRound(output(a))
          .positional('dir', { type: 'string', demandOption: true, describe: SOURCE })
          .option('x', { type: 'string', demandOption: true, describe: 'hyperparameter on the x axis, e.g. train.lr' })
          .option('y', { type: 'string', demandOption: true, describe: 'hyperparameter on the y axis, e.g. lora.r' })
          .option('marginalize', {
            choices: ['best', 'mean'] as const,
            default: 'best' as const,
            describe: 'how a cell combines the other hyperparameters',
          })
          .option('max-bins', numberFlag('max-bins', 'bins for continuous hyperparameters', 8)),
      async (a) => {
        const src = await load(a.dir, a.round);
        const { landscapeChart } = await import('../plot/landscape.js');
        const chart = landscapeChart(src.study, { x: a.x, y: a.y, marginalize: a.marginalize, maxBins: a['max-bins'] });
        await write(chart, a.out ?? src.outDir, a.format);
      },
    )
    .command(
      'rank-scatter <dir>',
      'Validation-loss rank vs score rank, one dot per complete trial, with Spearman and Kendall tau-b',
      (a) => withRound(output(a)).positional('dir', { type: 'string', demandOption: true, describe: SOURCE }),
      async (a) => {
        const src = await load(a.dir, a.round);
        const { rankScatterChart } = await import('../plot/rank-scatter.js');
        await write(rankScatterChart(src.study), a.out ?? src.outDir, a.format);
      },
    )
    .command(
      'history <dirs..>',
      'Best value so far vs rounds spent, one line per study (several studies on one chart)',
      (a) =>
        output(a)
          .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'study directories or bench tables' })
          .option('metric', { type: 'string', describe: 'metric to follow (default: the primary objective)' }),
      async (a) => {
        const sources = [];
        for (const dir of a.dirs) sources.push(await load(dir, undefined));
        const { historyChart } = await import('../plot/history.js');
        await write(
          historyChart(
            sources.map((s) => s.study),
            { metric: a.metric },
          ),
          a.out ?? sources[0]!.outDir,
          a.format,
        );
      },
    )
    .command(
      'curves <dir>',
      'Per-round learning curves of every trial (pruned ones end in a marker)',
      (a) => withRound(output(a)).positional('dir', { type: 'string', demandOption: true, describe: SOURCE }),
      async (a) => {
        const src = await load(a.dir, a.round);
        const { curvesChart } = await import('../plot/curves.js');
        await write(curvesChart(src.study), a.out ?? src.outDir, a.format);
      },
    )
    .demandCommand(1, 'name a plot: landscape, rank-scatter, history or curves');
}

export function reportCommand(y: Argv): Argv {
  return y.command(
    'report <dir>',
    'Write DIR/report.html: correlations, best config, every plot and a sortable table of trials (self-contained)',
    (a) =>
      withRound(a)
        .positional('dir', { type: 'string', demandOption: true, describe: SOURCE })
        .option('out', { type: 'string', describe: 'directory to write into (default as for plot)' })
        .option('marginalize', {
          choices: ['best', 'mean'] as const,
          default: 'best' as const,
          describe: 'landscape cells: best or mean over the other hyperparameters',
        })
        .option('plots', {
          choices: ['none', 'png', 'svg', 'both'] as const,
          default: 'none' as const,
          describe: 'also write every plot beside the report',
        }),
    async (a) => {
      const src = await load(a.dir, a.round);
      const { writeReport } = await import('../plot/report.js');
      const r = await writeReport(a.out ?? src.outDir, src.study, {
        marginalize: a.marginalize,
        chartFiles: a.plots === 'none' ? [] : FORMATS[a.plots],
      });
      for (const f of r.files) console.log(f);
      console.log(r.path);
    },
  );
}
