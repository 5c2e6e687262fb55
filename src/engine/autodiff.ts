// Reverse-mode autodiff over the symbolic graph: a table of local gradient rules, one per op.
// Each rule receives the forward node, the gradients of its outputs and which inputs need a
// gradient, and returns graph tensors for those inputs. Gradients of frozen tensors are never built.
import { ShapeError, dimsEqual, isFloat, type Graph, type Node, type Shape, type Tensor } from './graph.js';

type Grads = (Tensor | undefined)[];
export type GradRule = (g: Graph, node: Node, dOut: Grads, needs: readonly boolean[]) => Grads;

/** Sum dy down to a tensor's shape (undoing numpy broadcasting). */
export function unbroadcast(g: Graph, dy: Tensor, target: Tensor): Tensor {
  const lead = dy.shape.length - target.shape.length;
  let out = dy;
  if (lead > 0)
    out = g.sum(
      out,
      Array.from({ length: lead }, (_, i) => i),
      false,
    );
  const axes: number[] = [];
  target.shape.forEach((d, i) => {
    if (d === 1 && out.shape[i] !== 1) axes.push(i);
  });
  if (axes.length) out = g.sum(out, axes, true);
  return sameShape(out.shape, target.shape) ? out : g.reshapeLike(out, target);
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimsEqual(d, b[i]!));
}

const constValue = (t: Tensor): number => {
  if (t.kind !== 'const' || !t.data || t.data.length !== 1) throw new ShapeError('expected a scalar constant');
  return Number(t.data[0]);
};
const constInts = (t: Tensor): number[] => {
  if (t.kind !== 'const' || !(t.data instanceof BigInt64Array)) throw new ShapeError('expected an int64 constant');
  return Array.from(t.data, Number);
};

/** Number of elements over the given axes, as a scalar of x's dtype (runtime, so symbolic dims work). */
function countOver(g: Graph, x: Tensor, axes: readonly number[]): Tensor {
  const dims = axes.map((a) => x.shape[a]!);
  if (dims.every((d) => typeof d === 'number'))
    return g.like(
      x,
      (dims as number[]).reduce((p, d) => p * d, 1),
    );
  const picked = g.node('Gather', [g.shapeOf(x), g.ints(axes)], { axis: 0 }, [{ dtype: 'int64', shape: [axes.length] }])[0]!;
  const prod = g.node('ReduceProd', [picked], { keepdims: 0 }, [{ dtype: 'int64', shape: [] }])[0]!;
  return g.cast(prod, x.dtype);
}

/** Broadcast a reduced gradient back over the reduced axes. */
function expandReduced(g: Graph, node: Node, dy: Tensor): Tensor {
  const x = node.inputs[0]!;
  const axes = constInts(node.inputs[1]!);
  const kept = node.attrs.keepdims === 1 ? dy : g.unsqueeze(dy, axes);
  return g.expand(kept, g.shapeOf(x), x.shape);
}

const both = (needs: readonly boolean[], a: () => Tensor, b: () => Tensor): Grads => [
  needs[0] ? a() : undefined,
  needs[1] ? b() : undefined,
];

export const GRAD_RULES: Record<string, GradRule> = {
  Identity: (_g, _n, [dy]) => [dy],
  Add: (g, n, [dy], needs) =>
    both(
      needs,
      () => unbroadcast(g, dy!, n.inputs[0]!),
      () => unbroadcast(g, dy!, n.inputs[1]!),
    ),
  Sub: (g, n, [dy], needs) =>
    both(
      needs,
      () => unbroadcast(g, dy!, n.inputs[0]!),
      () => unbroadcast(g, g.neg(dy!), n.inputs[1]!),
    ),
  Mul: (g, n, [dy], needs) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return both(
      needs,
      () => unbroadcast(g, g.mul(dy!, b), a),
      () => unbroadcast(g, g.mul(dy!, a), b),
    );
  },
  Div: (g, n, [dy], needs) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const y = n.outputs[0]!;
    return both(
      needs,
      () => unbroadcast(g, g.div(dy!, b), a),
      () => unbroadcast(g, g.neg(g.div(g.mul(dy!, y), b)), b),
    );
  },
  Pow: (g, n, [dy], needs) => {
    const x = n.inputs[0]!;
    const p = constValue(n.inputs[1]!);
    if (needs[1]) throw new ShapeError('Pow: gradient with respect to the exponent is not supported');
    const dx = p === 2 ? g.mul(dy!, g.mul(x, g.like(x, 2))) : g.mul(dy!, g.mul(g.pow(x, p - 1), g.like(x, p)));
    return [dx, undefined];
  },
  Neg: (g, _n, [dy]) => [g.neg(dy!)],
  Exp: (g, n, [dy]) => [g.mul(dy!, n.outputs[0]!)],
  Log: (g, n, [dy]) => [g.div(dy!, n.inputs[0]!)],
  Sqrt: (g, n, [dy]) => [g.div(g.mul(dy!, g.like(dy!, 0.5)), n.outputs[0]!)],
  Reciprocal: (g, n, [dy]) => {
    const y = n.outputs[0]!;
    return [g.neg(g.mul(dy!, g.mul(y, y)))];
  },
  Sigmoid: (g, n, [dy]) => {
    const y = n.outputs[0]!;
    return [g.mul(dy!, g.mul(y, g.sub(g.like(y, 1), y)))];
  },
  Tanh: (g, n, [dy]) => {
    const y = n.outputs[0]!;
    return [g.mul(dy!, g.sub(g.like(y, 1), g.mul(y, y)))];
  },
  Cos: (g, n, [dy]) => [g.neg(g.mul(dy!, g.sin(n.inputs[0]!)))],
  Sin: (g, n, [dy]) => [g.mul(dy!, g.cos(n.inputs[0]!))],
  Where: (g, n, [dy], needs) => {
    const [c, a, b] = n.inputs as [Tensor, Tensor, Tensor];
    const zero = g.like(dy!, 0);
    return [
      undefined,
      needs[1] ? unbroadcast(g, g.where(c, dy!, zero), a) : undefined,
      needs[2] ? unbroadcast(g, g.where(c, zero, dy!), b) : undefined,
    ];
  },
  Cast: (g, n, [dy]) => [isFloat(n.inputs[0]!.dtype) ? g.cast(dy!, n.inputs[0]!.dtype) : undefined],
  MatMul: (g, n, [dy], needs) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const da = (): Tensor => unbroadcast(g, g.matmul(dy!, g.transposeLast(b)), a);
    const db = (): Tensor => {
      if (b.shape.length === 2 && a.shape.length > 2) {
        // A weight shared over batch dims: fold them into one GEMM instead of a batched one + sum.
        const a2 = g.flattenLeading(a);
        const d2 = g.flattenLeading(dy!);
        return g.matmul(g.transposeLast(a2), d2);
      }
      return unbroadcast(g, g.matmul(g.transposeLast(a), dy!), b);
    };
    return both(needs, da, db);
  },
  ReduceSum: (g, n, [dy]) => [expandReduced(g, n, dy!), undefined],
  ReduceMean: (g, n, [dy]) => {
    const x = n.inputs[0]!;
    return [g.div(expandReduced(g, n, dy!), countOver(g, x, constInts(n.inputs[1]!))), undefined];
  },
  ReduceLogSumExp: (g, n, [dy]) => {
    // d lse / dx = softmax(x) = exp(x - lse), with lse broadcast back over the reduced axes.
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const axes = constInts(n.inputs[1]!);
    const keep = n.attrs.keepdims === 1;
    const yk = keep ? y : g.unsqueeze(y, axes);
    const dyk = keep ? dy! : g.unsqueeze(dy!, axes);
    return [g.mul(dyk, g.exp(g.sub(x, yk))), undefined];
  },
  Softmax: (g, n, [dy]) => {
    const y = n.outputs[0]!;
    const axis = n.attrs.axis as number;
    return [g.mul(y, g.sub(dy!, g.sum(g.mul(dy!, y), [axis], true)))];
  },
  LogSoftmax: (g, n, [dy]) => {
    const y = n.outputs[0]!;
    const axis = n.attrs.axis as number;
    return [g.sub(dy!, g.mul(g.exp(y), g.sum(dy!, [axis], true)))];
  },
  Reshape: (g, n, [dy]) => [g.reshapeLike(dy!, n.inputs[0]!), undefined],
  Unsqueeze: (g, n, [dy]) => [g.reshapeLike(dy!, n.inputs[0]!), undefined],
  Squeeze: (g, n, [dy]) => [g.reshapeLike(dy!, n.inputs[0]!), undefined],
  Expand: (g, n, [dy]) => [unbroadcast(g, dy!, n.inputs[0]!), undefined],
  Transpose: (g, n, [dy]) => {
    const perm = n.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [g.transpose(dy!, inv)];
  },
  Concat: (g, n, [dy], needs) => {
    const axis = n.attrs.axis as number;
    let offset = 0;
    // Static sizes are needed only ahead of an input a gradient is taken for: virtual tokens
    // [b, v, h] ahead of token embeddings [b, s, h], a key prefix [b, kv, n, hd] ahead of keys
    // [b, kv, s, hd] (the last input's part is the rest of dy, whatever its size).
    let known = true;
    const last = n.inputs.length - 1;
    return n.inputs.map((x, i) => {
      const d = x.shape[axis];
      if (!needs[i]) {
        if (typeof d === 'number') offset += d;
        else known = false;
        return undefined;
      }
      if (!known || (typeof d !== 'number' && i !== last)) throw new ShapeError('Concat gradient needs static sizes along the concat axis');
      if (typeof d === 'number') {
        const part = g.slice(dy!, axis, offset, offset + d);
        offset += d;
        return part;
      }
      const rest = [dy!, g.ints([offset]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([axis])];
      return g.node('Slice', rest, {}, [{ dtype: dy!.dtype, shape: x.shape }])[0]!;
    });
  },
  Slice: (g, n, [dy]) => {
    const x = n.inputs[0]!;
    const [start] = constInts(n.inputs[1]!);
    const [end] = constInts(n.inputs[2]!);
    const [axis] = constInts(n.inputs[3]!);
    const d = x.shape[axis!];
    if (typeof d !== 'number') throw new ShapeError('Slice gradient needs a static size along the sliced axis');
    const s = Math.max(0, start! < 0 ? start! + d : start!);
    const e = Math.min(d, end! < 0 ? end! + d : end!);
    const pads = new Array<number>(2 * x.shape.length).fill(0);
    pads[axis!] = s;
    pads[axis! + x.shape.length] = d - e;
    return [g.pad(dy!, pads), undefined, undefined, undefined];
  },
  Pad: (g, n, [dy]) => {
    const pads = constInts(n.inputs[1]!);
    const r = n.inputs[0]!.shape.length;
    let out = dy!;
    for (let a = 0; a < r; a++) {
      if (pads[a] || pads[a + r]) {
        const full = out.shape[a];
        if (typeof full !== 'number') throw new ShapeError('Pad gradient needs static sizes');
        out = g.slice(out, a, pads[a]!, full - pads[a + r]!);
      }
    }
    return [out, undefined];
  },
  Gather: (g, n, [dy], needs) => {
    const [table, idx] = n.inputs as [Tensor, Tensor];
    return [needs[0] ? g.scatterAddRows(g.zerosLike(table), idx, dy!) : undefined, undefined];
  },
  SoftmaxCrossEntropyLoss: (g, n, [dy]) => {
    const [logits, targets] = n.inputs as [Tensor, Tensor];
    const ignore = n.attrs.ignore_index as number;
    const valid = g.not(g.equal(targets, g.scalar(ignore, 'int64')));
    const safe = g.where(valid, targets, g.scalar(0, 'int64'));
    const classes = logits.shape[1]!;
    if (typeof classes !== 'number') throw new ShapeError('crossEntropy gradient needs a static class count');
    // one-hot through Equal against a class range: OneHot has no float64 kernel in ORT.
    const onehot = g.cast(g.equal(g.unsqueeze(safe, [1]), g.ints(Array.from({ length: classes }, (_, i) => i))), logits.dtype);
    const scale = g.mul(dy!, g.cast(valid, logits.dtype));
    return [g.mul(g.sub(g.softmax(logits, 1), onehot), g.unsqueeze(scale, [1])), undefined];
  },
};

const NON_DIFFERENTIABLE = new Set(['Shape', 'Range', 'Less', 'Greater', 'Equal', 'Not', 'ConstantOfShape', 'ReduceProd']);

export interface GradientOptions {
  /**
   * Recompute each of the graph's segments (Graph.beginSegment/endSegment) in the backward pass
   * from the tensors it reads, instead of keeping its activations from the forward pass: memory
   * for activations drops to the segments' inputs plus one segment's worth, for one more forward.
   */
  recompute?: boolean;
}

/**
 * Gradients of scalar `y` with respect to `wrt`, added to the same graph. Only nodes on a path from
 * some `wrt` tensor to `y` are differentiated.
 */
export function gradients(g: Graph, y: Tensor, wrt: readonly Tensor[], options: GradientOptions = {}): Tensor[] {
  if (y.shape.length !== 0) throw new ShapeError(`gradients: y must be a scalar, got shape [${y.shape}]`);
  const forward = [...g.nodes];
  const active = new Set<Tensor>(wrt);
  for (const n of forward) if (n.inputs.some((i) => active.has(i))) for (const o of n.outputs) active.add(o);
  if (!active.has(y)) throw new ShapeError('gradients: y does not depend on any of the requested tensors');

  const segmentOf = new Map<number, { start: number; end: number }>();
  if (options.recompute) for (const s of g.segments) for (let k = s.start; k < s.end; k++) segmentOf.set(k, s);
  const recomputed = new Map<{ start: number; end: number }, Map<Tensor, Tensor>>();

  const grad = new Map<Tensor, Tensor>([[y, g.like(y, 1)]]);
  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k]!;
    const dOut = n.outputs.map((o) => grad.get(o));
    if (dOut.every((d) => !d)) continue;
    const needs = n.inputs.map((i) => active.has(i) && isFloat(i.dtype));
    if (!needs.some(Boolean)) continue;
    if (NON_DIFFERENTIABLE.has(n.op)) continue;
    const rule = GRAD_RULES[n.op];
    if (!rule) throw new ShapeError(`no gradient rule for op ${n.op}`);
    // In a recomputed segment the rule reads the recomputed tensors, so the forward ones die early.
    let view = n;
    const segment = segmentOf.get(k);
    if (segment) {
      let map = recomputed.get(segment);
      if (!map) {
        map = recomputeSegment(g, forward.slice(segment.start, segment.end), dOut.find((d) => d)!);
        recomputed.set(segment, map);
      }
      const m = map;
      view = { ...n, inputs: n.inputs.map((t) => m.get(t) ?? t), outputs: n.outputs.map((t) => m.get(t) ?? t) };
    }
    const dIn = rule(g, view, dOut, needs);
    n.inputs.forEach((input, i) => {
      const d = dIn[i];
      if (!needs[i] || !d) return;
      const prev = grad.get(input);
      grad.set(input, prev ? g.add(prev, d) : d);
    });
  }
  return wrt.map((t) => grad.get(t) ?? g.zerosLike(t));
}

/**
 * Copies of a segment's nodes that depend on the activations it reads from outside (not on weights
 * or constants alone), fed through a barrier: activation + 0 * (one element of `after`), a gradient
 * of the segment's output. The barrier makes the copies wait for the backward pass to reach the
 * segment, and gives them inputs no forward node has, so ORT's common-subexpression elimination
 * cannot merge them back into the forward nodes. Returns forward tensor -> recomputed tensor.
 */
function recomputeSegment(g: Graph, nodes: readonly Node[], after: Tensor): Map<Tensor, Tensor> {
  const produced = new Set<Tensor>(nodes.flatMap((n) => n.outputs));
  const map = new Map<Tensor, Tensor>();
  let zero: Tensor | undefined;
  const barrier = (x: Tensor): Tensor => {
    if (!zero) {
      let one = after;
      for (let a = 0; a < after.shape.length; a++) one = g.slice(one, a, 0, 1);
      zero = g.mul(g.reshape(one, []), g.like(after, 0));
    }
    return g.add(x, g.cast(zero, x.dtype));
  };
  for (const n of nodes) {
    const inputs = n.inputs.map((t) => {
      let m = map.get(t);
      if (!m && !produced.has(t) && t.kind === 'value' && isFloat(t.dtype)) {
        m = barrier(t);
        map.set(t, m);
      }
      return m ?? t;
    });
    if (inputs.every((t, i) => t === n.inputs[i])) continue;
    const outs = g.node(
      n.op,
      inputs,
      n.attrs,
      n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })),
    );
    n.outputs.forEach((o, i) => {
      map.set(o, outs[i]!);
    });
  }
  return map;
}
