// What PEFT's prompt-learning methods (prompt tuning, P-tuning, prefix tuning) share: the common
// adapter_config.json fields (PromptLearningConfig: num_virtual_tokens, token_dim, num_layers,
// num_attention_heads, num_transformer_submodules) and the saved file, which holds one tensor,
// `prompt_embeddings` — the virtual tokens (prompt tuning, the P-tuning encoder's output) or the
// per-layer key/value prefixes (prefix tuning, after its reparameterisation MLP). What trains (an
// encoder) is not what is saved: as in PEFT, a saved adapter loads for inference.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Graph, Tensor } from '../engine/graph.js';
import { readRegularText } from '../engine/files.js';
import { parseJsonText, previewJson } from '../engine/json.js';
import type { Feeds, RunFeeds } from '../engine/engine.js';
import type { Rng } from '../engine/rng.js';
import type { LlamaConfig } from '../model/config.js';
import { CheckpointError, loadSafetensorsFile, saveSafetensorsFile, shapeText, type SafetensorsDType } from '../model/safetensors.js';
import { PeftConfigError, tensorCount } from './adapter.js';
import { MAX_ADAPTER_BYTES, MAX_ADAPTER_CONFIG_BYTES } from './lora.js';

/** The one tensor PEFT saves for a prompt-learning adapter. */
export const PROMPT_EMBEDDINGS = 'prompt_embeddings';
/** Trainable tensors of an encoder are named as PEFT's modules (adapter "default"). */
export const encoderName = (module: string): string => `prompt_encoder.default.${module}`;

/** More virtual tokens than this is a mistake (PEFT's examples use 8-100). */
export const MAX_VIRTUAL_TOKENS = 4096;
export const MAX_ENCODER_HIDDEN = 65536;

export type PromptPeftType = 'PROMPT_TUNING' | 'P_TUNING' | 'PREFIX_TUNING';

export function checkVirtualTokens(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_VIRTUAL_TOKENS)
    throw new PeftConfigError(`${where}: num_virtual_tokens must be a positive integer (at most ${MAX_VIRTUAL_TOKENS}), got ${n}`);
  return n;
}

export function checkEncoderHidden(h: number, where: string): number {
  if (!Number.isInteger(h) || h < 1 || h > MAX_ENCODER_HIDDEN)
    throw new PeftConfigError(`${where}: encoder_hidden_size must be a positive integer (at most ${MAX_ENCODER_HIDDEN}), got ${h}`);
  return h;
}

/** The common adapter_config.json fields, for a model and a token width (hidden, or kv heads x head_dim for prefixes). */
export function promptLearningJson(
  peftType: PromptPeftType,
  model: LlamaConfig,
  numVirtualTokens: number,
  tokenDim: number,
  heads: number,
  baseModel: string,
): Record<string, unknown> {
  return {
    peft_type: peftType,
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    inference_mode: true,
    num_virtual_tokens: numVirtualTokens,
    token_dim: tokenDim,
    num_transformer_submodules: 1,
    num_attention_heads: heads,
    num_layers: model.num_hidden_layers,
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A parsed adapter_config.json with helpers that fail with a CheckpointError naming the file and key. */
export class AdapterConfigJson {
  private constructor(
    readonly file: string,
    readonly json: Record<string, unknown>,
  ) {}

  static async read(dir: string): Promise<AdapterConfigJson> {
    const file = join(dir, 'adapter_config.json');
    const json = parseJsonText(await readRegularText(file, { maxBytes: MAX_ADAPTER_CONFIG_BYTES }), file);
    if (!isPlainObject(json)) throw new CheckpointError(`${file}: expected a JSON object, got ${previewJson(json)}`);
    return new AdapterConfigJson(file, json);
  }

  static of(json: unknown, file: string): AdapterConfigJson {
    if (!isPlainObject(json)) throw new CheckpointError(`${file}: expected a JSON object, got ${previewJson(json)}`);
    return new AdapterConfigJson(file, json);
  }

  fail(msg: string): never {
    throw new CheckpointError(`${this.file}: ${msg}`);
  }

  has(k: string): boolean {
    return Object.hasOwn(this.json, k) && this.json[k] !== undefined && this.json[k] !== null;
  }

  int(k: string, fallback: number | undefined, ok: (v: number) => boolean, what: string): number {
    if (!this.has(k)) return fallback ?? this.fail(`missing required key '${k}' (${what})`);
    const v = this.json[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || !ok(v)) this.fail(`'${k}' must be ${what}, got ${previewJson(v)}`);
    return v as number;
  }

  bool(k: string, fallback: boolean): boolean {
    if (!this.has(k)) return fallback;
    const v = this.json[k];
    if (typeof v !== 'boolean') this.fail(`'${k}' must be a boolean, got ${previewJson(v)}`);
    return v as boolean;
  }

  /**
   * The common prompt-learning fields: peft_type as expected, num_virtual_tokens, and the fields
   * that describe the model (token_dim, num_layers, heads) equal to this model's when present.
   */
  promptLearning(peftType: PromptPeftType, model: LlamaConfig, tokenDim: number, heads: number): number {
    if (this.json.peft_type !== peftType) this.fail(`'peft_type' is ${previewJson(this.json.peft_type)}, expected "${peftType}"`);
    if (this.has('task_type') && this.json.task_type !== 'CAUSAL_LM')
      this.fail(`'task_type' is ${previewJson(this.json.task_type)}; only "CAUSAL_LM" is supported`);
    const n = this.int(
      'num_virtual_tokens',
      undefined,
      (v) => v >= 1 && v <= MAX_VIRTUAL_TOKENS,
      `a positive integer (at most ${MAX_VIRTUAL_TOKENS})`,
    );
    const same = (k: string, want: number) => {
      if (this.has(k) && this.json[k] !== want) this.fail(`'${k}' is ${previewJson(this.json[k])} but the model needs ${want}`);
    };
    same('token_dim', tokenDim);
    same('num_layers', model.num_hidden_layers);
    same('num_attention_heads', heads);
    same('num_transformer_submodules', 1);
    return n;
  }
}

const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64'];

/** Reads adapter_model.safetensors holding exactly `prompt_embeddings` of `shape` (finite floats). */
export async function loadPromptEmbeddings(dir: string, shape: [number, number]): Promise<Float32Array> {
  const file = join(dir, 'adapter_model.safetensors');
  const { tensors } = await loadSafetensorsFile(file, {
    maxBytes: MAX_ADAPTER_BYTES,
    requireFinite: true,
    checkHeader: (header) => {
      const e = header.entries.get(PROMPT_EMBEDDINGS);
      if (!e) throw new CheckpointError(`${file}: missing tensor '${PROMPT_EMBEDDINGS}'`);
      if (e.shape.join(',') !== shape.join(','))
        throw new CheckpointError(
          `${file}: tensor '${PROMPT_EMBEDDINGS}' has shape ${shapeText(e.shape)} but the model and adapter_config need ${shapeText(shape)}`,
        );
      if (!FLOAT_DTYPES.includes(e.dtype))
        throw new CheckpointError(`${file}: tensor '${PROMPT_EMBEDDINGS}' has dtype ${e.dtype}; it must be ${FLOAT_DTYPES.join(', ')}`);
      const extra = [...header.entries.keys()].filter((k) => k !== PROMPT_EMBEDDINGS);
      if (extra.length)
        throw new CheckpointError(`${file}: unexpected tensors for this adapter_config: '${extra.slice(0, 3).join("', '")}'`);
    },
  });
  return tensors.get(PROMPT_EMBEDDINGS)!.data;
}

export async function savePromptEmbeddings(
  dir: string,
  data: Float32Array,
  shape: [number, number],
  config: Record<string, unknown>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveSafetensorsFile(join(dir, 'adapter_model.safetensors'), new Map([[PROMPT_EMBEDDINGS, { shape, data }]]), { format: 'pt' });
  await writeFile(join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** A torch.nn.Linear layer's tensors: weight [out, in], bias [out]. */
export interface LinearShape {
  name: string;
  out: number;
  in: number;
}

/** torch.nn.Linear's default init (kaiming-uniform a=sqrt(5)): weight and bias from U(-1/sqrt(in), 1/sqrt(in)). */
export function initLinear(tensors: Map<string, Float32Array>, l: LinearShape, rng: Rng): void {
  const bound = 1 / Math.sqrt(l.in);
  tensors.set(`${l.name}.weight`, rng.fillUniform(new Float32Array(l.out * l.in), -bound, bound));
  tensors.set(`${l.name}.bias`, rng.fillUniform(new Float32Array(l.out), -bound, bound));
}

export function linearShapes(l: LinearShape): [string, number[]][] {
  return [
    [`${l.name}.weight`, [l.out, l.in]],
    [`${l.name}.bias`, [l.out]],
  ];
}

/** The encoder MLP in a graph: Linear, then activation, between layers; inputs named after the tensors. */
export function mlpGraph(
  g: Graph,
  x: Tensor,
  layers: readonly LinearShape[],
  act: 'relu' | 'tanh',
  trainable: Map<string, Tensor>,
): Tensor {
  let h = x;
  layers.forEach((l, i) => {
    const w = g.input(`${l.name}.weight`, 'float32', [l.out, l.in]);
    const b = g.input(`${l.name}.bias`, 'float32', [l.out]);
    trainable.set(w.inputName!, w);
    trainable.set(b.inputName!, b);
    h = g.add(g.matmul(h, g.transposeLast(w)), b);
    // ReLU as x * (x > 0): ops the autodiff already differentiates.
    if (i < layers.length - 1) h = act === 'tanh' ? g.tanh(h) : g.mul(h, g.cast(g.greater(h, g.like(h, 0)), 'float32'));
  });
  return h;
}

/** The same MLP in float64 on the host: x [rows, in] -> [rows, out], for saving and inference. */
export function mlpHost(
  x: Float32Array,
  rows: number,
  layers: readonly LinearShape[],
  act: 'relu' | 'tanh',
  tensors: Map<string, Float32Array>,
): Float32Array {
  let h = Float64Array.from(x);
  layers.forEach((l, i) => {
    const w = tensors.get(`${l.name}.weight`)!;
    const b = tensors.get(`${l.name}.bias`)!;
    const y = new Float64Array(rows * l.out);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < l.out; o++) {
        let s = b[o]!;
        for (let k = 0; k < l.in; k++) s += h[r * l.in + k]! * w[o * l.in + k]!;
        y[r * l.out + o] = i < layers.length - 1 ? (act === 'tanh' ? Math.tanh(s) : Math.max(0, s)) : s;
      }
    h = y;
  });
  return Float32Array.from(h);
}

/**
 * What the prompt-learning adapters (prompt tuning, P-tuning, prefix tuning) share: n virtual tokens
 * (the positions they take ahead of every sequence) and named tensors whose shapes the method knows.
 */
export abstract class PromptLearningAdapter {
  constructor(
    readonly model: LlamaConfig,
    readonly tensors: Map<string, Float32Array>,
    /** The method's name in errors ("not a P-tuning tensor"). */
    private readonly what: string,
  ) {}

  protected abstract get virtualTokens(): number;

  /** Every trainable tensor's shape, by name. */
  protected abstract shapes(): Map<string, number[]>;

  shapeOf(name: string): number[] {
    const s = this.shapes().get(name);
    if (!s) throw new Error(`not a ${this.what} tensor: ${name}`);
    return s;
  }

  /** The tensors as feeds (no dropout or other per-batch inputs). */
  trainFeeds(): RunFeeds {
    const feeds: Feeds = {};
    for (const [name, data] of this.tensors) feeds[name] = { dtype: 'float32', dims: this.shapeOf(name), data };
    return feeds;
  }

  get positions(): number {
    return this.virtualTokens;
  }

  get size(): number {
    return tensorCount(this.tensors);
  }
}
