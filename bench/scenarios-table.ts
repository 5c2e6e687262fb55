// Mean ± sample std per (task, scenario) over the seeds that finished, and the markdown table.
import { mean, sampleStandardDeviation } from 'simple-statistics';

/** What one finished run contributes: its final-round validation loss and its test score. */
export interface RunSummary {
  task: string;
  scenario: string;
  seed: number;
  valLoss: number | null;
  score: number;
  seconds: number;
}

export interface ScenarioCell {
  task: string;
  scenario: string;
  seeds: number[];
  valLossMean: number;
  valLossStd: number;
  scoreMean: number;
  scoreStd: number;
  secondsMean: number;
}

/** Std is NaN with one seed (printed as "n/a": one run says nothing about spread). */
function meanStd(xs: number[]): [number, number] {
  if (!xs.length) return [Number.NaN, Number.NaN];
  return [mean(xs), xs.length > 1 ? sampleStandardDeviation(xs) : Number.NaN];
}

export function cellsOf(runs: readonly RunSummary[], tasks: readonly string[], scenarios: readonly string[]): ScenarioCell[] {
  const cells: ScenarioCell[] = [];
  for (const task of tasks)
    for (const scenario of scenarios) {
      const rs = runs.filter((r) => r.task === task && r.scenario === scenario);
      if (!rs.length) continue;
      const [valLossMean, valLossStd] = meanStd(rs.flatMap((r) => (r.valLoss === null ? [] : [r.valLoss])));
      const [scoreMean, scoreStd] = meanStd(rs.map((r) => r.score));
      cells.push({
        task,
        scenario,
        seeds: rs.map((r) => r.seed),
        valLossMean,
        valLossStd,
        scoreMean,
        scoreStd,
        secondsMean: mean(rs.map((r) => r.seconds)),
      });
    }
  return cells;
}

const pm = (m: number, s: number, digits: number, scale = 1): string =>
  `${(scale * m).toFixed(digits)} ± ${Number.isNaN(s) ? 'n/a' : (scale * s).toFixed(digits)}`;

export function markdownTable(cells: readonly ScenarioCell[]): string {
  const lines = [
    '| task | scenario | seeds | final validation loss | test score (%) | seconds per run (mean) |',
    '|---|---|---|---|---|---|',
    ...cells.map(
      (c) =>
        `| ${c.task} | ${c.scenario} | ${c.seeds.join(',')} | ${pm(c.valLossMean, c.valLossStd, 3)} | ${pm(c.scoreMean, c.scoreStd, 1, 100)} | ${c.secondsMean.toFixed(0)} |`,
    ),
  ];
  return lines.join('\n');
}
