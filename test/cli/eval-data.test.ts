// `fedhpo eval --data FILE`: a user's file scored with the metric of its format, on a tiny random
// model (scores near 0; what is checked is the format, the metric, what is scored and what skipped).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { TINY } from '../actors/fl-fixtures.js';
import { dollyRecords, gsm8kRecords, humanevalJsRecords, toJsonl } from '../helpers/user-data.js';
import { expectUserError, fedhpo } from './run-cli.js';

let dir: string;
let model: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-eval-data-'));
  model = join(dir, 'model');
  await saveCheckpoint(model, TINY, initWeights(TINY, 1));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
}

async function evalJson(...args: string[]): Promise<Record<string, unknown> & { stderr: string }> {
  const r = await fedhpo('eval', '--model', model, '--max-new-tokens', '4', '--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return { ...JSON.parse(r.stdout.trim().split('\n').at(-1)!), stderr: r.stderr };
}

describe('fedhpo eval --data', () => {
  it('GSM8K-format: accuracy over the good records; bad records reported as file:line on stderr', async () => {
    const f = await file('gsm.jsonl', `${toJsonl(gsm8kRecords(3))}{"question": "q", "answer": "none"}\n`);
    const r = await evalJson('--data', f);
    expect(r).toMatchObject({ format: 'gsm8k', metric: 'accuracy', samples: 3, skipped: 1 });
    expect(r.score).toBeGreaterThanOrEqual(0);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.stderr).toContain(`skipped ${f}:4: field 'answer' does not end in a GSM8K final answer`);
  });

  it('Dolly-format: EM/F1 per category', async () => {
    const r = await evalJson('--data', await file('dolly.jsonl', toJsonl(dollyRecords(6))));
    expect(r).toMatchObject({ format: 'dolly', metric: 'em-f1', samples: 6 });
    expect(Object.keys(r.byCategory as object).sort()).toEqual(['brainstorming', 'classification', 'open_qa']);
  });

  it('HumanEval-style JS: pass@1 of the tests in the sandbox; --by groups by any field', async () => {
    const r = await evalJson('--data', await file('he.jsonl', toJsonl(humanevalJsRecords(2))), '--by', 'task_id');
    expect(r).toMatchObject({ format: 'humaneval-js', metric: 'pass@1', samples: 2, score: 0 });
    expect(Object.keys(r.byCategory as object)).toEqual(['JavaScript/0', 'JavaScript/1']);
  });

  it('anything else: loss and token accuracy (no generation); --metric loss on a benchmark file too', async () => {
    const text = toJsonl([{ prompt: 'Say hi: ', completion: 'hi there' }, { text: 'plain text to model' }]);
    const r = await evalJson('--data', await file('plain.jsonl', text));
    expect(r).toMatchObject({ format: 'text', metric: 'loss', samples: 2, generatedTokens: 0 });
    expect(r.score).toBeGreaterThanOrEqual(0);
    expect(r.score).toBeLessThanOrEqual(1);
    const g = await evalJson('--data', join(dir, 'gsm.jsonl'), '--metric', 'loss');
    expect(g).toMatchObject({ format: 'gsm8k', metric: 'loss', samples: 3, generatedTokens: 0 });
  });

  it('refuses a metric the format cannot give, --task with --data, neither, and --by with --task', async () => {
    expectUserError(
      await fedhpo('eval', '--model', model, '--data', join(dir, 'gsm.jsonl'), '--metric', 'pass@1'),
      `${join(dir, 'gsm.jsonl')}: metric pass@1 needs HumanEval-style JavaScript`,
    );
    const both = await fedhpo('eval', '--model', model, '--data', join(dir, 'gsm.jsonl'), '--task', 'arith');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/mutually exclusive/);
    expectUserError(await fedhpo('eval', '--model', model), 'name --task (a built-in task) or --data (a data file)');
    expectUserError(await fedhpo('eval', '--model', model, '--task', 'arith', '--by', 'x'), '--metric and --by go with --data');
  });
});
