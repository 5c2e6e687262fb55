// MatMul FLOP accounting: hand-computed shapes, and the LLaMA graphs against an analytic count
// written here from the architecture (not from the graph).
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/dims.js';
import { matmulFlops } from '../../src/engine/flops.js';
import { Graph } from '../../src/engine/graph.js';
import { exportOnnx } from '../../src/engine/onnx.js';
import { parseLlamaConfig, type LlamaConfig } from '../../src/model/config.js';
import { evalGraph, trainingGraph } from '../../src/model/graphs.js';
import { LoraGraphSpec } from '../../src/peft/lora.js';

describe('matmulFlops on hand-computed shapes', () => {
  it('counts 2·m·n·k per product and sums over MatMuls', () => {
    expect(matmulFlops({ matmuls: [{ a: [3, 4], b: [4, 5] }] }, {})).toBe(2 * 3 * 5 * 4);
    expect(
      matmulFlops(
        {
          matmuls: [
            { a: [3, 4], b: [4, 5] },
            { a: [1, 7], b: [7, 2] },
          ],
        },
        {},
      ),
    ).toBe(120 + 28);
    expect(matmulFlops({ matmuls: [] }, {})).toBe(0);
  });

  it('multiplies by the broadcast batch dims of both operands', () => {
    // [2, 1] against [5] broadcasts to [2, 5]: 10 products of [3, 4] x [4, 6].
    expect(matmulFlops({ matmuls: [{ a: [2, 1, 3, 4], b: [5, 4, 6] }] }, {})).toBe(10 * 2 * 3 * 6 * 4);
    // A 2-D weight against a batched activation.
    expect(matmulFlops({ matmuls: [{ a: [7, 3, 4], b: [4, 6] }] }, {})).toBe(7 * 2 * 3 * 6 * 4);
  });

  it('binds symbolic dims, including derived ones, from a real graph', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['b', 's', 8]);
    const w = g.input('w', 'float32', [8, 'r']);
    const y = g.matmul(g.reshape(x, [-1, 8]), w); // [b*s, 8] x [8, r]
    const scores = g.matmul(x, g.transposeLast(x)); // [b, s, 8] x [b, 8, s]
    const model = exportOnnx(g, { y, scores });
    const [b, s, r] = [2, 3, 5];
    expect(matmulFlops(model, { b, s, r })).toBe(2 * (b * s) * r * 8 + b * 2 * s * s * 8);
    expect(() => matmulFlops(model, { b, s })).toThrow(ShapeError);
    expect(() => matmulFlops(model, { b, s })).toThrow(/'r'/);
  });
});

// Analytic MatMul FLOPs of the LLaMA decoder (T = b·s tokens): every linear layer costs 2·T·in·out,
// attention 2·b·heads·s·s·hd for the scores and again for the values, the LM head 2·T·d·V, and a
// LoRA branch 2·T·in·r + 2·T·r·out. Backward: a MatMul y = a·b needs a product of the same cost
// for each operand whose gradient is wanted (da = dy·bᵀ, db = aᵀ·dy).
// (A type, not an interface: it is passed where a Record of bindings is expected.)
type Dims = { b: number; s: number; r: number };
function linears(cfg: LlamaConfig) {
  const q = cfg.num_attention_heads * cfg.head_dim;
  const kv = cfg.num_key_value_heads * cfg.head_dim;
  const d = cfg.hidden_size;
  const f = cfg.intermediate_size;
  return {
    q_proj: [d, q],
    k_proj: [d, kv],
    v_proj: [d, kv],
    o_proj: [q, d],
    gate_proj: [d, f],
    up_proj: [d, f],
    down_proj: [f, d],
  } as const;
}
const linear = (T: number, [inp, out]: readonly [number, number]): number => 2 * T * inp * out;
const attention = (cfg: LlamaConfig, { b, s }: Dims): number => 2 * b * cfg.num_attention_heads * s * s * cfg.head_dim;
const lmHead = (cfg: LlamaConfig, T: number): number => 2 * T * cfg.hidden_size * cfg.vocab_size;

/** Forward pass; `lora` lists the adapted projections. */
function forwardFlops(cfg: LlamaConfig, dims: Dims, lora: readonly string[] = []): number {
  const T = dims.b * dims.s;
  let perLayer = 2 * attention(cfg, dims);
  for (const [name, [inp, out]] of Object.entries(linears(cfg))) {
    perLayer += linear(T, [inp, out]);
    if (lora.includes(name)) perLayer += linear(T, [inp, dims.r]) + linear(T, [dims.r, out]);
  }
  return cfg.num_hidden_layers * perLayer + lmHead(cfg, T);
}

/**
 * Backward of LoRA training with adapters on q_proj and v_proj only. Gradients flow into an
 * activation only if it depends on some adapter: in layer 0 the input of q/k/v (embedding + norm) and
 * hence k do not; every later layer's input does.
 */
function loraQvBackwardFlops(cfg: LlamaConfig, dims: Dims): number {
  const T = dims.b * dims.s;
  const L = linears(cfg);
  let total = lmHead(cfg, T); // d(hidden) only: the head is frozen
  for (let layer = 0; layer < cfg.num_hidden_layers; layer++) {
    const inputActive = layer > 0;
    // Frozen base weights: only d(input) of each linear, when the input is active.
    total += linear(T, L.o_proj) + linear(T, L.gate_proj) + linear(T, L.up_proj) + linear(T, L.down_proj);
    if (inputActive) total += linear(T, L.q_proj) + linear(T, L.k_proj) + linear(T, L.v_proj);
    // scores = q kᵀ: dq always (q carries an adapter), dk when k is active; ctx = P v: dP and dv.
    total += attention(cfg, dims) * (inputActive ? 2 : 1) + 2 * attention(cfg, dims);
    // Each adapter x·Aᵀ·Bᵀ: dA, dB, d(x·Aᵀ), and d(x) when x is active.
    for (const [inp, out] of [L.q_proj, L.v_proj]) {
      total += linear(T, [inp, dims.r]) + linear(T, [dims.r, out]) + linear(T, [dims.r, out]);
      if (inputActive) total += linear(T, [inp, dims.r]);
    }
  }
  return total;
}

describe('MatMul FLOPs of the LLaMA graphs equal the analytic count', () => {
  const cfg = parseLlamaConfig({
    vocab_size: 40,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  });
  const cases: Dims[] = [
    { b: 2, s: 5, r: 4 },
    { b: 3, s: 7, r: 8 },
  ];
  const qv = { targets: ['q_proj', 'v_proj'] as const, dropout: false };

  it('evaluation graph: forward with LoRA branches', () => {
    const graph = evalGraph(cfg, new LoraGraphSpec(['q_proj', 'v_proj', 'down_proj'], false));
    for (const dims of cases) expect(matmulFlops(graph, dims)).toBe(forwardFlops(cfg, dims, ['q_proj', 'v_proj', 'down_proj']));
    expect(matmulFlops(evalGraph(cfg), { b: 2, s: 5 })).toBe(forwardFlops(cfg, { b: 2, s: 5, r: 0 }));
  });

  it('LoRA training graph: forward plus the backward into adapters and active activations', () => {
    const graph = trainingGraph(cfg, 'adapter', new LoraGraphSpec(qv.targets, qv.dropout));
    for (const dims of cases) expect(matmulFlops(graph, dims)).toBe(forwardFlops(cfg, dims, qv.targets) + loraQvBackwardFlops(cfg, dims));
    // Dropout masks are elementwise: no MatMul FLOPs of their own.
    const withDropout = trainingGraph(cfg, 'adapter', new LoraGraphSpec(['q_proj', 'v_proj'], true));
    expect(matmulFlops(withDropout, cases[0]!)).toBe(matmulFlops(graph, cases[0]!));
  });

  it('full-parameter training graph: every MatMul has both gradients, 3x the forward', () => {
    for (const tied of [false, true]) {
      const c = { ...cfg, tie_word_embeddings: tied };
      for (const dims of cases) expect(matmulFlops(trainingGraph(c, 'all'), dims)).toBe(3 * forwardFlops(c, dims));
    }
  });
});
