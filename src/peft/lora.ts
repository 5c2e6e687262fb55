// LoRA adapters as HF PEFT defines them: per target projection W [out, in], lora_A [r, in] and
// lora_B [out, r]; the layer computes x W^T + dropout(x) A^T B^T * (alpha / r). A starts as
// kaiming-uniform(a=sqrt(5)) i.e. U(-1/sqrt(in), 1/sqrt(in)), B as zeros, so training starts at the base.
// Files: adapter_config.json + adapter_model.safetensors with PEFT tensor names.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DropoutMaskFeed, Feeds, RunFeeds } from '../engine/engine.js';
import type { Graph, Tensor } from '../engine/graph.js';

import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { parseJsonText, previewJson } from '../engine/json.js';
import { Rng } from '../engine/rng.js';
import { dropoutDraws } from '../engine/xoshiro.js';
import type { LlamaConfig } from '../model/config.js';
import type { AdapterGraph, AdapterGraphSpec, GraphMode } from '../model/graphs.js';
import { PROJECTIONS, projectionPath, projectionShape, type Projection } from '../model/llama.js';
import type { AdapterFeeds } from '../model/model.js';
import {
  CheckpointError,
  loadSafetensorsFile,
  quote,
  saveSafetensorsFile,
  shapeText,
  type SafetensorsDType,
  type SafetensorsHeader,
} from '../model/safetensors.js';

import { tensorCount, type Adapter } from './adapter.js';

export const loraName = (layer: number, proj: Projection, ab: 'A' | 'B'): string =>
  `base_model.model.${projectionPath(layer, proj)}.lora_${ab}.weight`;
export const dropoutMaskName = (layer: number, proj: Projection): string => `lora_dropout.${layer}.${proj}`;
export const LORA_SCALING = 'lora_scaling';

/**
 * LoRA in the graph: on each target projection y += dropout(x) A^T B^T * scaling, the rank a
 * symbolic 'r' (one graph serves every rank); dropout masks are fed (seeded in TS, reproducible)
 * and only in training graphs.
 */
export class LoraGraphSpec implements AdapterGraphSpec {
  readonly key: string;
  constructor(
    readonly targets: readonly Projection[],
    readonly dropout: boolean,
  ) {
    this.key = JSON.stringify({ lora: targets, dropout });
  }

  build(g: Graph, cfg: LlamaConfig, mode: GraphMode): AdapterGraph {
    const trainable = new Map<string, Tensor>();
    const dropout = mode === 'train' && this.dropout;
    let scaling: Tensor | undefined;
    const linear = (x: Tensor, y: Tensor, layer: number, proj: Projection): Tensor => {
      if (!this.targets.includes(proj)) return y;
      const [out, inp] = projectionShape(cfg, proj);
      const a = g.input(loraName(layer, proj, 'A'), 'float32', ['r', inp]);
      const b = g.input(loraName(layer, proj, 'B'), 'float32', [out, 'r']);
      trainable.set(a.inputName!, a);
      trainable.set(b.inputName!, b);
      scaling ??= g.input(LORA_SCALING, 'float32', []);
      const xin = dropout ? g.mul(x, g.input(dropoutMaskName(layer, proj), 'float32', x.shape)) : x;
      const delta = g.matmul(g.matmul(xin, g.transposeLast(a)), g.transposeLast(b));
      return g.add(y, g.mul(delta, scaling));
    };
    return { trainable, hooks: { linear } };
  }
}

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: Projection[];
}

/** A LoRA configuration that cannot work (from a user's flags or an adapter_config.json). */
export class LoraConfigError extends UserError {
  override name = 'LoraConfigError';
}

/** Largest LoRA rank accepted: 4096 (published adapters use r <= 256; a rank above a layer's width adds nothing). */
export const MAX_LORA_R = 4096;

export function validateLoraConfig(c: LoraConfig, where = 'LoRA config'): LoraConfig {
  if (!Number.isInteger(c.r) || c.r < 1 || c.r > MAX_LORA_R)
    throw new LoraConfigError(`${where}: r must be a positive integer (at most ${MAX_LORA_R}), got ${c.r}`);
  if (!(c.alpha > 0 && Number.isFinite(c.alpha))) throw new LoraConfigError(`${where}: alpha must be a finite number > 0, got ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new LoraConfigError(`${where}: dropout must be in [0, 1), got ${c.dropout}`);
  if (!c.targets.length) throw new LoraConfigError(`${where}: target modules must not be empty`);
  for (const t of c.targets)
    if (!PROJECTIONS.includes(t)) throw new LoraConfigError(`${where}: unknown target module '${t}' (known: ${PROJECTIONS.join(', ')})`);
  return { ...c, targets: PROJECTIONS.filter((p) => c.targets.includes(p)) };
}

/** adapter_config.json files are ~1 KB. */
export const MAX_ADAPTER_CONFIG_BYTES = 2 ** 20;
/** adapter_model.safetensors: 4 GiB (r = 64 on every projection of an 8B model is 0.7 GB as float32). */
export const MAX_ADAPTER_BYTES = 4 * 2 ** 30;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The LoraConfig of a parsed PEFT adapter_config.json. Refuses what would be loaded wrongly rather
 * than approximated (other PEFT methods, DoRA, rsLoRA, per-module ranks, partial layers, biases,
 * extra saved modules); r, lora_alpha and lora_dropout take PEFT's defaults (8, 8, 0) when absent.
 * Errors are CheckpointErrors naming `file` and the key.
 */
export function parsePeftLoraConfig(json: unknown, file: string): LoraConfig {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  if (!isPlainObject(json)) return fail(`expected a JSON object, got ${previewJson(json)}`);
  const present = (k: string) => Object.hasOwn(json, k) && json[k] !== undefined;
  const unset = (k: string) => !present(k) || json[k] === null;

  if (!present('peft_type')) fail(`missing required key 'peft_type' (expected "LORA")`);
  if (json.peft_type !== 'LORA') fail(`'peft_type' is ${previewJson(json.peft_type)}; only "LORA" adapters are supported`);

  const number = (k: string, fallback: number, ok: (v: number) => boolean, what: string): number => {
    if (!present(k)) return fallback;
    const v = json[k];
    if (typeof v !== 'number' || !ok(v)) fail(`'${k}' must be ${what}, got ${previewJson(v)}`);
    return v as number;
  };
  const r = number('r', 8, (v) => Number.isInteger(v) && v >= 1 && v <= MAX_LORA_R, `a positive integer (at most ${MAX_LORA_R})`);
  const alpha = number('lora_alpha', 8, (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  const dropout = number('lora_dropout', 0, (v) => v >= 0 && v < 1, 'a number in [0, 1)');

  for (const k of ['use_dora', 'use_rslora', 'fan_in_fan_out']) {
    if (unset(k)) continue;
    if (typeof json[k] !== 'boolean') fail(`'${k}' must be a boolean, got ${previewJson(json[k])}`);
    if (json[k]) fail(`'${k}' is true, which is not supported`);
  }
  if (!unset('bias') && json.bias !== 'none') fail(`'bias' is ${previewJson(json.bias)}; only "none" is supported`);
  // Per-module ranks/alphas would silently change the scaling of some modules: refuse them.
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    if (unset(k)) continue;
    if (!isPlainObject(json[k])) fail(`'${k}' must be an object, got ${previewJson(json[k])}`);
    if (Object.keys(json[k] as object).length) fail(`a non-empty '${k}' is not supported`);
  }
  if (!unset('layers_to_transform')) fail(`'layers_to_transform' is not supported (the adapter must cover every layer)`);
  if (!unset('modules_to_save') && !(Array.isArray(json.modules_to_save) && json.modules_to_save.length === 0))
    fail(`'modules_to_save' is not supported (only LoRA tensors are loaded)`);

  if (unset('target_modules')) fail(`missing required key 'target_modules' (a list such as ["q_proj", "v_proj"])`);
  const targets = json.target_modules;
  if (typeof targets === 'string')
    fail(`'target_modules' ${previewJson(targets)} (a regex or 'all-linear') is not supported; list the modules`);
  if (!Array.isArray(targets) || targets.length === 0)
    return fail(`'target_modules' must be a non-empty list of module names, got ${previewJson(targets)}`);
  targets.forEach((t, i) => {
    if (typeof t !== 'string') fail(`'target_modules' entry ${i} must be a module name (a string), got ${previewJson(t)}`);
    if (!PROJECTIONS.includes(t as Projection))
      fail(`'target_modules': unknown target module ${quote(t as string)} (known: ${PROJECTIONS.join(', ')})`);
  });
  return validateLoraConfig({ r, alpha, dropout, targets: targets as Projection[] }, file);
}

/** LoRA tensors are stored as floats. */
const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64'];

export class LoraAdapter implements Adapter {
  readonly method = 'lora' as const;
  readonly positions = 0;

  private constructor(
    readonly model: LlamaConfig,
    readonly config: LoraConfig,
    /** PEFT name -> values, row-major in PEFT shapes. */
    readonly tensors: Map<string, Float32Array>,
  ) {}

  get scaling(): number {
    return this.config.alpha / this.config.r;
  }

  get graphSpec(): LoraGraphSpec {
    return new LoraGraphSpec(this.config.targets, this.config.dropout > 0);
  }

  trainFeeds(batch: number, seq: number, rng: Rng): RunFeeds {
    return { ...this.feeds(), ...this.dropoutFeeds(batch, seq, rng) };
  }

  inference(): AdapterFeeds {
    return { spec: this.graphSpec, feeds: this.feeds() };
  }

  /** Every (layer, projection) that carries an adapter. */
  sites(): { layer: number; proj: Projection }[] {
    const out: { layer: number; proj: Projection }[] = [];
    for (let layer = 0; layer < this.model.num_hidden_layers; layer++) for (const proj of this.config.targets) out.push({ layer, proj });
    return out;
  }

  shapeOf(name: string): [number, number] {
    const m = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$/.exec(name);
    if (!m) throw new Error(`not a LoRA tensor name: ${name}`);
    const [out, inp] = projectionShape(this.model, m[2] as Projection);
    return m[3] === 'A' ? [this.config.r, inp] : [out, this.config.r];
  }

  static init(model: LlamaConfig, config: LoraConfig, seed: number): LoraAdapter {
    const cfg = validateLoraConfig(config);
    const rng = new Rng(seed);
    const tensors = new Map<string, Float32Array>();
    const adapter = new LoraAdapter(model, cfg, tensors);
    for (const { layer, proj } of adapter.sites()) {
      const [out, inp] = projectionShape(model, proj);
      const a = new Float32Array(cfg.r * inp);
      const bound = 1 / Math.sqrt(inp);
      rng.fillUniform(a, -bound, bound);
      tensors.set(loraName(layer, proj, 'A'), a);
      tensors.set(loraName(layer, proj, 'B'), new Float32Array(out * cfg.r));
    }
    return adapter;
  }

  /** Graph feeds: adapter tensors and the scaling. */
  feeds(): Feeds {
    const feeds: Feeds = { [LORA_SCALING]: { dtype: 'float32', dims: [], data: Float32Array.of(this.scaling) } };
    for (const [name, data] of this.tensors) feeds[name] = { dtype: 'float32', dims: this.shapeOf(name), data };
    return feeds;
  }

  /**
   * Inverted-dropout masks (0 or 1/(1-p)) for one batch, one [batch, seq, in] mask per site in turn
   * from rng: recipes the engine worker fills (tens of millions of values per step stay off the
   * event loop), while rng skips past the draws they take.
   */
  dropoutFeeds(batch: number, seq: number, rng: Rng): Record<string, DropoutMaskFeed> {
    const p = this.config.dropout;
    const feeds: Record<string, DropoutMaskFeed> = {};
    if (p <= 0) return feeds;
    for (const { layer, proj } of this.sites()) {
      const dims = [batch, seq, projectionShape(this.model, proj)[1]];
      feeds[dropoutMaskName(layer, proj)] = { kind: 'dropout-mask', dims, p, rng: rng.state().s };
      rng.skip(dropoutDraws(batch * seq * dims[2]!));
    }
    return feeds;
  }

  /** Number of trainable (and communicated) values. */
  get size(): number {
    return tensorCount(this.tensors);
  }

  /** W + (alpha/r) B A for every adapted projection: base weights for adapter-free inference. */
  mergeInto(weights: Map<string, Float32Array>): Map<string, Float32Array> {
    const merged = new Map(weights);
    const r = this.config.r;
    for (const { layer, proj } of this.sites()) {
      const key = `${projectionPath(layer, proj)}.weight`;
      const w = weights.get(key);
      if (!w) throw new Error(`cannot merge LoRA: base weights lack '${key}'`);
      const [out, inp] = projectionShape(this.model, proj);
      const a = this.tensors.get(loraName(layer, proj, 'A'))!;
      const b = this.tensors.get(loraName(layer, proj, 'B'))!;
      const m = w.slice();
      for (let o = 0; o < out; o++)
        for (let k = 0; k < r; k++) {
          const bk = b[o * r + k]! * this.scaling;
          if (bk === 0) continue;
          const row = k * inp;
          for (let i = 0; i < inp; i++) m[o * inp + i]! += bk * a[row + i]!;
        }
      merged.set(key, m);
    }
    return merged;
  }

  peftConfigJson(baseModel = ''): Record<string, unknown> {
    return {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: baseModel,
      r: this.config.r,
      lora_alpha: this.config.alpha,
      lora_dropout: this.config.dropout,
      target_modules: this.config.targets,
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      modules_to_save: null,
      layers_to_transform: null,
      use_rslora: false,
      use_dora: false,
    };
  }

  async save(dir: string, baseModel = ''): Promise<void> {
    await mkdir(dir, { recursive: true });
    const shaped = new Map([...this.tensors].map(([k, v]) => [k, { shape: this.shapeOf(k), data: v }]));
    await saveSafetensorsFile(join(dir, 'adapter_model.safetensors'), shaped, { format: 'pt' });
    await writeFile(join(dir, 'adapter_config.json'), `${JSON.stringify(this.peftConfigJson(baseModel), null, 2)}\n`);
  }

  /**
   * Reads a PEFT adapter directory for `model`. adapter_config.json is validated first, then the
   * header of adapter_model.safetensors against it (every expected tensor with its shape and a
   * float dtype, nothing else) before any tensor is read; every value must be finite.
   */
  static async load(dir: string, model: LlamaConfig): Promise<LoraAdapter> {
    const cfgFile = join(dir, 'adapter_config.json');
    const text = await readRegularText(cfgFile, { maxBytes: MAX_ADAPTER_CONFIG_BYTES });
    const config = parsePeftLoraConfig(parseJsonText(text, cfgFile), cfgFile);
    const file = join(dir, 'adapter_model.safetensors');
    const adapter = new LoraAdapter(model, config, new Map());
    const { tensors } = await loadSafetensorsFile(file, {
      maxBytes: MAX_ADAPTER_BYTES,
      checkHeader: (header) => adapter.checkHeader(file, header),
      requireFinite: true,
    });
    for (const { layer, proj } of adapter.sites())
      for (const ab of ['A', 'B'] as const) {
        const name = loraName(layer, proj, ab);
        adapter.tensors.set(name, tensors.get(name)!.data);
      }
    return adapter;
  }

  /** Throws a CheckpointError naming `file` and the first tensor that disagrees with this adapter's layout. */
  private checkHeader(file: string, header: SafetensorsHeader): void {
    const expected = new Set<string>();
    for (const { layer, proj } of this.sites())
      for (const ab of ['A', 'B'] as const) {
        const name = loraName(layer, proj, ab);
        expected.add(name);
        const e = header.entries.get(name);
        if (!e) throw new CheckpointError(`${file}: missing tensor '${name}'`);
        const want = this.shapeOf(name);
        if (e.shape.join(',') !== want.join(','))
          throw new CheckpointError(
            `${file}: tensor '${name}' has shape ${shapeText(e.shape)} but the model and adapter_config need ${shapeText(want)}`,
          );
        if (!FLOAT_DTYPES.includes(e.dtype))
          throw new CheckpointError(`${file}: tensor '${name}' has dtype ${e.dtype}; LoRA weights must be ${FLOAT_DTYPES.join(', ')}`);
      }
    const extra = [...header.entries.keys()].filter((k) => !expected.has(k));
    if (extra.length)
      throw new CheckpointError(`${file}: unexpected tensors for this adapter_config: ${extra.slice(0, 3).map(quote).join(', ')}`);
  }
}
