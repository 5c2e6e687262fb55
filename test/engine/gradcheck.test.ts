// Every autodiff rule against central finite differences, in float64 through onnxruntime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAD_RULES, gradients } from '../../src/engine/autodiff.js';
import { Engine, i64 } from '../../src/engine/engine.js';
import { Graph, ShapeError, type Tensor } from '../../src/engine/graph.js';
import { buildCase, checkCase, coveredOps, type CaseBuilder, type GradCase, type ParamInit } from './gradcheck.js';

const POS = { lo: 0.5, hi: 2 } as const;

/** out = a (op) b for float64 params of the given shapes. */
function binaryCases(op: 'add' | 'sub' | 'mul' | 'div'): GradCase[] {
  const pairs: [number[], number[]][] = [
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [[2, 3, 4], [4]],
    [
      [3, 1],
      [2, 3, 4],
    ],
    [
      [1, 3, 1],
      [2, 1, 4],
    ],
    [[2, 3], []],
  ];
  return pairs.map(([sa, sb]) => ({
    name: `${op} [${sa}] with [${sb}]`,
    build: (c: CaseBuilder) => c.g[op](c.param('a', sa), c.param('b', sb, op === 'div' ? POS : {})),
  }));
}

const unary = (name: string, f: (c: CaseBuilder, x: Tensor) => Tensor, init: ParamInit = {}): GradCase => ({
  name,
  build: (c) => f(c, c.param('x', [2, 3], init)),
});

const CASES: GradCase[] = [
  unary('Identity', (c, x) => c.g.identity(x)),
  ...binaryCases('add'),
  ...binaryCases('sub'),
  ...binaryCases('mul'),
  ...binaryCases('div'),
  {
    name: 'mul x*x (same tensor twice)',
    build: (c) => {
      const x = c.param('x', [2, 3]);
      return c.g.mul(x, x);
    },
  },
  unary('Pow p=2', (c, x) => c.g.pow(x, 2)),
  unary('Pow p=3', (c, x) => c.g.pow(x, 3)),
  unary('Pow p=-0.5', (c, x) => c.g.pow(x, -0.5), POS),
  unary('Neg', (c, x) => c.g.neg(x)),
  unary('Exp', (c, x) => c.g.exp(x)),
  unary('Log', (c, x) => c.g.log(x), POS),
  unary('Sqrt', (c, x) => c.g.sqrt(x), POS),
  unary('Reciprocal', (c, x) => c.g.reciprocal(x), { awayFromZero: 0.5 }),
  unary('Sigmoid', (c, x) => c.g.sigmoid(x), { lo: -3, hi: 3 }),
  unary('Tanh', (c, x) => c.g.tanh(x), { lo: -2, hi: 2 }),
  unary('Cos', (c, x) => c.g.cos(x), { lo: -3, hi: 3 }),
  unary('Sin', (c, x) => c.g.sin(x), { lo: -3, hi: 3 }),
  unary('silu (composite, float64 form)', (c, x) => c.g.silu(x), { lo: -3, hi: 3 }),
  {
    name: 'silu float32 (Mul(x, Sigmoid(x)), fused to QuickGelu by ORT in the loss-only model)',
    // Computed in float32 (rel. error ~1e-7 per value): eps 1e-2 keeps the rounding noise of the
    // quotient near 1e-5 and the O(eps^2) truncation error below that; tolerances 1e-4 abs, 1e-3 rel.
    tol: { eps: 1e-2, abs: 1e-4, rel: 1e-3, reason: 'float32 compute' },
    build: (c) => c.g.cast(c.g.silu(c.g.cast(c.param('x', [2, 3], { lo: -3, hi: 3 }), 'float32')), 'float64'),
  },
  {
    name: 'Where constant cond [3,1], a [2,3,4], b [4]',
    build: (c) => {
      const cond = c.g.constant(Uint8Array.of(1, 0, 1), [3, 1], 'bool');
      return c.g.where(cond, c.param('a', [2, 3, 4]), c.param('b', [4]));
    },
  },
  {
    name: 'Where cond [2,3,4], a [4], b scalar',
    build: (c) => {
      const bits = Uint8Array.from({ length: 24 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
      return c.g.where(c.g.constant(bits, [2, 3, 4], 'bool'), c.param('a', [4]), c.param('b', []));
    },
  },
  {
    name: 'Where cond = x < 0, branches x and x*x',
    build: (c) => {
      const x = c.param('x', [3, 4], { awayFromZero: 0.1 });
      return c.g.where(c.g.less(x, c.g.like(x, 0)), x, c.g.mul(x, x));
    },
  },
  {
    name: 'Cast f64 -> f32 -> f64',
    // The numeric side sees x rounded to float32 (rel. error ~6e-8): with eps 1e-3 the quotient
    // carries up to ~6e-5 of rounding noise, so abs/rel are loosened to 2e-4/1e-4.
    tol: { eps: 1e-3, abs: 2e-4, rel: 1e-4, reason: 'float32 round trip' },
    build: (c) => c.g.cast(c.g.cast(c.param('x', [2, 3]), 'float32'), 'float64'),
  },
  { name: 'MatMul 2D [3,4]x[4,5]', build: (c) => c.g.matmul(c.param('a', [3, 4]), c.param('b', [4, 5])) },
  { name: 'MatMul 4D batched [2,2,3,4]x[2,2,4,3]', build: (c) => c.g.matmul(c.param('a', [2, 2, 3, 4]), c.param('b', [2, 2, 4, 3])) },
  { name: 'MatMul 3D x 2D weight (reshape path)', build: (c) => c.g.matmul(c.param('a', [2, 3, 4]), c.param('w', [4, 5])) },
  { name: 'MatMul 4D x 2D weight (reshape path)', build: (c) => c.g.matmul(c.param('a', [2, 2, 3, 4]), c.param('w', [4, 2])) },
  {
    name: "MatMul ['b',3,4] x [4,5] weight, symbolic batch (b=2)",
    build: (c) => c.g.mean(c.g.matmul(c.param('a', ['b', 3, 4], { dims: [2, 3, 4] }), c.param('w', [4, 5])), [0]),
  },
  {
    name: "MatMul ['b',3,'k'] x ['k',5] weight, symbolic inner dim (b=2, k=4)",
    build: (c) => c.g.mean(c.g.matmul(c.param('a', ['b', 3, 'k'], { dims: [2, 3, 4] }), c.param('w', ['k', 5], { dims: [4, 5] })), [0]),
  },
  { name: 'MatMul 2D x 3D (broadcast a)', build: (c) => c.g.matmul(c.param('a', [3, 4]), c.param('b', [2, 4, 5])) },
  { name: 'MatMul batch broadcast [2,1,3,4]x[3,4,2]', build: (c) => c.g.matmul(c.param('a', [2, 1, 3, 4]), c.param('b', [3, 4, 2])) },
  {
    name: 'attention softmax(q k^T / sqrt d) v',
    build: (c) => {
      const { g } = c;
      const q = c.param('q', [2, 2, 3, 4]);
      const k = c.param('k', [2, 2, 3, 4]);
      const v = c.param('v', [2, 2, 3, 4]);
      const scores = g.mul(g.matmul(q, g.transposeLast(k)), g.like(q, 0.5));
      return g.matmul(g.softmax(scores, -1), v);
    },
  },
  { name: 'ReduceSum axis 1', build: (c) => c.g.sum(c.param('x', [2, 3, 4]), [1]) },
  { name: 'ReduceSum axes [0,2] keepdims', build: (c) => c.g.sum(c.param('x', [2, 3, 4]), [0, 2], true) },
  { name: 'ReduceSum axes [2,0] (unsorted)', build: (c) => c.g.sum(c.param('x', [2, 3, 4]), [2, 0]) },
  { name: 'ReduceSum all (scalar out)', build: (c) => c.g.sumAll(c.g.sin(c.param('x', [2, 3, 4]))) },
  { name: 'ReduceMean axis -1 keepdims', build: (c) => c.g.mean(c.param('x', [2, 3, 4]), [-1], true) },
  { name: 'ReduceMean axes [0,1]', build: (c) => c.g.mean(c.param('x', [2, 3, 4]), [0, 1]) },
  { name: 'ReduceMean all keepdims', build: (c) => c.g.mean(c.param('x', [2, 3, 4]), [0, 1, 2], true) },
  {
    name: "ReduceMean over symbolic dim ['b',4] (b=3)",
    build: (c) => {
      const x = c.param('x', ['b', 4], { dims: [3, 4] });
      return c.g.mean(c.g.mul(x, c.param('w', [4])), [0]);
    },
  },
  {
    name: "ReduceMean all over symbolic dim ['b',4] keepdims (b=3)",
    build: (c) => c.g.mean(c.g.tanh(c.param('x', ['b', 4], { dims: [3, 4] })), [0, 1], true),
  },
  { name: 'ReduceLogSumExp axis -1 keepdims', build: (c) => c.g.logSumExp(c.param('x', [2, 3, 5], { lo: -3, hi: 3 }), [-1], true) },
  { name: 'ReduceLogSumExp axes [0,2]', build: (c) => c.g.logSumExp(c.param('x', [2, 3, 5], { lo: -3, hi: 3 }), [0, 2]) },
  {
    name: 'ReduceLogSumExp of values near 800 (exp(800) overflows float64 unless the max is subtracted)',
    build: (c) => c.g.logSumExp(c.param('x', [3, 4], { lo: 800, hi: 801 }), [1]),
  },
  { name: 'Softmax axis -1', build: (c) => c.g.softmax(c.param('x', [2, 3, 5], { lo: -2, hi: 2 }), -1) },
  { name: 'Softmax axis 1', build: (c) => c.g.softmax(c.param('x', [2, 3, 5], { lo: -2, hi: 2 }), 1) },
  { name: 'LogSoftmax axis -1', build: (c) => c.g.logSoftmax(c.param('x', [2, 3, 5], { lo: -2, hi: 2 }), -1) },
  { name: 'LogSoftmax axis 0', build: (c) => c.g.logSoftmax(c.param('x', [2, 3, 5], { lo: -2, hi: 2 }), 0) },
  { name: 'Reshape [0,-1]', build: (c) => c.g.reshape(c.param('x', [2, 3, 4]), [0, -1]) },
  { name: 'Reshape [-1,4]', build: (c) => c.g.reshape(c.param('x', [2, 3, 4]), [-1, 4]) },
  { name: 'Reshape [4,0,-1]', build: (c) => c.g.reshape(c.param('x', [2, 3, 4]), [4, 0, -1]) },
  { name: 'Unsqueeze axes [0,-1]', build: (c) => c.g.unsqueeze(c.param('x', [2, 3]), [0, -1]) },
  { name: 'Squeeze axes [1,-1]', build: (c) => c.g.squeeze(c.param('x', [2, 1, 3, 1]), [1, -1]) },
  { name: 'Expand [3,1] -> [2,3,4]', build: (c) => c.g.expand(c.param('x', [3, 1]), c.g.ints([2, 3, 4]), [2, 3, 4]) },
  { name: 'Expand [1,4] -> [3,4]', build: (c) => c.g.expand(c.param('x', [1, 4]), c.g.ints([3, 4]), [3, 4]) },
  { name: 'Transpose [2,0,1]', build: (c) => c.g.transpose(c.param('x', [2, 3, 4]), [2, 0, 1]) },
  { name: 'Transpose [0,2,3,1]', build: (c) => c.g.transpose(c.param('x', [2, 3, 2, 2]), [0, 2, 3, 1]) },
  {
    name: 'Concat three inputs axis 1',
    build: (c) => c.g.concat([c.param('a', [2, 1, 3]), c.param('b', [2, 3, 3]), c.param('c', [2, 2, 3])], 1),
  },
  {
    name: 'Concat [x, x] axis -1',
    build: (c) => {
      const x = c.param('x', [2, 3]);
      return c.g.concat([x, x], -1);
    },
  },
  {
    // A key prefix of static length ahead of keys of symbolic length (prefix tuning's cache).
    name: 'Concat static prefix ahead of a symbolic-length input',
    // tanh makes each part's gradient depend on its own values: a misplaced slice of dy would show.
    build: (c) => c.g.mean(c.g.tanh(c.g.concat([c.param('prefix', [2, 2, 3]), c.param('keys', [2, 's', 3], { dims: [2, 4, 3] })], 1)), [1]),
  },
  { name: 'Slice axis 1 [-3, 100)', build: (c) => c.g.slice(c.param('x', [2, 5, 3]), 1, -3, 100) },
  { name: 'Slice axis 1 [1, -1)', build: (c) => c.g.slice(c.param('x', [2, 5, 3]), 1, 1, -1) },
  { name: 'Slice axis -1 [0, 2)', build: (c) => c.g.slice(c.param('x', [2, 5, 3]), -1, 0, 2) },
  { name: 'Pad [1,0,2,1]', build: (c) => c.g.pad(c.param('x', [2, 3]), [1, 0, 2, 1]) },
  { name: 'Pad [0,0,2,0,0,1] rank 3', build: (c) => c.g.pad(c.param('x', [2, 3, 2]), [0, 0, 2, 0, 0, 1]) },
  {
    name: 'Gather embedding table, repeated indices',
    samples: 18,
    build: (c) => {
      const table = c.param('table', [6, 3]);
      const ids = c.input('ids', 'int64', [2, 3], i64([1, 4, 1, 0, 4, 4], [2, 3]));
      return c.g.gather(table, ids);
    },
  },
  {
    name: 'SoftmaxCrossEntropyLoss with ignored targets',
    samples: 20,
    build: (c) => {
      const logits = c.param('logits', [5, 4], { lo: -2, hi: 2 });
      const targets = c.input('targets', 'int64', [5], i64([1, -100, 3, 0, -100], [5]));
      return c.g.crossEntropy(logits, targets);
    },
  },
  {
    name: 'MLP layer silu(x W + b)',
    build: (c) => {
      const { g } = c;
      return g.silu(g.add(g.matmul(c.param('x', [2, 3, 4]), c.param('w', [4, 5])), c.param('b', [5])));
    },
  },
  {
    name: 'layer norm (x - mean) / sqrt(var + 1e-5) * gamma',
    build: (c) => {
      const { g } = c;
      const x = c.param('x', [2, 3, 4]);
      const centered = g.sub(x, g.mean(x, [-1], true));
      const variance = g.mean(g.pow(centered, 2), [-1], true);
      return g.mul(g.div(centered, g.sqrt(g.add(variance, g.like(x, 1e-5)))), c.param('gamma', [4]));
    },
  },
];

describe('gradcheck: every GRAD_RULES entry against finite differences (float64, ORT)', () => {
  let engine: Engine;
  beforeAll(() => {
    engine = new Engine({ threads: 1 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('covers every op in GRAD_RULES', () => {
    const covered = new Set<string>();
    for (const spec of CASES) for (const op of coveredOps(buildCase(spec))) covered.add(op);
    const missing = Object.keys(GRAD_RULES).filter((op) => !covered.has(op));
    expect(missing, `GRAD_RULES entries without a gradcheck case: ${missing.join(', ')}`).toEqual([]);
  });

  it('case names are unique', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const spec of CASES) {
    it(spec.name, async () => {
      const built = buildCase(spec);
      const result = await checkCase(engine, built);
      expect(result.checked).toBeGreaterThan(0);
      expect(result.mismatches).toEqual([]);
    });
  }
});

describe('gradients: structure', () => {
  it('throws a clear error for an op without a rule', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]);
    const loss = g.sumAll(g.max(x, [1]));
    expect(() => gradients(g, loss, [x])).toThrow(ShapeError);
    expect(() => gradients(g, loss, [x])).toThrow(/no gradient rule for op ReduceMax/);
  });

  it('rejects a non-scalar y', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]);
    expect(() => gradients(g, g.tanh(x), [x])).toThrow(/must be a scalar/);
  });

  it('does not differentiate through a frozen path with no rule', () => {
    // ReduceMax has no rule, but it only feeds from a frozen tensor: no error, no gradient for it.
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]);
    const frozen = g.input('frozen', 'float64', [2, 3]);
    const loss = g.sumAll(g.mul(x, g.max(frozen, [1], true)));
    expect(() => gradients(g, loss, [x])).not.toThrow();
  });

  const matmulLoss = (): { g: Graph; x: Tensor; w: Tensor; loss: Tensor } => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3, 4]);
    const w = g.input('w', 'float64', [4, 5]);
    return { g, x, w, loss: g.sumAll(g.matmul(x, w)) };
  };
  const backwardMatMuls = (wrt: (m: ReturnType<typeof matmulLoss>) => Tensor[]): number => {
    const m = matmulLoss();
    const before = m.g.nodes.length;
    gradients(m.g, m.loss, wrt(m));
    return m.g.nodes.slice(before).filter((n) => n.op === 'MatMul').length;
  };

  it('builds gradients only for tensors in wrt (x @ W)', () => {
    expect(backwardMatMuls((m) => [m.x])).toBe(1);
    expect(backwardMatMuls((m) => [m.w])).toBe(1);
    expect(backwardMatMuls((m) => [m.x, m.w])).toBe(2);
  });

  it('ReduceMean over a symbolic dim counts elements at runtime', () => {
    const spec = CASES.find((c) => c.name.startsWith('ReduceMean over symbolic dim'))!;
    const ops = buildCase(spec).backward.map((n) => n.op);
    expect(ops).toContain('ReduceProd');
    expect(ops).toContain('Shape');
  });

  it('returns zeros for a wrt tensor the loss does not depend on', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2]);
    const unused = g.input('unused', 'float64', [3]);
    const [, dUnused] = gradients(g, g.sumAll(x), [x, unused]);
    expect(dUnused!.producer?.op).toBe('ConstantOfShape');
    expect(dUnused!.shape).toEqual([3]);
  });
});
