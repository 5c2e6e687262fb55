// Finite-difference gradient checking for the autodiff rules, run through ORT in float64.
//
// A case builds an op (or a small composite) on float64 graph inputs ("params"), returning its
// output. The harness makes loss = sum(out * R) with R a fixed random constant of out's shape, asks
// `gradients` for d loss / d param, runs {loss, grads} once, and compares sampled gradient entries
// with central differences of a loss-only model.
import { GRAD_RULES, gradients } from '../../src/engine/autodiff.js';
import type { Engine, Feeds, HostTensor } from '../../src/engine/engine.js';
import { Graph, type DType, type DimLike, type Node, type Tensor } from '../../src/engine/graph.js';
import { exportOnnx, type ExportedModel } from '../../src/engine/onnx.js';

/** Deterministic PRNG (mulberry32), so every run checks the same numbers. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ParamInit {
  /** Runtime dims (required when the declared shape has symbolic dims). */
  dims?: number[];
  /** Uniform range of the initial values (default [-1, 1]). */
  lo?: number;
  hi?: number;
  /** Keep |value| >= this (avoids kinks / branch switches near 0, e.g. for Where(x < 0)). */
  awayFromZero?: number;
}

export interface Tolerance {
  abs: number;
  rel: number;
  /** Finite-difference step. */
  eps: number;
}
export const DEFAULT_TOL: Tolerance = { abs: 1e-6, rel: 1e-5, eps: 1e-5 };

export interface Param {
  name: string;
  tensor: Tensor;
  dims: number[];
  data: Float64Array;
}

/** Handed to a case's build function: the graph plus helpers that record what to feed. */
export class CaseBuilder {
  readonly g = new Graph();
  readonly params: Param[] = [];
  readonly extraFeeds: Feeds = {};
  private readonly rand: () => number;

  constructor(seed: number) {
    this.rand = rng(seed);
  }

  uniform(n: number, lo = -1, hi = 1, awayFromZero = 0): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v = lo + (hi - lo) * this.rand();
      if (awayFromZero > 0 && Math.abs(v) < awayFromZero) v = v < 0 ? v - awayFromZero : v + awayFromZero;
      out[i] = v;
    }
    return out;
  }

  /** A float64 graph input that gradients are checked for. */
  param(name: string, shape: readonly DimLike[], init: ParamInit = {}): Tensor {
    const dims =
      init.dims ??
      shape.map((d) => {
        if (typeof d !== 'number') throw new Error(`param ${name}: symbolic dim '${d}' needs init.dims`);
        return d;
      });
    const size = dims.reduce((p, d) => p * d, 1);
    const tensor = this.g.input(name, 'float64', shape);
    this.params.push({ name, tensor, dims, data: this.uniform(size, init.lo, init.hi, init.awayFromZero) });
    return tensor;
  }

  /** A graph input that is fed but not differentiated (indices, targets, ...). */
  input(name: string, dtype: DType, shape: readonly DimLike[], host: HostTensor): Tensor {
    const t = this.g.input(name, dtype, shape);
    this.extraFeeds[name] = host;
    return t;
  }

  /** A float64 constant of random values. */
  randomConst(shape: readonly number[], lo = -1, hi = 1): Tensor {
    const size = shape.reduce((p, d) => p * d, 1);
    return this.g.constant(this.uniform(size, lo, hi), shape, 'float64');
  }
}

export interface GradCase {
  name: string;
  build: (c: CaseBuilder) => Tensor;
  /** Loosened tolerance, with the reason why. */
  tol?: Partial<Tolerance> & { reason: string };
  /** Elements sampled per param (default 12; all of them when the param is no larger). */
  samples?: number;
  seed?: number;
}

export interface BuiltCase {
  spec: GradCase;
  g: Graph;
  params: Param[];
  extraFeeds: Feeds;
  loss: Tensor;
  grads: Tensor[];
  /** Forward nodes on a path from some param to the loss: the ops whose rules this case checks. */
  activeForward: Node[];
  /** Nodes added by `gradients`. */
  backward: Node[];
}

function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function buildCase(spec: GradCase): BuiltCase {
  const c = new CaseBuilder(spec.seed ?? hashName(spec.name));
  const { g } = c;
  const out = spec.build(c);
  if (out.dtype !== 'float64') throw new Error(`${spec.name}: output must be float64, got ${out.dtype}`);
  const outDims = out.shape.map((d) => {
    if (typeof d !== 'number') throw new Error(`${spec.name}: output shape [${out.shape}] must be static (R is a constant)`);
    return d;
  });
  const r = c.randomConst(outDims);
  const loss = g.sumAll(g.mul(out, r));

  const forward = [...g.nodes];
  const active = new Set<Tensor>(c.params.map((p) => p.tensor));
  const activeForward: Node[] = [];
  for (const n of forward)
    if (n.inputs.some((i) => active.has(i))) {
      activeForward.push(n);
      for (const o of n.outputs) active.add(o);
    }

  const grads = gradients(
    g,
    loss,
    c.params.map((p) => p.tensor),
  );
  return { spec, g, params: c.params, extraFeeds: c.extraFeeds, loss, grads, activeForward, backward: g.nodes.slice(forward.length) };
}

/** Op names (of GRAD_RULES) whose rules a built case exercises. */
export function coveredOps(built: BuiltCase): Set<string> {
  return new Set(built.activeForward.map((n) => n.op).filter((op) => op in GRAD_RULES));
}

export interface Mismatch {
  param: string;
  index: number;
  analytic: number;
  numeric: number;
}
export interface CheckResult {
  checked: number;
  mismatches: Mismatch[];
  /** Largest |analytic - numeric| / (abs + rel*|numeric|) seen (<= 1 passes). */
  worst: number;
}

function sampleIndices(size: number, count: number, rand: () => number): number[] {
  if (size <= count) return Array.from({ length: size }, (_, i) => i);
  const picked = new Set<number>([0, size - 1]);
  while (picked.size < count) picked.add(Math.floor(rand() * size));
  return [...picked].sort((a, b) => a - b);
}

const f64 = (data: Float64Array, dims: number[]): HostTensor => ({ dtype: 'float64', dims, data });

export async function checkCase(engine: Engine, built: BuiltCase): Promise<CheckResult> {
  const { spec, g, params, extraFeeds, loss, grads } = built;
  const tol: Tolerance = { ...DEFAULT_TOL, ...spec.tol };
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => {
    outputs[`grad_${params[i]!.name}`] = t;
  });
  const full = exportOnnx(g, outputs);
  const lossOnly = exportOnnx(g, { loss });

  const baseFeeds = (): Feeds => {
    const feeds: Feeds = { ...extraFeeds };
    for (const p of params) feeds[p.name] = f64(p.data, p.dims);
    return feeds;
  };
  const res = await engine.run(full, baseFeeds());
  const lossAt = async (model: ExportedModel, feeds: Feeds): Promise<number> => Number((await engine.run(model, feeds)).loss!.data[0]);
  // The loss-only model must agree with the full one at the base point. Not bit-exactly: ORT may
  // fuse a subgraph (e.g. into LayerNormalization) in the loss-only model that the full model keeps
  // apart because backward nodes read its intermediates; the numeric side only ever uses lossOnly.
  const base = Number(res.loss!.data[0]);
  const base2 = await lossAt(lossOnly, baseFeeds());
  if (!(Math.abs(base - base2) <= 1e-9 * Math.max(1, Math.abs(base))))
    throw new Error(`${spec.name}: loss differs between models: ${base} vs ${base2}`);

  const rand = rng(hashName(spec.name) ^ 0x9e3779b9);
  const jobs: Promise<Mismatch & { ok: boolean; ratio: number }>[] = [];
  for (const p of params) {
    const gradOut = res[`grad_${p.name}`]!;
    if (gradOut.dtype !== 'float64') throw new Error(`${spec.name}: grad of ${p.name} has dtype ${gradOut.dtype}`);
    if (gradOut.dims.join(',') !== p.dims.join(','))
      throw new Error(`${spec.name}: grad of ${p.name} has dims [${gradOut.dims}], param has [${p.dims}]`);
    const analytic = gradOut.data as Float64Array;
    for (const index of sampleIndices(p.data.length, spec.samples ?? 12, rand)) {
      const at = async (delta: number): Promise<number> => {
        const data = p.data.slice();
        data[index]! += delta;
        return lossAt(lossOnly, { ...baseFeeds(), [p.name]: f64(data, p.dims) });
      };
      jobs.push(
        Promise.all([at(tol.eps), at(-tol.eps)]).then(([plus, minus]) => {
          const numeric = (plus - minus) / (2 * tol.eps);
          const a = analytic[index]!;
          const ratio = Math.abs(a - numeric) / (tol.abs + tol.rel * Math.abs(numeric));
          return { param: p.name, index, analytic: a, numeric, ok: ratio <= 1, ratio };
        }),
      );
    }
  }
  const all = await Promise.all(jobs);
  await Promise.all([engine.release(full), engine.release(lossOnly)]);
  return {
    checked: all.length,
    mismatches: all
      .filter((m) => !m.ok || !Number.isFinite(m.analytic))
      .map(({ param, index, analytic, numeric }) => ({ param, index, analytic, numeric })),
    worst: all.reduce((w, m) => Math.max(w, m.ratio), 0),
  };
}
