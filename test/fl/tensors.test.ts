// Named-tensor helpers: deep clones, layout and finiteness checks that name the tensor, arithmetic,
// and the bridge to LoraAdapter (PEFT names and shapes).
import { describe, expect, it } from 'vitest';
import {
  addScaled,
  adapterTensors,
  checkFinite,
  checkSameLayout,
  checkWellFormed,
  cloneTensors,
  countValues,
  loadIntoAdapter,
  subtractTensors,
  TensorLayoutError,
} from '../../src/fl/tensors.js';
import { LoraAdapter } from '../../src/peft/lora.js';
import { benchModel, tensorsOf } from './fl-fixtures.js';

const a = tensorsOf({ x: { shape: [2, 2], data: [1, 2, 3, 4] }, y: { shape: [1], data: [5] } });

describe('named tensors', () => {
  it('clones deeply and counts values', () => {
    const c = cloneTensors(a);
    c.get('x')!.data[0] = 99;
    c.get('x')!.shape[0] = 7;
    expect(a.get('x')!.data[0]).toBe(1);
    expect(a.get('x')!.shape).toEqual([2, 2]);
    expect(countValues(a)).toBe(5);
  });

  it('layout checks name the missing, extra or misshapen tensor', () => {
    expect(() => checkSameLayout(a, cloneTensors(a))).not.toThrow();
    expect(() => checkSameLayout(a, tensorsOf({ x: { shape: [2, 2], data: [1, 2, 3, 4] } }), 'client 3')).toThrow(
      /client 3: missing tensor 'y'/,
    );
    expect(() => checkSameLayout(a, tensorsOf({ ...spec(a), z: { shape: [1], data: [0] } }))).toThrow(/unexpected tensor 'z'/);
    expect(() => checkSameLayout(a, tensorsOf({ ...spec(a), x: { shape: [4], data: [1, 2, 3, 4] } }))).toThrow(
      /'x' has shape \[4\], expected \[2, 2\]/,
    );
    expect(() => checkWellFormed(tensorsOf({ x: { shape: [2, 2], data: [1] } }))).toThrow(TensorLayoutError);
    expect(() => checkWellFormed(tensorsOf({ x: { shape: [1.5], data: [1] } }))).toThrow(/invalid shape/);
  });

  it('finiteness check names the tensor and index', () => {
    expect(() => checkFinite(tensorsOf({ w: { shape: [3], data: [0, 1, NaN] } }), 'update')).toThrow(
      /update: tensor 'w' holds NaN at index 2/,
    );
    expect(() => checkFinite(a)).not.toThrow();
  });

  it('a + s * b and a - b elementwise', () => {
    const b = tensorsOf({ x: { shape: [2, 2], data: [1, 1, 1, 1] }, y: { shape: [1], data: [2] } });
    expect([...addScaled(a, b, 0.5).get('x')!.data]).toEqual([1.5, 2.5, 3.5, 4.5]);
    expect([...subtractTensors(a, b).get('y')!.data]).toEqual([3]);
    expect(() => addScaled(a, tensorsOf({ x: spec(a).x! }), 1)).toThrow(/missing tensor 'y'/);
  });

  it('adapter tensors carry PEFT names and shapes, and load back in place', () => {
    const adapter = LoraAdapter.init(benchModel, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }, 3);
    const t = adapterTensors(adapter);
    expect(t.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([4, 256]);
    expect(t.get('base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight')!.shape).toEqual([256, 4]);
    const name = 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight';
    const before = adapter.tensors.get(name)!;
    t.get(name)!.data.fill(0.25); // a copy: the adapter is untouched
    expect(before[0]).toBe(0);
    loadIntoAdapter(adapter, t);
    expect(adapter.tensors.get(name)).toBe(before); // same array, new values
    expect(before[5]).toBe(0.25);
    t.delete(name);
    expect(() => loadIntoAdapter(adapter, t)).toThrow(/adapter: missing tensor/);
  });
});

function spec(t: ReturnType<typeof tensorsOf>): Record<string, { shape: number[]; data: number[] }> {
  return Object.fromEntries([...t].map(([k, v]) => [k, { shape: v.shape, data: [...v.data] }]));
}
