import { describe, expect, it } from 'vitest';
import { AdamW, SgdMomentum, clipGradNorm, createOptimizer, gradsFinite, type Optimizer, type Params } from '../../src/engine/optim.js';
import { Rng } from '../../src/engine/rng.js';
import { lrAt, type ScheduleConfig } from '../../src/engine/schedule.js';

const f32 = (...xs: number[]): Float32Array => Float32Array.from(xs);
const expectClose = (actual: Float32Array, expected: number[], digits = 6): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(actual[i]).toBeCloseTo(e, digits);
  });
};
const clone = (ps: Params): Params => Object.fromEntries(Object.entries(ps).map(([k, v]) => [k, v.slice()]));

describe('AdamW', () => {
  it('matches hand-computed torch.optim.AdamW updates', () => {
    // lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.1. Per step t (decay first, then Adam):
    //   p *= 1 - lr*wd = 0.99;  m = 0.9m + 0.1g;  v = 0.999v + 0.001g^2
    //   p -= lr * (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.999^t)) + eps)
    // Element 1 has a constant gradient 1, so mhat = vhat = 1 and the Adam term is exactly lr:
    //   p1 = -2*0.99 - 0.1 = -2.08;  p2 = -2.08*0.99 - 0.1 = -2.1592;  p3 = -2.1592*0.99 - 0.1 = -2.237608
    // Element 0, gradients 0.5, -0.5, 0:
    //   t=1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p1 = 0.99 - 0.1*0.5/0.5 = 0.89
    //   t=2: m = 0.045 - 0.05 = -0.005, v = 0.00024975 + 0.00025 = 0.00049975
    //        mhat = -0.005/0.19 = -1/38, vhat = 0.00049975/0.001999 = 0.25
    //        p2 = 0.89*0.99 + 0.1*(1/38)/0.5 = 0.8811 + 1/190 = 0.88636315789...
    //   t=3: m = -0.0045, v = 0.00049925025, mhat = -0.0045/0.271 = -0.0166051661
    //        vhat = 0.00049925025/0.002997001 = 0.1665832777, sqrt = 0.4081461475
    //        p3 = 0.88636315789*0.99 + 0.1*0.0166051661/0.4081461475 = 0.8775 + 0.0040683910 = 0.8815679644
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    const params: Params = { w: f32(1, -2) };
    opt.step(params, { w: f32(0.5, 1) }, 0.1);
    expectClose(params.w!, [0.89, -2.08]);
    opt.step(params, { w: f32(-0.5, 1) }, 0.1);
    expectClose(params.w!, [0.8811 + 1 / 190, -2.1592]);
    opt.step(params, { w: f32(0, 1) }, 0.1);
    expectClose(params.w!, [0.8815679644, -2.237608]);
    const st = opt.state();
    expect(st.slots.w!.step).toBe(3);
    expectClose(Float32Array.from(st.slots.w!.buffers.m!), [-0.0045, 0.271]);
  });

  it('skips parameters without a gradient, keeping per-parameter step counts', () => {
    const opt = new AdamW({ weightDecay: 0 });
    const params: Params = { a: f32(1), b: f32(1) };
    opt.step(params, { a: f32(1) }, 0.1);
    expect(params.b![0]).toBe(1);
    opt.step(params, { a: f32(1), b: f32(1) }, 0.1);
    expect(opt.state().slots.a!.step).toBe(2);
    expect(opt.state().slots.b!.step).toBe(1);
    // b's first step: bias-corrected update is exactly lr.
    expect(params.b![0]).toBeCloseTo(0.9, 6);
  });

  it('rejects unknown names and length mismatches without touching anything', () => {
    const opt = new AdamW();
    const params: Params = { a: f32(1, 2) };
    expect(() => opt.step(params, { a: f32(1, 1), zz: f32(1) }, 0.1)).toThrow(/unknown parameter/);
    expect(() => opt.step(params, { a: f32(1) }, 0.1)).toThrow(/gradient/);
    expect(Array.from(params.a!)).toEqual([1, 2]);
    expect(opt.state().slots).toEqual({});
  });
});

describe('SgdMomentum', () => {
  it('matches hand-computed torch.optim.SGD updates (momentum, dampening, weight decay)', () => {
    // lr 0.1, momentum 0.9, dampening 0.1, wd 0.1; d = g + 0.1p.
    //   t=1: d = 1 + 0.1 = 1.1; buf = d = 1.1 (torch: no dampening on the first step); p = 1 - 0.11 = 0.89
    //   t=2: d = 1 + 0.089 = 1.089; buf = 0.9*1.1 + 0.9*1.089 = 1.9701; p = 0.89 - 0.19701 = 0.69299
    //   t=3: d = -1 + 0.069299 = -0.930701; buf = 0.9*1.9701 + 0.9*(-0.930701) = 0.9354591
    //        p = 0.69299 - 0.09354591 = 0.59944409
    const opt = new SgdMomentum({ momentum: 0.9, dampening: 0.1, weightDecay: 0.1 });
    const params: Params = { w: f32(1) };
    const g = f32(1);
    opt.step(params, { w: g }, 0.1);
    expectClose(params.w!, [0.89]);
    expect(g[0]).toBe(1); // weight decay does not modify the gradient
    opt.step(params, { w: f32(1) }, 0.1);
    expectClose(params.w!, [0.69299]);
    opt.step(params, { w: f32(-1) }, 0.1);
    expectClose(params.w!, [0.59944409]);
    expectClose(Float32Array.from(opt.state().slots.w!.buffers.momentum!), [0.9354591]);
  });

  it('matches hand-computed nesterov updates', () => {
    // lr 0.1, momentum 0.9, nesterov, g = 1 twice:
    //   t=1: buf = 1;             d = 1 + 0.9*1 = 1.9;     p = 1 - 0.19 = 0.81
    //   t=2: buf = 0.9 + 1 = 1.9; d = 1 + 0.9*1.9 = 2.71; p = 0.81 - 0.271 = 0.539
    const opt = new SgdMomentum({ momentum: 0.9, nesterov: true });
    const params: Params = { w: f32(1) };
    opt.step(params, { w: f32(1) }, 0.1);
    expectClose(params.w!, [0.81]);
    opt.step(params, { w: f32(1) }, 0.1);
    expectClose(params.w!, [0.539]);
  });

  it('plain SGD is p -= lr*(g + wd*p) and keeps no buffers', () => {
    const opt = new SgdMomentum({ weightDecay: 0.5 });
    const params: Params = { w: f32(2, -4) };
    opt.step(params, { w: f32(1, 1) }, 0.1); // 2 - 0.1*(1 + 1) = 1.8; -4 - 0.1*(1 - 2) = -3.9
    expectClose(params.w!, [1.8, -3.9]);
    expect(opt.state().slots.w!.buffers).toEqual({});
  });

  it('validates nesterov settings', () => {
    expect(() => new SgdMomentum({ nesterov: true })).toThrow(/nesterov/);
    expect(() => new SgdMomentum({ nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/nesterov/);
  });
});

describe('optimizers on a quadratic', () => {
  // f(x) = 0.5 * sum a_i (x_i - c_i)^2 over two named parameters; grad = a * (x - c).
  const a: Params = { u: f32(1, 10, 0.1), v: f32(3, 0.5) };
  const c: Params = { u: f32(1, -2, 3), v: f32(0.5, -1) };
  const grad = (ps: Params): Params =>
    Object.fromEntries(Object.entries(ps).map(([k, x]) => [k, x.map((xi, i) => a[k]![i]! * (xi - c[k]![i]!))]));
  const loss = (ps: Params): number =>
    Object.entries(ps).reduce((s, [k, x]) => s + x.reduce((t, xi, i) => t + 0.5 * a[k]![i]! * (xi - c[k]![i]!) ** 2, 0), 0);
  const start = (): Params => ({ u: f32(0, 0, 0), v: f32(0, 0) });

  const cases: [string, () => Optimizer, ScheduleConfig][] = [
    ['adamw', () => new AdamW({ weightDecay: 0 }), { base: 0.1, warmupSteps: 10, totalSteps: 600, kind: 'cosine' }],
    ['sgd', () => new SgdMomentum({ momentum: 0.9 }), { base: 0.05, warmupSteps: 0, totalSteps: 600, kind: 'constant' }],
    [
      'sgd-nesterov',
      () => createOptimizer({ kind: 'sgd', momentum: 0.9, nesterov: true }),
      { base: 0.05, warmupSteps: 0, totalSteps: 600, kind: 'linear' },
    ],
  ];
  for (const [name, make, sched] of cases) {
    it(`${name} converges to the minimum`, () => {
      const opt = make();
      const ps = start();
      const l0 = loss(ps);
      for (let t = 0; t < sched.totalSteps; t++) opt.step(ps, grad(ps), lrAt(t, sched));
      expect(loss(ps)).toBeLessThan(l0 * 1e-5);
      expectClose(ps.u!, Array.from(c.u!), 2);
      expectClose(ps.v!, Array.from(c.v!), 2);
    });
  }

  it('a JSON state round trip continues identically', () => {
    for (const make of [
      () => new AdamW({ weightDecay: 0.05 }),
      () => new SgdMomentum({ momentum: 0.8, dampening: 0.2, weightDecay: 0.01 }),
    ]) {
      const opt = make();
      const ps = start();
      for (let t = 0; t < 5; t++) opt.step(ps, grad(ps), 0.03);
      const saved = JSON.parse(JSON.stringify(opt.state()));
      const resumedParams = clone(ps);
      const resumed = make();
      resumed.restore(saved);
      for (let t = 0; t < 5; t++) {
        opt.step(ps, grad(ps), 0.03);
        resumed.step(resumedParams, grad(resumedParams), 0.03);
      }
      expect(resumedParams).toEqual(ps);
      expect(resumed.state()).toEqual(opt.state());
    }
  });

  it('restore rejects state of another kind', () => {
    expect(() => new AdamW().restore(new SgdMomentum().state())).toThrow(/kind/);
  });
});

describe('clipGradNorm / gradsFinite', () => {
  it('returns the global norm and scales in place only above maxNorm', () => {
    const grads: Params = { a: f32(3, 0), b: f32(0, 4) }; // norm 5
    expect(clipGradNorm(grads, 10)).toBeCloseTo(5, 6);
    expect(Array.from(grads.a!)).toEqual([3, 0]);
    expect(clipGradNorm(grads, 1)).toBeCloseTo(5, 6);
    // scaled by 1 / (5 + 1e-6): direction kept, new norm just under 1
    expectClose(grads.a!, [0.6, 0]);
    expectClose(grads.b!, [0, 0.8]);
    expect(Math.hypot(grads.a![0]!, grads.b![1]!)).toBeLessThanOrEqual(1);
  });

  it('returns NaN / Infinity norms without scaling', () => {
    const nan: Params = { a: f32(1, NaN) };
    expect(clipGradNorm(nan, 0.5)).toBeNaN();
    expect(nan.a![0]).toBe(1);
    const inf: Params = { a: f32(1), b: f32(-Infinity) };
    expect(clipGradNorm(inf, 0.5)).toBe(Infinity);
    expect(inf.a![0]).toBe(1);
  });

  it('gradsFinite detects NaN and infinities', () => {
    expect(gradsFinite({ a: f32(1, -2), b: f32() })).toBe(true);
    expect(gradsFinite({ a: f32(1), b: f32(0, NaN) })).toBe(false);
    expect(gradsFinite({ a: f32(Infinity) })).toBe(false);
    expect(gradsFinite({ a: f32(3.4e38, -3.4e38) })).toBe(true);
  });
});

describe('lrAt', () => {
  const base = { base: 1, warmupSteps: 4, totalSteps: 14 };
  it('warms up linearly from base/warmup at step 0 to base at step warmup-1', () => {
    for (const kind of ['constant', 'linear', 'cosine'] as const) {
      expect([0, 1, 2, 3].map((s) => lrAt(s, { ...base, kind }))).toEqual([0.25, 0.5, 0.75, 1]);
      expect(lrAt(4, { ...base, kind })).toBe(1);
    }
  });
  it('constant stays at base', () => {
    expect(lrAt(100, { ...base, kind: 'constant', minRatio: 0.5 })).toBe(1);
  });
  it('linear decays to base*minRatio at totalSteps', () => {
    // p = (step - 4) / 10
    expect(lrAt(9, { ...base, kind: 'linear' })).toBeCloseTo(0.5, 12);
    expect(lrAt(13, { ...base, kind: 'linear' })).toBeCloseTo(0.1, 12);
    expect(lrAt(14, { ...base, kind: 'linear' })).toBe(0);
    expect(lrAt(9, { ...base, kind: 'linear', minRatio: 0.2 })).toBeCloseTo(0.6, 12);
    expect(lrAt(50, { ...base, kind: 'linear', minRatio: 0.2 })).toBeCloseTo(0.2, 12);
  });
  it('cosine decays to base*minRatio at totalSteps and stays there', () => {
    const cfg: ScheduleConfig = { base: 2, warmupSteps: 4, totalSteps: 14, kind: 'cosine', minRatio: 0.1 };
    expect(lrAt(4, cfg)).toBeCloseTo(2, 12);
    expect(lrAt(9, cfg)).toBeCloseTo(2 * (0.1 + 0.9 * 0.5), 12); // halfway: cos(pi/2) = 0
    expect(lrAt(14, cfg)).toBeCloseTo(0.2, 12);
    expect(lrAt(1000, cfg)).toBeCloseTo(0.2, 12);
    // no warmup: step 0 is base
    expect(lrAt(0, { ...cfg, warmupSteps: 0 })).toBe(2);
  });
  it('rejects bad input', () => {
    expect(() => lrAt(-1, { ...base, kind: 'cosine' })).toThrow(RangeError);
    expect(() => lrAt(1.5, { ...base, kind: 'cosine' })).toThrow(RangeError);
    expect(() => lrAt(0, { ...base, kind: 'cosine', minRatio: 2 })).toThrow(RangeError);
    expect(() => lrAt(9, { ...base, kind: 'step' as never })).toThrow(/kind/);
  });
});

describe('Rng', () => {
  const take = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

  it('is xoshiro128** (reference outputs for state 1,2,3,4)', () => {
    const r = Rng.fromState({ s: [1, 2, 3, 4], key: [0, 0, 0, 0], spare: null });
    expect(take(r, 3)).toEqual([11520, 0, 5927040]);
  });

  it('same seed gives the same stream, different seeds different streams', () => {
    expect(take(new Rng(42), 100)).toEqual(take(new Rng(42), 100));
    const streams = [0, 1, 2, -1, 2 ** 32, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER].map((s) => take(new Rng(s), 4).join());
    expect(new Set(streams).size).toBe(streams.length);
    expect(() => new Rng(0.5)).toThrow(RangeError);
  });

  it('next, int and fillUniform stay in range', () => {
    const r = new Rng(7);
    for (let i = 0; i < 10_000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
    }
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    const arr = r.fillUniform(new Float32Array(1000), -2, 3);
    expect(Math.min(...arr)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...arr)).toBeLessThanOrEqual(3);
  });

  it('normal() has mean ~0 and variance ~1 over 1e5 samples; fillNormal scales', () => {
    const r = new Rng(123);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    const mean = s / n;
    expect(Math.abs(mean)).toBeLessThan(0.015); // std error 0.0032
    expect(Math.abs(s2 / n - mean * mean - 1)).toBeLessThan(0.03); // std error 0.0045
    const arr = new Rng(5).fillNormal(new Float32Array(n), 0.02);
    const v = arr.reduce((t, x) => t + x * x, 0) / n;
    expect(Math.sqrt(v)).toBeCloseTo(0.02, 3);
    // fillNormal draws exactly what successive normal() calls would
    const ref = new Rng(5);
    expect(Array.from(arr.subarray(0, 5))).toEqual(Array.from({ length: 5 }, () => Math.fround(0.02 * ref.normal())));
  });

  it('shuffle is a permutation, in place and seed-determined', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const a = new Rng(9).shuffle([...xs]);
    expect([...a].sort((p, q) => p - q)).toEqual(xs);
    expect(a).not.toEqual(xs);
    expect(new Rng(9).shuffle([...xs])).toEqual(a);
    const inPlace = [...xs];
    expect(new Rng(1).shuffle(inPlace)).toBe(inPlace);
  });

  it('fork is deterministic, position-independent and gives independent streams', () => {
    const parent = new Rng(2024);
    const before = take(parent.fork('client-1'), 20);
    take(parent, 1000); // drawing from the parent does not change its forks
    expect(take(parent.fork('client-1'), 20)).toEqual(before);
    // forking does not advance the parent
    const p1 = new Rng(3);
    const p2 = new Rng(3);
    p1.fork('x');
    expect(take(p1, 10)).toEqual(take(p2, 10));
    // distinct labels / parents / nesting give distinct streams; 3 and '3' differ
    const r = new Rng(2024);
    const variants = [
      r,
      r.fork('client-1'),
      r.fork('client-2'),
      r.fork(3),
      r.fork('3'),
      r.fork('client-1').fork(0),
      new Rng(2025).fork('client-1'),
    ];
    const heads = variants.map((x) => take(x, 4).join());
    expect(new Set(heads).size).toBe(heads.length);
    // siblings are uncorrelated and do not share values
    const a = take(r.fork('a'), 10_000);
    const b = take(r.fork('b'), 10_000);
    const n = a.length;
    const ma = a.reduce((s, x) => s + x, 0) / n;
    const mb = b.reduce((s, x) => s + x, 0) / n;
    let cov = 0;
    let va = 0;
    let vb = 0;
    for (let i = 0; i < n; i++) {
      cov += (a[i]! - ma) * (b[i]! - mb);
      va += (a[i]! - ma) ** 2;
      vb += (b[i]! - mb) ** 2;
    }
    expect(Math.abs(cov / Math.sqrt(va * vb))).toBeLessThan(0.04); // std error 0.01
    const setA = new Set(a.slice(0, 2000));
    expect(b.slice(0, 2000).filter((x) => setA.has(x)).length).toBe(0);
  });

  it('skip(n) lands where n draws would (jump-ahead in O(log n))', () => {
    for (const n of [0, 1, 2, 31, 32, 33, 1000, 65_537, 1_234_567]) {
      const stepped = new Rng(6).fork('s');
      for (let i = 0; i < n; i++) stepped.nextU32();
      const jumped = new Rng(6).fork('s').skip(n);
      expect(jumped.state().s, `n=${n}`).toEqual(stepped.state().s);
      expect(take(jumped, 3)).toEqual(take(stepped, 3));
    }
    // Jumps compose: 2^40 + 5 steps in two parts equals one jump.
    expect(
      new Rng(1)
        .skip(2 ** 40)
        .skip(5)
        .state(),
    ).toEqual(new Rng(1).skip(2 ** 40 + 5).state());
    expect(new Rng(1).skip(2 ** 40).state()).not.toEqual(new Rng(1).state());
    expect(() => new Rng(1).skip(-1)).toThrow(RangeError);
    expect(() => new Rng(1).skip(1.5)).toThrow(RangeError);
  });

  it('state()/fromState() resume the identical stream, including a cached normal', () => {
    const r = new Rng(77).fork('trial');
    take(r, 13);
    r.normal(); // leaves the pair's second value cached
    const saved = JSON.parse(JSON.stringify(r.state()));
    expect(saved.spare).not.toBeNull();
    const resumed = Rng.fromState(saved);
    const draw = (x: Rng): number[] => [x.normal(), x.next(), x.normal(), x.int(1000), ...take(x.fork('k'), 3)];
    expect(draw(resumed)).toEqual(draw(r));
    expect(() => Rng.fromState({ s: [0, 0, 0, 0], key: [0, 0, 0, 0], spare: null })).toThrow(RangeError);
  });
});
