import { describe, expect, it } from 'vitest';
import { binParam } from '../../src/hpo/param-bins.js';
import { parseSpace } from '../../src/hpo/space.js';
import { specToSvg } from '../../src/plot/render.js';
import { landscapeCells, landscapeChart } from '../../src/plot/landscape.js';
import { study, trial } from '../helpers/study.js';

// A 3 x 2 grid over train.lr x lora.r, two trials per cell (train.local_steps 1 and 2), [loss, score] each.
const GRID: Record<string, [number, number][]> = {
  '0.001,4': [
    [3.0, 0.2],
    [2.0, 0.4],
  ],
  '0.01,4': [
    [1.0, 0.3],
    [1.5, 0.3],
  ],
  '0.1,4': [
    [4.0, 0.9],
    [5.0, 0.1],
  ],
  '0.001,8': [
    [2.5, 0.5],
    [2.5, 0.6],
  ],
  '0.01,8': [
    [0.5, 0.7],
    [3.5, 0.0],
  ],
  '0.1,8': [
    [6.0, 0.8],
    [1.2, 0.05],
  ],
};
let id = 0;
const TRIALS = Object.entries(GRID).flatMap(([key, pair]) => {
  const [lr, r] = key.split(',').map(Number);
  return pair.map(([loss, score], s) =>
    trial(id++, { config: { 'train.lr': lr!, 'lora.r': r!, 'train.local_steps': s + 1 }, loss, score }),
  );
});
// A pruned trial with the best loss of all: not a finished result, so no cell may use it.
TRIALS.push(trial(99, { config: { 'train.lr': 0.1, 'lora.r': 4, 'train.local_steps': 1 }, loss: 0.01, score: 1, status: 'pruned' }));
const S = study(TRIALS);

const rankGrid = (cells: ReturnType<typeof landscapeCells>['cells'], metric: string) =>
  Object.fromEntries(cells.filter((c) => c.metric === metric).map((c) => [`${c.x},${c.y}`, c.rank]));

describe('landscapeCells', () => {
  it('best: the best trial per cell, cells ranked by hand', () => {
    const l = landscapeCells(S, { x: 'train.lr', y: 'lora.r' });
    expect(l.xLabels).toEqual(['0.001', '0.01', '0.1']);
    expect(l.yLabels).toEqual(['4', '8']);
    // Best losses 2.0 1.0 4.0 / 2.5 0.5 1.2 -> ranks 4 2 6 / 5 1 3.
    expect(rankGrid(l.cells, 'val_loss')).toEqual({ '0.001,4': 4, '0.01,4': 2, '0.1,4': 6, '0.001,8': 5, '0.01,8': 1, '0.1,8': 3 });
    // Best scores (higher is better) .4 .3 .9 / .6 .7 .8 -> ranks 5 6 1 / 4 3 2.
    expect(rankGrid(l.cells, 'score')).toEqual({ '0.001,4': 5, '0.01,4': 6, '0.1,4': 1, '0.001,8': 4, '0.01,8': 3, '0.1,8': 2 });
    expect(l.cells.every((c) => c.trials === 2)).toBe(true);
  });

  it('mean: the mean per cell, tied cells sharing the average rank', () => {
    const l = landscapeCells(S, { x: 'train.lr', y: 'lora.r', marginalize: 'mean' });
    // Mean losses 2.5 1.25 4.5 / 2.5 2.0 3.6 -> ranks 3.5 1 6 / 3.5 2 5.
    expect(rankGrid(l.cells, 'val_loss')).toEqual({ '0.001,4': 3.5, '0.01,4': 1, '0.1,4': 6, '0.001,8': 3.5, '0.01,8': 2, '0.1,8': 5 });
  });

  it('names an unknown or repeated hyperparameter', () => {
    expect(() => landscapeCells(S, { x: 'train.lr', y: 'lora.alpha' })).toThrow(
      /--y: lora.alpha is not a hyperparameter.*known: train.lr, lora.r/,
    );
    expect(() => landscapeCells(S, { x: 'lora.r', y: 'lora.r' })).toThrow(/same hyperparameter/);
  });

  it('the rendered heatmaps carry exactly those ranks as cell labels', async () => {
    const svg = await specToSvg(landscapeChart(S, { x: 'train.lr', y: 'lora.r' }).spec);
    const labels = [...svg.matchAll(/<text[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]));
    // Both panels' ranks 1..6, once each, among the axis labels (lora.r's 4 and 8 are axis labels too).
    for (let r = 1; r <= 6; r++) expect(labels.filter((l) => l === r).length).toBeGreaterThanOrEqual(2);
    expect(svg).toContain('rank by validation loss');
    expect(svg).toContain('rank by score');
  });
});

describe('binParam', () => {
  const space = parseSpace({
    lr: { type: 'float', low: 1e-4, high: 1e-1, log: true },
    c: { type: 'categorical', choices: ['sgd', 'adamw'] },
  });
  it('cuts a continuous log dim into equal bins in log space', () => {
    const observed = Array.from({ length: 20 }, (_, i) => 1e-4 * 1000 ** (i / 19));
    const b = binParam('lr', space.get('lr')!, observed, 3);
    expect(b.labels).toEqual(['1e-4–0.001', '0.001–0.01', '0.01–0.1']);
    expect([5e-4, 2e-3, 0.05, 0.1].map((v) => b.binOf(v))).toEqual([0, 1, 2, 2]);
  });
  it('keeps few observed values, and categorical choices in their order', () => {
    expect(binParam('lr', space.get('lr')!, [0.01, 0.001, 0.01]).labels).toEqual(['0.001', '0.01']);
    const c = binParam('c', space.get('c')!, []);
    expect(c.labels).toEqual(['sgd', 'adamw']);
    expect(c.binOf('adamw')).toBe(1);
  });
});
