// The whole path for a user's own data, through the CLI: small GSM8K-, Dolly- and HumanEval-style
// files are written, split into clients with `fedhpo data split`, trained on with `fedhpo fl run`
// (in-process, and GSM8K once more through NATS: the same losses) and searched with a two-trial
// `fedhpo study run` of the example config for that format (configs/examples/, paths and sizes set
// with --set for a tiny model). Every trial must have a validation loss and a score computed on the
// user's test file (test_samples is that file's record count).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { TINY } from '../actors/fl-fixtures.js';
import { replayStudy, tempDir } from '../helpers/study-fixtures.js';
import { type UserDataFiles, writeUserData } from '../helpers/user-data.js';
import { expectUserError, fedhpoWithin } from './run-cli.js';

const FORMATS = [
  { format: 'gsm8k', split: ['--splitter', 'iid', '--clients', '3'], clients: 3, metric: 'accuracy' },
  { format: 'dolly', split: ['--splitter', 'meta', '--by', 'category'], clients: 3, metric: 'em-f1' },
  { format: 'humaneval-js', split: ['--splitter', 'iid', '--clients', '2'], clients: 2, metric: 'pass@1' },
] as const;
const TEST_RECORDS = 6;

/** Sizes for the tiny model (byte tokenizer: a 384-token window fits a templated prompt and its answer). */
const TINY_SETTINGS = [
  'trial.lora.targets=[q_proj, v_proj]',
  'trial.lora.r=4',
  'trial.train.local_steps=2',
  'trial.train.batch_size=4',
  'trial.train.seq_len=384',
  'trial.eval.max_new_tokens=8',
  'trial.eval.batch_size=8',
  'trial.threads=1',
];

let dir: string;
let model: string;
const files = new Map<string, UserDataFiles & { clients: string }>();

beforeAll(async () => {
  dir = await tempDir('fedhpo-user-data-');
  model = join(dir, 'model');
  await saveCheckpoint(model, TINY, initWeights(TINY, 5));
  for (const f of FORMATS) {
    const written = await writeUserData(dir, f.format, { train: 24, valid: 6, test: TEST_RECORDS });
    files.set(f.format, { ...written, clients: join(dir, f.format, 'clients') });
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function ok(r: { code: number; stderr: string }): void {
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
}

const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('a user’s own files through split, fl run and a study', () => {
  for (const f of FORMATS) {
    it(`${f.format}: data split, fl run (validation loss per round, score on the test file), two-trial study`, async () => {
      const paths = files.get(f.format)!;
      ok(await fedhpoWithin(60_000, 'data', 'split', '--in', paths.train, ...f.split, '--out', paths.clients));
      const split = JSON.parse(await readFile(join(paths.clients, 'split.json'), 'utf8'));
      expect(split.clients).toHaveLength(f.clients);

      const example = `configs/examples/study-${f.format}-files.yaml`;
      const dataSets = [
        `trial.data.clients=${paths.clients}`,
        `trial.data.test=${paths.test}`,
        ...(f.format === 'dolly' ? [] : [`trial.data.valid=${paths.valid}`]),
        `trial.model=${model}`,
      ];
      // fl run takes an FL config: the study's trial document is one (the same keys, without `trial.`).
      const flSets = [...TINY_SETTINGS, ...dataSets].map((s) => s.replace(/^trial\./, ''));
      const flConfig = join(dir, `fl-${f.format}.yaml`);
      const trialDoc = parse(await readFile(example, 'utf8')).trial;
      const { kind: _kind, ...flDoc } = trialDoc;
      await writeFile(flConfig, stringify({ ...flDoc, rounds: 2 }));
      const fl = await fedhpoWithin(
        180_000,
        'fl',
        'run',
        '--config',
        flConfig,
        ...flSets.flatMap((s) => ['--set', s]),
        '--out',
        join(dir, `run-${f.format}`),
        '--json',
      );
      ok(fl);
      const summary = lastJson(fl.stdout) as { valLoss: (number | null)[]; test: { samples: number; score: number; perClient: object } };
      expect(summary.valLoss).toHaveLength(3);
      for (const v of summary.valLoss) expect(v).toBeGreaterThan(0);
      expect(summary.test.samples).toBe(TEST_RECORDS);
      expect(summary.test.score).toBeGreaterThanOrEqual(0);
      expect(Object.keys(summary.test.perClient).length).toBeGreaterThan(0);

      if (f.format === 'gsm8k') {
        // The same config through a nats-server: the same numbers.
        const nats = await fedhpoWithin(
          180_000,
          'fl',
          'run',
          '--config',
          flConfig,
          ...flSets.flatMap((s) => ['--set', s]),
          '--out',
          join(dir, 'run-nats'),
          '--json',
          '--nats',
          'nats://127.0.0.1:4222',
        );
        ok(nats);
        expect((lastJson(nats.stdout) as typeof summary).valLoss).toEqual(summary.valLoss);
      }

      const studyDir = join(dir, `study-${f.format}`);
      const sets = ['budget.trials=2', 'fidelity.rounds=1', ...TINY_SETTINGS, ...dataSets];
      const study = await fedhpoWithin(300_000, 'study', 'run', example, '--out', studyDir, ...sets.flatMap((s) => ['--set', s]));
      ok(study);
      const state = await replayStudy(studyDir);
      expect(state.trials).toHaveLength(2);
      for (const t of state.trials) {
        expect(t.status, t.reason).toBe('complete');
        expect(t.metrics!.val_loss).toBeGreaterThan(0);
        expect(t.metrics!.score).toBeGreaterThanOrEqual(0);
        expect(t.metrics!.test_samples).toBe(TEST_RECORDS);
      }
    });
  }

  it('a study over files that are not there stops at once, naming the key and the path', async () => {
    const missing = join(dir, 'no-such-split');
    const r = await fedhpoWithin(
      60_000,
      'study',
      'run',
      'configs/examples/study-gsm8k-files.yaml',
      '--out',
      join(dir, 'study-missing'),
      '--set',
      `trial.data.clients=${missing}`,
    );
    expectUserError(r, `data.clients: ${missing} is not a split directory`);
  });
});
