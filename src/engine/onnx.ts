// Graph -> ONNX ModelProto bytes. Only what is reachable from the requested outputs is emitted.
import { createHash } from 'node:crypto';
import { ProtoWriter } from './protobuf.js';
import { ONNX_DTYPE, type AttrValue, type ConstData, type DType, type Graph, type Node, type Tensor } from './graph.js';

export const OPSET = 18;
const IR_VERSION = 8;

export interface ExportedModel {
  bytes: Uint8Array;
  /** sha256 of the bytes: the session cache key. */
  signature: string;
  inputNames: string[];
  outputNames: string[];
  /** MatMul nodes with their symbolic shapes, for FLOP accounting. */
  matmuls: { a: Tensor['shape']; b: Tensor['shape'] }[];
}

const tensorName = (t: Tensor): string => (t.kind === 'input' ? t.inputName! : `t${t.id}`);

function rawBytes(data: ConstData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function writeTensor(w: ProtoWriter, name: string, dtype: DType, dims: readonly number[], data: ConstData): void {
  w.packedInts(1, dims);
  w.int(2, ONNX_DTYPE[dtype]);
  if (name) w.string(8, name);
  w.bytes(9, rawBytes(data));
}

function writeAttr(w: ProtoWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') w.int(20, 2).int(3, v);
  else if (typeof v === 'string') w.int(20, 3).string(4, v);
  else if (Array.isArray(v)) w.int(20, 7).packedInts(8, v);
  else if ('float' in v) w.int(20, 1).float(2, v.float);
  else if ('tensor' in v) w.int(20, 4).message(5, (t) => writeTensor(t, '', v.dtype, [v.tensor.length], v.tensor));
}

function writeValueInfo(w: ProtoWriter, name: string, t: Tensor, withShape: boolean): void {
  w.string(1, name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_DTYPE[t.dtype]);
      if (withShape)
        tt.message(2, (shape) => {
          for (const d of t.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d.key)));
        });
    }),
  );
}

/** Nodes needed for the outputs, in creation order (which is topological). */
function reachable(graph: Graph, outputs: Tensor[]): Node[] {
  const needed = new Set<Node>();
  const stack = outputs.map((t) => t.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    for (const i of n.inputs) if (i.producer && !needed.has(i.producer)) stack.push(i.producer);
  }
  return graph.nodes.filter((n) => needed.has(n));
}

export function exportOnnx(graph: Graph, outputs: Record<string, Tensor>): ExportedModel {
  const outEntries = Object.entries(outputs);
  const nodes = reachable(
    graph,
    outEntries.map(([, t]) => t),
  );
  const used = new Set<Tensor>();
  for (const n of nodes) for (const i of n.inputs) used.add(i);
  for (const [, t] of outEntries) used.add(t);
  const inputs = [...graph.inputs.values()].filter((t) => used.has(t));
  const consts = [...used].filter((t) => t.kind === 'const');

  const g = new ProtoWriter();
  nodes.forEach((n, idx) => {
    g.message(1, (nw) => {
      for (const i of n.inputs) nw.string(1, tensorName(i));
      for (const o of n.outputs) nw.string(2, tensorName(o));
      nw.string(3, `${n.op}_${idx}`);
      nw.string(4, n.op);
      for (const [k, v] of Object.entries(n.attrs)) nw.message(5, (a) => writeAttr(a, k, v));
    });
  });
  // Outputs get their public names through Identity, so one tensor may back several outputs.
  for (const [name, t] of outEntries)
    g.message(1, (nw) => nw.string(1, tensorName(t)).string(2, name).string(3, `out_${name}`).string(4, 'Identity'));
  g.string(2, 'fedhpo');
  for (const c of consts) g.message(5, (tw) => writeTensor(tw, tensorName(c), c.dtype, c.shape as number[], c.data!));
  for (const t of inputs) g.message(11, (v) => writeValueInfo(v, t.inputName!, t, true));
  for (const [name, t] of outEntries) g.message(12, (v) => writeValueInfo(v, name, t, false));

  const bytes = new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, 'fedhpo')
    .bytes(7, g.finish())
    .message(8, (o) => o.string(1, '').int(2, OPSET))
    .finish();
  return {
    bytes,
    signature: createHash('sha256').update(bytes).digest('hex'),
    inputNames: inputs.map((t) => t.inputName!),
    outputNames: outEntries.map(([n]) => n),
    matmuls: nodes.filter((n) => n.op === 'MatMul').map((n) => ({ a: n.inputs[0]!.shape, b: n.inputs[1]!.shape })),
  };
}
