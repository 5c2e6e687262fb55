// Symbolic tensor graph: typed tensors with symbolic dims, ONNX-shaped nodes, shape inference.
// The builder emits standard ONNX ops (opset 18) one-to-one, so export is a plain walk and the
// autodiff rules (autodiff.ts) can be written in terms of the same builder.

import { ShapeError, addDims, dimsEqual, divDims, productOfDims, sliceDim, toDim, type Dim, type DimLike } from './dims.js';

export { ShapeError, dimsEqual, type Dim, type DimLike };
export type Shape = readonly Dim[];
export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type FloatDType = 'float32' | 'float64';

/** number = INT, { float } = FLOAT, number[] = INTS, { tensor } = TENSOR. */
export type AttrValue = number | string | readonly number[] | { float: number } | { tensor: ConstData; dtype: DType };
export type Attrs = Record<string, AttrValue>;

export type ConstData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export interface Tensor {
  readonly id: number;
  readonly dtype: DType;
  readonly shape: Shape;
  /** The node that produced it; undefined for graph inputs and constants. */
  readonly producer?: Node;
  readonly kind: 'input' | 'const' | 'value';
  /** Graph input name (kind 'input'). */
  readonly inputName?: string;
  /** Constant payload (kind 'const'). */
  readonly data?: ConstData;
}

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: Attrs;
  readonly outputs: readonly Tensor[];
}

const isFloat = (t: DType): t is FloatDType => t === 'float32' || t === 'float64';

/** prod(total) / prod(known): the size a Reshape -1 stands for. */
const quotient = (total: readonly Dim[], known: readonly Dim[]): Dim => divDims(productOfDims(total), productOfDims(known));

export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (dimsEqual(da, db) || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new ShapeError(`${what}: cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
  }
  return out;
}

const normAxis = (axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
};

export class Graph {
  private nextId = 0;
  readonly nodes: Node[] = [];
  readonly inputs = new Map<string, Tensor>();
  /** Cache of scalar/vector constants so repeated helpers do not bloat the model. */
  private constCache = new Map<string, Tensor>();
  /**
   * Recomputable stretches of the forward pass: node index ranges [start, end). With
   * `gradients(..., { recompute: true })` the backward pass recomputes a segment from its inputs
   * instead of keeping its activations alive from the forward pass (activation checkpointing).
   */
  readonly segments: { start: number; end: number }[] = [];
  private segmentStart: number | undefined;

  // ---- leaves -------------------------------------------------------------------------------
  /** A graph input; symbolic dims may be written as text ('b', 'p+s'). */
  input(name: string, dtype: DType, shape: readonly DimLike[]): Tensor {
    if (this.inputs.has(name)) throw new Error(`graph input '${name}' declared twice`);
    const t: Tensor = { id: this.nextId++, dtype, shape: shape.map(toDim), kind: 'input', inputName: name };
    this.inputs.set(name, t);
    return t;
  }

  constant(data: ConstData, shape: Shape, dtype: DType): Tensor {
    return { id: this.nextId++, dtype, shape: [...shape], kind: 'const', data };
  }

  scalar(value: number, dtype: FloatDType | 'int64' = 'float32'): Tensor {
    const key = `s:${dtype}:${value}`;
    let t = this.constCache.get(key);
    if (!t) {
      const data =
        dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
      t = this.constant(data, [], dtype);
      this.constCache.set(key, t);
    }
    return t;
  }

  ints(values: readonly number[]): Tensor {
    const key = `i:${values.join(',')}`;
    let t = this.constCache.get(key);
    if (!t) {
      t = this.constant(BigInt64Array.from(values.map(BigInt)), [values.length], 'int64');
      this.constCache.set(key, t);
    }
    return t;
  }

  // ---- recomputable segments -----------------------------------------------------------------
  /** Nodes created from here to endSegment() form one recomputable segment (see `segments`). */
  beginSegment(): void {
    if (this.segmentStart !== undefined) throw new Error('beginSegment: a segment is already open');
    this.segmentStart = this.nodes.length;
  }
  endSegment(): void {
    if (this.segmentStart === undefined) throw new Error('endSegment: no segment is open');
    if (this.nodes.length > this.segmentStart) this.segments.push({ start: this.segmentStart, end: this.nodes.length });
    this.segmentStart = undefined;
  }

  // ---- node plumbing --------------------------------------------------------------------------
  node(op: string, inputs: Tensor[], attrs: Attrs, outs: { dtype: DType; shape: Shape }[]): Tensor[] {
    const outputs: Tensor[] = [];
    const node: Node = { op, inputs, attrs, outputs };
    for (const o of outs) outputs.push({ id: this.nextId++, dtype: o.dtype, shape: [...o.shape], kind: 'value', producer: node });
    this.nodes.push(node);
    return outputs;
  }

  private one(op: string, inputs: Tensor[], attrs: Attrs, dtype: DType, shape: Shape): Tensor {
    return this.node(op, inputs, attrs, [{ dtype, shape }])[0]!;
  }

  /** The dtype every operand shares (ONNX ops do not promote types). */
  private sameDType(op: string, ts: readonly Tensor[]): DType {
    const d = ts[0]!.dtype;
    if (ts.some((t) => t.dtype !== d)) throw new ShapeError(`${op}: dtype mismatch ${ts.map((x) => x.dtype).join(' vs ')}`);
    return d;
  }

  /** Scalar of the same float dtype as t. */
  like(t: Tensor, value: number): Tensor {
    return this.scalar(value, t.dtype === 'float64' ? 'float64' : 'float32');
  }

  // ---- elementwise ----------------------------------------------------------------------------
  private binary(op: string, a: Tensor, b: Tensor): Tensor {
    const dtype = this.sameDType(op, [a, b]);
    return this.one(op, [a, b], {}, dtype, broadcastShapes(a.shape, b.shape, op));
  }
  add(a: Tensor, b: Tensor): Tensor {
    return this.binary('Add', a, b);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.binary('Sub', a, b);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary('Mul', a, b);
  }
  div(a: Tensor, b: Tensor): Tensor {
    return this.binary('Div', a, b);
  }
  /** x ** p for a constant exponent p. */
  pow(x: Tensor, p: number): Tensor {
    return this.one('Pow', [x, this.like(x, p)], {}, x.dtype, x.shape);
  }

  private unary(op: string, x: Tensor): Tensor {
    return this.one(op, [x], {}, x.dtype, x.shape);
  }
  neg(x: Tensor): Tensor {
    return this.unary('Neg', x);
  }
  exp(x: Tensor): Tensor {
    return this.unary('Exp', x);
  }
  log(x: Tensor): Tensor {
    return this.unary('Log', x);
  }
  sqrt(x: Tensor): Tensor {
    return this.unary('Sqrt', x);
  }
  reciprocal(x: Tensor): Tensor {
    return this.unary('Reciprocal', x);
  }
  sigmoid(x: Tensor): Tensor {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Tensor): Tensor {
    return this.unary('Tanh', x);
  }
  cos(x: Tensor): Tensor {
    return this.unary('Cos', x);
  }
  sin(x: Tensor): Tensor {
    return this.unary('Sin', x);
  }
  identity(x: Tensor): Tensor {
    return this.unary('Identity', x);
  }
  /** SiLU(x) = x * sigmoid(x); composite so its gradient follows from Mul and Sigmoid. */
  silu(x: Tensor): Tensor {
    // ORT's QuickGeluFusion rewrites Mul(x, Sigmoid(x)) to com.microsoft.QuickGelu without a type
    // check, and QuickGelu has only a float kernel: float64 models would fail to load. For float64
    // use x * (1 - sigmoid(-x)), which no fusion matches.
    if (x.dtype === 'float64') return this.mul(x, this.sub(this.like(x, 1), this.sigmoid(this.neg(x))));
    return this.mul(x, this.sigmoid(x));
  }

  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    if (cond.dtype !== 'bool') throw new ShapeError('Where: condition must be bool');
    const dtype = this.sameDType('Where', [a, b]);
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'Where'), b.shape, 'Where');
    return this.one('Where', [cond, a, b], {}, dtype, shape);
  }

  private compare(op: string, a: Tensor, b: Tensor): Tensor {
    if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtype mismatch`);
    return this.one(op, [a, b], {}, 'bool', broadcastShapes(a.shape, b.shape, op));
  }
  less(a: Tensor, b: Tensor): Tensor {
    return this.compare('Less', a, b);
  }
  greater(a: Tensor, b: Tensor): Tensor {
    return this.compare('Greater', a, b);
  }
  equal(a: Tensor, b: Tensor): Tensor {
    return this.compare('Equal', a, b);
  }
  not(x: Tensor): Tensor {
    return this.one('Not', [x], {}, 'bool', x.shape);
  }

  cast(x: Tensor, to: DType): Tensor {
    if (x.dtype === to) return x;
    return this.one('Cast', [x], { to: ONNX_DTYPE[to] }, to, x.shape);
  }

  // ---- linear algebra -------------------------------------------------------------------------
  matmul(a: Tensor, b: Tensor): Tensor {
    const dtype = this.sameDType('MatMul', [a, b]);
    if (a.shape.length < 2 || b.shape.length < 2) throw new ShapeError('MatMul: operands must have rank >= 2');
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (!dimsEqual(k!, k2!)) throw new ShapeError(`MatMul: inner dims differ: [${a.shape}] x [${b.shape}]`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'MatMul batch');
    return this.one('MatMul', [a, b], {}, dtype, [...batch, m!, n!]);
  }

  // ---- reductions -----------------------------------------------------------------------------
  private reduce(op: string, x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
    const rank = x.shape.length;
    const ax = axes.map((a) => normAxis(a, rank));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.includes(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    return this.one(op, [x, this.ints(ax)], { keepdims: keepdims ? 1 : 0 }, x.dtype, shape);
  }
  sum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }
  mean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }
  max(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    return this.reduce('ReduceMax', x, axes, keepdims);
  }
  /** Sum of every element, as a scalar. */
  sumAll(x: Tensor): Tensor {
    return this.sum(
      x,
      x.shape.map((_, i) => i),
    );
  }

  /** log(sum(exp(x))) over axes, computed stably (ORT subtracts the max first). */
  logSumExp(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    return this.reduce('ReduceLogSumExp', x, axes, keepdims);
  }

  softmax(x: Tensor, axis = -1): Tensor {
    return this.one('Softmax', [x], { axis: normAxis(axis, x.shape.length) }, x.dtype, x.shape);
  }
  logSoftmax(x: Tensor, axis = -1): Tensor {
    return this.one('LogSoftmax', [x], { axis: normAxis(axis, x.shape.length) }, x.dtype, x.shape);
  }

  // ---- shape ops ------------------------------------------------------------------------------
  /** ONNX Reshape semantics: 0 copies the input dim, -1 is inferred. */
  reshape(x: Tensor, target: readonly number[]): Tensor {
    const shape: Dim[] = target.map((d, i) => (d === 0 ? x.shape[i]! : d));
    const inferred = shape.indexOf(-1);
    if (inferred >= 0)
      shape[inferred] = quotient(
        x.shape,
        shape.filter((_, i) => i !== inferred),
      );
    return this.one('Reshape', [x, this.ints(target)], {}, x.dtype, shape);
  }
  /** Collapse all but the last axis: [..., n] -> [prod(...), n], for symbolic n too. */
  flattenLeading(x: Tensor): Tensor {
    const last = x.shape.at(-1)!;
    if (typeof last === 'number') return this.reshape(x, [-1, last]);
    const target = this.concat([this.ints([-1]), this.slice(this.shapeOf(x), 0, -1, x.shape.length)], 0);
    return this.one('Reshape', [x, target], {}, x.dtype, [quotient(x.shape, [last]), last]);
  }
  /** Reshape to the runtime shape of another tensor (used by gradients of shape ops). */
  reshapeLike(x: Tensor, like: Tensor): Tensor {
    return this.one('Reshape', [x, this.shapeOf(like)], {}, x.dtype, like.shape);
  }
  shapeOf(x: Tensor): Tensor {
    return this.one('Shape', [x], {}, 'int64', [x.shape.length]);
  }
  transpose(x: Tensor, perm: readonly number[]): Tensor {
    if (perm.length !== x.shape.length) throw new ShapeError(`Transpose: perm [${perm}] for rank ${x.shape.length}`);
    return this.one(
      'Transpose',
      [x],
      { perm: [...perm] },
      x.dtype,
      perm.map((p) => x.shape[p]!),
    );
  }
  /** Swap the last two axes. */
  transposeLast(x: Tensor): Tensor {
    const r = x.shape.length;
    const perm = x.shape.map((_, i) => i);
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return this.transpose(x, perm);
  }
  unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
    const rank = x.shape.length + axes.length;
    const ax = axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]!);
    return this.one('Unsqueeze', [x, this.ints(ax)], {}, x.dtype, shape);
  }
  squeeze(x: Tensor, axes: readonly number[]): Tensor {
    const ax = axes.map((a) => normAxis(a, x.shape.length));
    for (const a of ax) if (x.shape[a] !== 1) throw new ShapeError(`Squeeze: axis ${a} has dim ${x.shape[a]}`);
    return this.one(
      'Squeeze',
      [x, this.ints(ax)],
      {},
      x.dtype,
      x.shape.filter((_, i) => !ax.includes(i)),
    );
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    const rank = xs[0]!.shape.length;
    const a = normAxis(axis, rank);
    const dtype = this.sameDType('Concat', xs);
    const shape = [...xs[0]!.shape];
    shape[a] = xs.reduce<Dim>((acc, t) => addDims(acc, t.shape[a]!), 0);
    return this.one('Concat', [...xs], { axis: a }, dtype, shape);
  }
  /** Slice [start, end) along one axis (end may exceed the dim: clamps, as ONNX does). */
  slice(x: Tensor, axis: number, start: number, end: number): Tensor {
    const a = normAxis(axis, x.shape.length);
    const shape = [...x.shape];
    shape[a] = sliceDim(x.shape[a]!, start, end);
    return this.one('Slice', [x, this.ints([start]), this.ints([end]), this.ints([a])], {}, x.dtype, shape);
  }
  expand(x: Tensor, shapeTensor: Tensor, shape: Shape): Tensor {
    return this.one('Expand', [x, shapeTensor], {}, x.dtype, broadcastShapes(x.shape, shape, 'Expand'));
  }
  pad(x: Tensor, pads: readonly number[]): Tensor {
    const r = x.shape.length;
    const shape = x.shape.map((d, i) => {
      const extra = pads[i]! + pads[i + r]!;
      return addDims(d, extra);
    });
    return this.one('Pad', [x, this.ints(pads)], { mode: 'constant' }, x.dtype, shape);
  }
  zerosLike(x: Tensor): Tensor {
    const zero = x.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1);
    return this.one('ConstantOfShape', [this.shapeOf(x)], { value: { tensor: zero, dtype: x.dtype } }, x.dtype, x.shape);
  }
  range(start: Tensor, limit: Tensor, delta: Tensor, len: Dim): Tensor {
    return this.one('Range', [start, limit, delta], {}, start.dtype, [len]);
  }
  /** Runtime size of one axis, as an int64 scalar. */
  dimOf(x: Tensor, axis: number): Tensor {
    const a = normAxis(axis, x.shape.length);
    return this.one('Gather', [this.shapeOf(x), this.scalar(a, 'int64')], { axis: 0 }, 'int64', []);
  }
  /** int64 [start, start+1, ..., limit-1] with runtime bounds. */
  arange(start: Tensor, limit: Tensor, len: Dim): Tensor {
    return this.range(start, limit, this.scalar(1, 'int64'), len);
  }

  // ---- indexing -------------------------------------------------------------------------------
  /** Rows of table (axis 0) picked by integer indices: embeddings. */
  gather(table: Tensor, indices: Tensor): Tensor {
    if (indices.dtype !== 'int64') throw new ShapeError('Gather: indices must be int64');
    return this.one('Gather', [table, indices], { axis: 0 }, table.dtype, [...indices.shape, ...table.shape.slice(1)]);
  }
  /** Scatter-add rows of updates into data at indices (ScatterND, reduction add). */
  scatterAddRows(data: Tensor, indices: Tensor, updates: Tensor): Tensor {
    const idx = this.unsqueeze(indices, [-1]);
    return this.one('ScatterND', [data, idx, updates], { reduction: 'add' }, data.dtype, data.shape);
  }
  oneHot(indices: Tensor, depth: number, dtype: FloatDType): Tensor {
    const values = this.constant(dtype === 'float64' ? Float64Array.of(0, 1) : Float32Array.of(0, 1), [2], dtype);
    return this.one('OneHot', [indices, this.ints([depth]), values], { axis: -1 }, dtype, [...indices.shape, depth]);
  }

  /**
   * Per-row softmax cross-entropy: logits [N, C], targets int64 [N] -> loss [N]; rows whose target
   * equals ignoreIndex get loss 0 (ONNX SoftmaxCrossEntropyLoss, reduction none).
   */
  crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
    if (logits.shape.length !== 2 || targets.shape.length !== 1) throw new ShapeError('crossEntropy: want logits [N,C] and targets [N]');
    if (!isFloat(logits.dtype)) throw new ShapeError('crossEntropy: logits must be float');
    return this.one('SoftmaxCrossEntropyLoss', [logits, targets], { reduction: 'none', ignore_index: ignoreIndex }, logits.dtype, [
      logits.shape[0]!,
    ]);
  }
}

export const ONNX_DTYPE: Record<DType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };
export { isFloat };
