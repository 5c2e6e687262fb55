// LoRA adapters as HF PEFT defines them: per target projection W [out, in], lora_A [r, in] and
// lora_B [out, r]; the layer computes x W^T + dropout(x) A^T B^T * (alpha / r). A starts as
// kaiming-uniform(a=sqrt(5)) i.e. U(-1/sqrt(in), 1/sqrt(in)), B as zeros, so training starts at the base.
// Files: adapter_config.json + adapter_model.safetensors with PEFT tensor names.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DropoutMaskFeed, Feeds } from '../engine/engine.js';
import { Rng } from '../engine/rng.js';
import { dropoutDraws } from '../engine/xoshiro.js';
import type { LlamaConfig } from '../model/config.js';
import {
  LORA_SCALING,
  PROJECTIONS,
  dropoutMaskName,
  loraName,
  projectionPath,
  projectionShape,
  type LoraGraphSpec,
  type Projection,
} from '../model/llama.js';
import { CheckpointError, loadSafetensorsFile, saveSafetensorsFile } from '../model/safetensors.js';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: Projection[];
}

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] };

export function validateLoraConfig(c: LoraConfig, where = 'LoRA config'): LoraConfig {
  if (!Number.isInteger(c.r) || c.r < 1) throw new Error(`${where}: r must be a positive integer, got ${c.r}`);
  if (!(c.alpha > 0)) throw new Error(`${where}: alpha must be > 0, got ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1), got ${c.dropout}`);
  if (!c.targets.length) throw new Error(`${where}: target modules must not be empty`);
  for (const t of c.targets)
    if (!PROJECTIONS.includes(t)) throw new Error(`${where}: unknown target module '${t}' (known: ${PROJECTIONS.join(', ')})`);
  return { ...c, targets: PROJECTIONS.filter((p) => c.targets.includes(p)) };
}

export class LoraAdapter {
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
    return { targets: this.config.targets, dropout: this.config.dropout > 0 };
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
    let n = 0;
    for (const t of this.tensors.values()) n += t.length;
    return n;
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

  static async load(dir: string, model: LlamaConfig): Promise<LoraAdapter> {
    const cfgFile = join(dir, 'adapter_config.json');
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError(`${cfgFile}: ${(e as Error).message}`);
    }
    if (raw.peft_type !== undefined && raw.peft_type !== 'LORA')
      throw new CheckpointError(`${cfgFile}: peft_type '${String(raw.peft_type)}' is not LORA`);
    for (const k of ['use_dora', 'use_rslora'] as const) if (raw[k]) throw new CheckpointError(`${cfgFile}: ${k}=true is not supported`);
    if (raw.fan_in_fan_out) throw new CheckpointError(`${cfgFile}: fan_in_fan_out=true is not supported`);
    // Per-module ranks/alphas would silently change the scaling of some modules: refuse them.
    for (const k of ['rank_pattern', 'alpha_pattern'] as const)
      if (raw[k] && typeof raw[k] === 'object' && Object.keys(raw[k] as object).length)
        throw new CheckpointError(`${cfgFile}: a non-empty ${k} is not supported`);
    if (typeof raw.target_modules === 'string')
      throw new CheckpointError(
        `${cfgFile}: target_modules '${raw.target_modules}' (a regex or 'all-linear') is not supported; list the modules`,
      );
    const targets = Array.isArray(raw.target_modules) ? (raw.target_modules as string[]) : [];
    // PEFT's LoraConfig defaults: r = 8, lora_alpha = 8, lora_dropout = 0.
    const config = validateLoraConfig(
      {
        r: Number(raw.r ?? 8),
        alpha: Number(raw.lora_alpha ?? 8),
        dropout: Number(raw.lora_dropout ?? 0),
        targets: targets as Projection[],
      },
      cfgFile,
    );
    const file = join(dir, 'adapter_model.safetensors');
    const { tensors } = await loadSafetensorsFile(file);
    const adapter = new LoraAdapter(model, config, new Map());
    for (const { layer, proj } of adapter.sites())
      for (const ab of ['A', 'B'] as const) {
        const name = loraName(layer, proj, ab);
        const t = tensors.get(name);
        if (!t) throw new CheckpointError(`${file}: missing tensor '${name}'`);
        const want = adapter.shapeOf(name);
        if (t.shape.join(',') !== want.join(','))
          throw new CheckpointError(`${file}: tensor '${name}' has shape [${t.shape}] but the model and adapter_config need [${want}]`);
        adapter.tensors.set(name, t.data);
      }
    const extra = [...tensors.keys()].filter((k) => !adapter.tensors.has(k));
    if (extra.length) throw new CheckpointError(`${file}: unexpected tensors for this adapter_config: ${extra.slice(0, 3).join(', ')}`);
    return adapter;
  }
}
