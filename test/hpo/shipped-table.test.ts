// The shipped bench table stays what its recipe says: complete, recorded with the federated runner
// from bench/tables/code-lora-grid.yaml as it reads today (a changed recipe needs a new recording),
// and replayable.
import { describe, expect, it } from 'vitest';
import { benchProblem } from '../../src/hpo/bench-problem.js';
import { readBenchTable } from '../../src/hpo/bench-table.js';
import { loadStudyConfig } from '../../src/hpo/study-config.js';
import { gridConfigs } from '../../src/hpo/testfns.js';
import { trialConfigOf } from '../../src/hpo/trial-config.js';

const TABLE = 'bench/tables/code-lora-grid.jsonl';
const RECIPE = 'bench/tables/code-lora-grid.yaml';

describe('bench/tables/code-lora-grid', () => {
  it('is a complete federated recording of its recipe: >= 48 configs, >= 3 hyperparameters, >= 8 rounds', async () => {
    const table = await readBenchTable(TABLE);
    const recipe = await loadStudyConfig(RECIPE);
    expect(table.torn).toBeUndefined();
    expect(table.header.runner).toBe('federated');
    expect(table.header.command).toEqual(['fedhpo', 'bench', 'record', RECIPE, '--out', TABLE]);
    expect(table.header.space).toEqual(recipe.space);
    expect(table.header.base_trial).toEqual(trialConfigOf(recipe, {}));
    expect(table.header.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(table.space.size).toBeGreaterThanOrEqual(3);
    expect(table.header.max_round).toBeGreaterThanOrEqual(8);
    expect(table.rows.length).toBe(gridConfigs(table.space).length);
    expect(table.rows.length).toBeGreaterThanOrEqual(48);
    for (const row of table.rows) {
      expect(row.rounds.map((r) => r.round)).toEqual(Array.from({ length: table.header.max_round }, (_, i) => i + 1));
      expect(row.rounds.filter((r) => r.score !== undefined).map((r) => r.round)).toEqual(table.header.score_rounds);
    }
    const p = benchProblem(table);
    expect(p.table().best).toBeLessThan(p.table().worst);
  });
});
