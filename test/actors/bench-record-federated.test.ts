// bench record with the federated TrialRunner (trialRunnerFor a federated study) on a tiny model: the
// rows hold real federations' val_loss per round and scores at the scored rounds, recorded in segments
// continued from checkpoints yet equal to one uninterrupted federation; the header has the model's sha256.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedTrialRunner } from '../../src/actors/federated-runner.js';
import { modelDirSha256 } from '../../src/fl/model-fingerprint.js';
import { recordBenchTable } from '../../src/hpo/bench-record.js';
import { readBenchTable } from '../../src/hpo/bench-table.js';
import { parseStudyConfig } from '../../src/hpo/study-config.js';
import { trialConfigOf } from '../../src/hpo/trial-config.js';
import { tinyModelDir, tinyTrialDoc } from './fl-fixtures.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
beforeAll(async () => {
  dir = await tinyModelDir();
});
afterAll(async () => {
  await dir?.dispose();
});

describe('bench record with the federated runner', () => {
  it('records real federations, segment by segment, equal to uninterrupted runs', async () => {
    const config = parseStudyConfig(
      {
        seed: 3,
        space: { 'train.lr': { type: 'categorical', choices: [0.003, 0.03] } },
        fidelity: { min_rounds: 1, max_rounds: 2 },
        budget: { rounds: 4 },
        strategy: 'grid',
        trial: tinyTrialDoc(dir.modelDir),
      },
      'tiny federated grid',
    );
    const file = join(dir.root, 'fed.jsonl');
    const r = await recordBenchTable({ runnerFor: trialRunnerFor, config, file, command: ['test'] });
    expect(r).toMatchObject({ total: 2, recorded: 2 });
    const table = await readBenchTable(file);
    expect(table.header.runner).toBe('federated');
    expect(table.header.score_rounds).toEqual([1, 2]);
    expect(table.header.model_sha256).toBe(await modelDirSha256(dir.modelDir));

    const straight = new FederatedTrialRunner();
    try {
      for (const row of table.rows) {
        expect(row.status, row.reason).toBe('complete');
        const o = await straight.run({
          trialId: 100 + row.index,
          attempt: 1,
          config: trialConfigOf(config, row.config),
          fidelity: 2,
          dir: join(dir.root, 'straight', String(row.index)),
          onRound: () => 'continue',
          signal: new AbortController().signal,
        });
        expect(row.rounds.map((x) => x.val_loss)).toEqual(o.curve.map((c) => c.metrics.val_loss));
        expect(row.rounds[1]!.score).toBe(o.metrics.score);
        expect(row.rounds[0]!.score).toBeGreaterThanOrEqual(0);
        expect(row.costs.client_rounds).toBe(o.costs.client_rounds);
      }
    } finally {
      await straight.close();
    }
  }, 240_000);
});
