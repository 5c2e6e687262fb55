// Recomputed segments (gradients(..., { recompute: true })) and the vocabulary-chunked
// cross-entropy: the same values and gradients as the plain graphs, in float64 through ORT, and a
// backward pass that reads none of a segment's forward activations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff.js';
import { chunkedCrossEntropy } from '../../src/engine/chunked-loss.js';
import { Engine, type Feeds, i64 } from '../../src/engine/engine.js';
import { Graph, type Node, type Tensor } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';
import { rng } from './gradcheck.js';

let engine: Engine;
beforeAll(() => {
  engine = new Engine({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

const uniform = (n: number, seed: number, lo = -1, hi = 1): Float64Array => {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
};
const f64 = (data: Float64Array, dims: number[]) => ({ dtype: 'float64' as const, dims, data });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Runs {loss, grads} of a graph built by `build` and returns every output as float64 arrays. */
async function run(
  build: (g: Graph) => { loss: Tensor; wrt: Tensor[] },
  feeds: Feeds,
  recompute: boolean,
): Promise<{ out: Record<string, Float64Array>; g: Graph; forward: number }> {
  const g = new Graph();
  const { loss, wrt } = build(g);
  const forward = g.nodes.length;
  const grads = gradients(g, loss, wrt, { recompute });
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => {
    outputs[`grad_${wrt[i]!.inputName}`] = t;
  });
  const model = exportOnnx(g, outputs);
  const res = await engine.run(model, feeds);
  await engine.release(model);
  return { out: Object.fromEntries(Object.entries(res).map(([k, t]) => [k, Float64Array.from(t.data as Float64Array)])), g, forward };
}

/**
 * Forward tensors made inside a segment from activations (not from weights alone), other than the
 * segment's outputs (what later forward nodes read: the checkpoints), that backward nodes read.
 */
function segmentActivationsReadByBackward(g: Graph, forward: number): Tensor[] {
  const segmentOf = new Map<Node, number>();
  g.segments.forEach((s, i) => {
    for (let k = s.start; k < s.end; k++) segmentOf.set(g.nodes[k]!, i);
  });
  const fromActivation = new Set<Tensor>();
  for (const n of g.nodes.slice(0, forward))
    if (segmentOf.has(n) && n.inputs.some((t) => t.kind === 'value' && t.dtype === 'float64'))
      for (const o of n.outputs) fromActivation.add(o);
  for (const n of g.nodes.slice(0, forward))
    for (const t of n.inputs) if (t.producer && segmentOf.get(t.producer) !== segmentOf.get(n)) fromActivation.delete(t);
  const read = new Set<Tensor>();
  for (const n of g.nodes.slice(forward)) for (const t of n.inputs) if (fromActivation.has(t)) read.add(t);
  return [...read];
}

describe('gradients with recomputed segments', () => {
  // x -> [segment: tanh(x W1) * cos(.)] -> [segment: softmax(h W2) * h'] -> sum(. * R)
  const build = (g: Graph) => {
    const x = g.input('x', 'float64', [4, 6]);
    const w1 = g.input('w1', 'float64', [6, 6]);
    const w2 = g.input('w2', 'float64', [6, 6]);
    let h = g.mul(x, g.like(x, 1.5)); // an activation made outside any segment
    g.beginSegment();
    const a = g.tanh(g.matmul(h, w1));
    h = g.mul(a, g.cos(a));
    g.endSegment();
    g.beginSegment();
    h = g.mul(g.softmax(g.matmul(h, g.transposeLast(w2)), -1), g.exp(h));
    g.endSegment();
    const loss = g.sumAll(g.mul(h, g.constant(uniform(24, 9), [4, 6], 'float64')));
    return { loss, wrt: [x, w1, w2] };
  };
  const feeds: Feeds = { x: f64(uniform(24, 1), [4, 6]), w1: f64(uniform(36, 2), [6, 6]), w2: f64(uniform(36, 3), [6, 6]) };

  it('gives the same loss and gradients as keeping the activations', async () => {
    const keep = await run(build, feeds, false);
    const lean = await run(build, feeds, true);
    expect(Object.keys(lean.out).sort()).toEqual(['grad_w1', 'grad_w2', 'grad_x', 'loss']);
    for (const k of Object.keys(keep.out)) expect(maxAbsDiff(lean.out[k]!, keep.out[k]!), k).toBeLessThan(1e-12);
    expect(Math.max(...keep.out.grad_w1!.map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it('the backward pass reads no activation a segment made in the forward pass (it recomputes them)', async () => {
    const keep = await run(build, feeds, false);
    const lean = await run(build, feeds, true);
    expect(segmentActivationsReadByBackward(keep.g, keep.forward).length).toBeGreaterThan(3);
    expect(segmentActivationsReadByBackward(lean.g, lean.forward)).toEqual([]);
  });

  it('nested or unbalanced segment markers are refused', () => {
    const g = new Graph();
    g.beginSegment();
    expect(() => g.beginSegment()).toThrow(/already open/);
    g.endSegment();
    expect(() => g.endSegment()).toThrow(/no segment is open/);
  });
});

describe('chunkedCrossEntropy', () => {
  const N = 7;
  const D = 5;
  const V = 10;
  const targets = [3, -100, 9, 0, 9, -100, 4];
  const feeds: Feeds = {
    hidden: f64(uniform(N * D, 4, -2, 2), [N, D]),
    head: f64(uniform(V * D, 5, -2, 2), [V, D]),
    targets: i64(targets, [N]),
  };
  const full = (g: Graph) => {
    const hidden = g.input('hidden', 'float64', ['n', D]);
    const head = g.input('head', 'float64', [V, D]);
    const t = g.input('targets', 'int64', ['n']);
    const perRow = g.crossEntropy(g.matmul(hidden, g.transposeLast(head)), t);
    return { loss: g.sumAll(g.mul(perRow, g.reshape(g.cast(t, 'float64'), [-1]))), wrt: [hidden, head] };
  };
  const chunked = (chunk: number) => (g: Graph) => {
    const hidden = g.input('hidden', 'float64', ['n', D]);
    const head = g.input('head', 'float64', [V, D]);
    const t = g.input('targets', 'int64', ['n']);
    const perRow = chunkedCrossEntropy(g, hidden, head, t, { ignoreIndex: -100, chunk });
    // Weighting rows differently (by their target id) checks each row's gradient, not only their sum.
    return { loss: g.sumAll(g.mul(perRow, g.reshape(g.cast(t, 'float64'), [-1]))), wrt: [hidden, head] };
  };

  for (const chunk of [3, 4, 10, 64])
    for (const recompute of [false, true])
      it(`chunk ${chunk}${recompute ? ', recomputed' : ''}: loss and gradients equal SoftmaxCrossEntropyLoss's`, async () => {
        const ref = await run(full, feeds, false);
        const got = await run(chunked(chunk), feeds, recompute);
        expect(Math.abs(ref.out.loss![0]!)).toBeGreaterThan(1);
        for (const k of ['loss', 'grad_hidden', 'grad_head']) expect(maxAbsDiff(got.out[k]!, ref.out[k]!), k).toBeLessThan(1e-12);
        // Ignored rows get no gradient.
        expect(Array.from(got.out.grad_hidden!.subarray(1 * D, 2 * D))).toEqual([0, 0, 0, 0, 0]);
      });

  it('per-row losses equal SoftmaxCrossEntropyLoss (0 on ignored rows) for logits far from 0', async () => {
    const g = new Graph();
    const hidden = g.input('hidden', 'float64', ['n', D]);
    const head = g.input('head', 'float64', [V, D]);
    const t = g.input('targets', 'int64', ['n']);
    const model = exportOnnx(g, {
      chunked: chunkedCrossEntropy(g, hidden, head, t, { ignoreIndex: -100, chunk: 4 }),
      full: g.crossEntropy(g.matmul(hidden, g.transposeLast(head)), t),
    });
    // Scaled by 100: logits in the hundreds, where exp overflows without the max subtracted.
    const big = {
      ...feeds,
      hidden: f64(
        (feeds.hidden!.data as Float64Array).map((v) => v * 100),
        [N, D],
      ),
    };
    const out = await engine.run(model, big);
    const a = out.chunked!.data as Float64Array;
    expect(a[1]).toBe(0);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(a, out.full!.data as Float64Array)).toBeLessThan(1e-9);
  });

  it('refuses a symbolic vocabulary and a chunk below 1', () => {
    const g = new Graph();
    const hidden = g.input('hidden', 'float32', ['n', D]);
    const t = g.input('targets', 'int64', ['n']);
    expect(() => chunkedCrossEntropy(g, hidden, g.input('h2', 'float32', ['v', D]), t, { ignoreIndex: -100, chunk: 4 })).toThrow(/static/);
    expect(() => chunkedCrossEntropy(g, hidden, g.input('h3', 'float32', [V, D]), t, { ignoreIndex: -100, chunk: 0 })).toThrow(/chunk/);
  });
});
