import { describe, expect, it } from 'vitest';
import { cellsOf, markdownTable, type RunSummary } from '../../bench/scenarios-table.js';

const run = (scenario: string, seed: number, valLoss: number | null, score: number): RunSummary => ({
  task: 'arith',
  scenario,
  seed,
  valLoss,
  score,
  seconds: 10,
});

describe('scenario table', () => {
  it('gives mean ± sample std per cell over the seeds that finished, n/a for the std of one seed', () => {
    const cells = cellsOf(
      [run('fed', 0, 1, 0.1), run('fed', 1, 2, 0.2), run('fed', 2, 3, 0.3), run('local', 0, 0.5, 0.05)],
      ['arith'],
      ['global', 'fed', 'local'],
    );
    expect(cells.map((c) => c.scenario)).toEqual(['fed', 'local']); // global: nothing finished
    expect(cells[0]).toMatchObject({ seeds: [0, 1, 2], valLossMean: 2, valLossStd: 1 });
    expect(cells[0]!.scoreStd).toBeCloseTo(0.1, 12);
    expect(Number.isNaN(cells[1]!.valLossStd)).toBe(true);
    const table = markdownTable(cells);
    expect(table).toContain('| arith | fed | 0,1,2 | 2.000 ± 1.000 | 20.0 ± 10.0 | 10 |');
    expect(table).toContain('| arith | local | 0 | 0.500 ± n/a | 5.0 ± n/a | 10 |');
  });

  it('leaves a run without a validation loss out of the loss mean only', () => {
    const [cell] = cellsOf([run('fed', 0, null, 0.1), run('fed', 1, 2, 0.3)], ['arith'], ['fed']);
    expect(cell).toMatchObject({ valLossMean: 2, scoreMean: 0.2 });
  });
});
