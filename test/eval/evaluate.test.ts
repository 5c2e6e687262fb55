// evaluateRecords on a tiny random model with a trained BPE tokenizer: the report's shape and cost
// meters, and pipeline correctness — each sample is scored on the model's own greedy continuation
// of its prompt, even though generation runs in length-sorted, left-padded batches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainBpe, type BpeTokenizer } from '../../src/data/bpe/index.js';
import { loadTask, type TaskRecord } from '../../src/data/tasks/index.js';
import { Engine } from '../../src/engine/engine.js';
import { lmBatch } from '../../src/model/model.js';
import { CostMeter } from '../../src/engine/costs.js';
import { answerStubOf, evaluateRecords, promptOf } from '../../src/eval/evaluate.js';
import { extractAnswerNumber } from '../../src/eval/extract.js';
import { closeSandboxPool } from '../../src/eval/sandbox.js';
import { firstAnswerSpan, normalizeAnswer } from '../../src/eval/text-metrics.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { LlamaModel, initWeights } from '../../src/model/model.js';

const MAX_NEW = 10;

let engine: Engine;
let model: LlamaModel;
let tok: BpeTokenizer;
const arith = loadTask('arith').test;
const instruct = loadTask('instruct').test;

beforeAll(async () => {
  const corpus = [...loadTask('arith').train.slice(0, 100), ...loadTask('instruct').train.slice(0, 100)].flatMap((r) => [
    promptOf(r),
    r.output,
  ]);
  tok = trainBpe(corpus, { vocabSize: 320 });
  const cfg = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 512,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
  });
  engine = new Engine({ threads: 1 });
  // A large init std makes the greedy continuation depend strongly on the prompt.
  model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 1, 0.5));
});

afterAll(async () => {
  closeSandboxPool();
  await engine?.close();
});

/** The model's greedy continuation of one prompt, generated alone (no batching, no padding). */
async function greedy(r: TaskRecord): Promise<{ ids: number[]; text: string }> {
  const [ids] = await model.generate([[tok.bosId, ...tok.encode(promptOf(r))]], {
    maxNewTokens: MAX_NEW,
    eosId: tok.eosId,
    padId: tok.padId,
  });
  return { ids: ids!, text: tok.decode(ids!) };
}

const withAnswers = (r: TaskRecord, answers: string[], category: string): TaskRecord => ({
  ...r,
  category,
  reference: { kind: 'text', answers, metric: 'exact' },
});

describe('evaluateRecords', () => {
  it('reports samples, scores in [0, 1], per-category counts, a finite loss and costs', async () => {
    const code = loadTask('code').test;
    const records = [...instruct.slice(0, 4), ...arith.slice(0, 3), ...code.slice(0, 3)];
    const progress: [number, number][] = [];
    const r = await evaluateRecords(model, tok, records, {
      limit: 8,
      batchSize: 3,
      maxNewTokens: 6,
      onProgress: (d, t) => progress.push([d, t]),
    });

    expect(r.samples).toBe(8);
    expect(r.results).toHaveLength(8);
    expect(r.results.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.results.map((s) => s.category)).toEqual(records.slice(0, 8).map((x) => x.category));
    for (const s of r.results) {
      expect(s.score).toBeGreaterThanOrEqual(0);
      expect(s.score).toBeLessThanOrEqual(1);
      expect(typeof s.output).toBe('string');
    }
    expect(r.score).toBeGreaterThanOrEqual(0);
    expect(r.score).toBeLessThanOrEqual(1);
    expect(r.score).toBeCloseTo(r.results.reduce((a, s) => a + s.score, 0) / 8, 12);
    const cats = Object.entries(r.byCategory);
    expect(cats.reduce((n, [, c]) => n + c.samples, 0)).toBe(8);
    for (const [name, c] of cats) {
      expect(c.samples).toBe(r.results.filter((s) => s.category === name).length);
      expect(c.score).toBeGreaterThanOrEqual(0);
      expect(c.score).toBeLessThanOrEqual(1);
    }
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.generatedTokens).toBeGreaterThan(0);
    expect(r.generatedTokens).toBeLessThanOrEqual(8 * 6);
    expect(r.generationTokensPerSecond).toBeGreaterThan(0);
    expect(r.costs.tokens).toBeGreaterThan(0);
    expect(r.costs.flops).toBeGreaterThan(0);
    expect(r.costs.peakRssMb).toBeGreaterThan(0);
    expect(r.costs.seconds).toBeGreaterThan(0);
    // 3 loss batches + at least one prefill per generation batch.
    expect(r.costs.runs).toBeGreaterThanOrEqual(3 + 3);
    expect(progress).toEqual([
      [3, 8],
      [6, 8],
      [8, 8],
    ]);
  });

  it('meters per call: concurrent evaluations on one model each report only their own costs', async () => {
    const opts = { batchSize: 2, maxNewTokens: 5 };
    const small = arith.slice(0, 2);
    const big = instruct.slice(0, 5);
    const alone = [await evaluateRecords(model, tok, small, opts), await evaluateRecords(model, tok, big, opts)];
    const together = await Promise.all([evaluateRecords(model, tok, small, opts), evaluateRecords(model, tok, big, opts)]);
    const counts = (r: { costs: { tokens: number; flops: number; runs: number } }) => [r.costs.tokens, r.costs.flops, r.costs.runs];
    expect(alone[0]!.costs.tokens).toBeLessThan(alone[1]!.costs.tokens);
    expect(together.map(counts)).toEqual(alone.map(counts));
  });

  it('a meter counts exactly the model calls it is passed to', async () => {
    const meter = new CostMeter();
    const batch = lmBatch([tok.encode('one two three four'), tok.encode('five six')]);
    await model.loss(batch);
    await model.generate([[tok.bosId, 5, 6]], { maxNewTokens: 3 });
    expect(meter.report()).toMatchObject({ tokens: 0, flops: 0, runs: 0 });
    await model.loss(batch, undefined, { meter });
    expect(meter.report()).toMatchObject({ tokens: batch.batch * batch.seq, runs: 1 });
    const oneLoss = meter.report().flops;
    expect(oneLoss).toBeGreaterThan(0);
    await model.generate([[tok.bosId, 5, 6]], { maxNewTokens: 3, meter });
    // A prefill of 3 tokens, then one token per further step (the third token needs no step).
    expect(meter.report()).toMatchObject({ tokens: batch.batch * batch.seq + 3 + 2, runs: 1 + 3 });
    await model.nll([tok.encode('seven eight nine')], { meter });
    expect(meter.report().runs).toBe(5);
  });

  it('rejects an empty record list', async () => {
    await expect(evaluateRecords(model, tok, [])).rejects.toThrow(/no records/);
    await expect(evaluateRecords(model, tok, instruct, { limit: 0 })).rejects.toThrow(/no records/);
  });

  it('scores each record on its own greedy continuation despite length-sorted batching', async () => {
    // Prompts of different lengths, in an order that length-sorting permutes.
    const byLen = [...instruct.slice(0, 40)].sort((a, b) => promptOf(b).length - promptOf(a).length);
    const picked = [byLen[0]!, byLen[30]!, byLen[5]!, byLen[39]!, byLen[15]!];
    const lens = picked.map((r) => tok.encode(promptOf(r)).length);
    expect(new Set(lens).size).toBe(picked.length);
    const expected = await Promise.all(picked.map(greedy));
    const spans = expected.map((e) => firstAnswerSpan(e.text));
    // Precondition: the answers tell the records apart, so a mix-up cannot score 1 by accident.
    expect(new Set(spans.map(normalizeAnswer)).size).toBe(picked.length);

    const right = picked.map((r, i) => withAnswers(r, [spans[i]!], `c${i % 2}`));
    const ok = await evaluateRecords(model, tok, right, { batchSize: 2, maxNewTokens: MAX_NEW });
    expect(ok.results.map((s) => s.output)).toEqual(expected.map((e) => e.text));
    expect(ok.results.map((s) => s.score)).toEqual([1, 1, 1, 1, 1]);
    expect(ok.score).toBe(1);
    expect(ok.byCategory).toEqual({ c0: { samples: 3, score: 1 }, c1: { samples: 2, score: 1 } });
    expect(ok.generatedTokens).toBe(expected.reduce((n, e) => n + e.ids.length, 0));

    // Each record given its neighbour's answer: every score 0.
    const shifted = picked.map((r, i) => withAnswers(r, [spans[(i + 1) % picked.length]!], 'x'));
    const mixed = await evaluateRecords(model, tok, shifted, { batchSize: 2, maxNewTokens: MAX_NEW });
    expect(mixed.results.map((s) => s.score)).toEqual([0, 0, 0, 0, 0]);

    const wrong = picked.map((r) => withAnswers(r, ['zebra quartz umbrella'], 'x'));
    const bad = await evaluateRecords(model, tok, wrong, { batchSize: 2, maxNewTokens: MAX_NEW });
    expect(bad.score).toBe(0);
    expect(bad.byCategory).toEqual({ x: { samples: 5, score: 0 } });
  });

  it('code records: the model continues the signature stub, and stub + continuation is scored', async () => {
    const code = loadTask('code').test.slice(0, 3);
    const expected = await Promise.all(
      code.map(async (r) => {
        const stub = answerStubOf(r);
        expect(stub).not.toBe('');
        const [ids] = await model.generate([[tok.bosId, ...tok.encode(promptOf(r)), ...tok.encode(stub)]], {
          maxNewTokens: MAX_NEW,
          eosId: tok.eosId,
          padId: tok.padId,
        });
        return stub + tok.decode(ids!);
      }),
    );
    const rep = await evaluateRecords(model, tok, code, { batchSize: 2, maxNewTokens: MAX_NEW });
    expect(rep.results.map((s) => s.output)).toEqual(expected);
    for (const [i, r] of code.entries())
      expect(rep.results[i]!.output.startsWith(`function ${(r.reference as { entry: string }).entry}(`)).toBe(true);

    // A stub that already is a whole, correct function passes whatever the random model appends;
    // without the stub the same record fails.
    const tests = [
      { args: [1], expected: 2 },
      { args: [5], expected: 6 },
    ];
    const whole: TaskRecord = {
      ...code[0]!,
      reference: { kind: 'code', entry: 'inc', tests, stub: 'function inc(x) { return x + 1; }\n' },
    };
    const bare: TaskRecord = { ...whole, reference: { kind: 'code', entry: 'inc', tests } };
    const scored = await evaluateRecords(model, tok, [whole, bare], { maxNewTokens: MAX_NEW });
    expect(scored.results.map((s) => s.score)).toEqual([1, 0]);
  });

  it('scores number records on the number in the greedy output', async (ctx) => {
    const candidates = [...arith.slice(0, 12), ...instruct.slice(0, 12)];
    const outs = await Promise.all(candidates.map(greedy));
    const hits = candidates.flatMap((r, i) => {
      const n = extractAnswerNumber(outs[i]!.text);
      return n === null ? [] : [{ r, n }];
    });
    if (!hits.length) return ctx.skip('no greedy output contains a number');
    const recs = hits.slice(0, 3).flatMap(({ r, n }): TaskRecord[] => [
      { ...r, category: 'right', reference: { kind: 'number', value: n } },
      { ...r, category: 'wrong', reference: { kind: 'number', value: n + 1 } },
    ]);
    const rep = await evaluateRecords(model, tok, recs, { batchSize: 2, maxNewTokens: MAX_NEW });
    expect(rep.byCategory.right!.score).toBe(1);
    expect(rep.byCategory.wrong!.score).toBe(0);
  });
});
