// Prefix tuning (PEFT PREFIX_TUNING): trainable keys and values, n per layer, ahead of every
// sequence's in each attention (as a cache of n the decoder already takes: the prompt's positions
// start at n, prefix keys carry no rotary embedding). PEFT's layout: one matrix P [n, L*2*kv*hd]
// viewed as [n, 2L, kv, hd], layer l's key is slot 2l, its value slot 2l+1 (token_dim = kv heads x
// head_dim, so grouped-query models get kv-head prefixes). With prefix_projection, P is the output
// of a reparameterisation MLP during training: embedding [n, token_dim] -> Linear(token_dim, e) ->
// tanh -> Linear(e, 2L*token_dim). The file holds P only (prompt_embeddings), as PEFT saves it.
import type { Feeds } from '../engine/engine.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { Rng } from '../engine/rng.js';
import type { LlamaConfig } from '../model/config.js';
import type { AdapterGraph, AdapterGraphSpec, GraphMode } from '../model/graphs.js';
import type { AdapterFeeds } from '../model/model.js';
import type { Adapter } from './adapter.js';
import {
  AdapterConfigJson,
  PROMPT_EMBEDDINGS,
  checkEncoderHidden,
  checkVirtualTokens,
  encoderName,
  initLinear,
  linearShapes,
  loadPromptEmbeddings,
  mlpGraph,
  mlpHost,
  PromptLearningAdapter,
  promptLearningJson,
  savePromptEmbeddings,
  type LinearShape,
} from './prompt-learning.js';

export interface PrefixTuningConfig {
  numVirtualTokens: number;
  /** Train P through the reparameterisation MLP (PEFT prefix_projection). */
  projection: boolean;
  /** encoder_hidden_size of that MLP. */
  encoderHiddenSize: number;
}

const EMBEDDING = encoderName('embedding.weight');

/** token_dim: the width of one layer's key (or value) for one virtual token. */
export const prefixTokenDim = (m: LlamaConfig): number => m.num_key_value_heads * m.head_dim;
/** Width of P: every layer's key and value. */
export const prefixWidth = (m: LlamaConfig): number => 2 * m.num_hidden_layers * prefixTokenDim(m);

function projectionLayers(m: LlamaConfig, e: number): LinearShape[] {
  return [
    { name: encoderName('transform.0'), out: e, in: prefixTokenDim(m) },
    { name: encoderName('transform.2'), out: prefixWidth(m), in: e },
  ];
}

type PrefixSource = { kind: 'fixed' } | { kind: 'embedding' } | { kind: 'projection'; encoderHidden: number };

/**
 * P [n, 2L*kv*hd] into the decoder's per-layer prefixes [1, kv, n, hd]. P is a fed input (inference
 * with fixed P: `prompt_embeddings`), the trainable embedding itself, or the projection MLP's
 * output. Generation graphs take the prefix as their initial cache, so they get nothing here.
 */
export class PrefixGraphSpec implements AdapterGraphSpec {
  readonly key: string;
  constructor(
    readonly tokens: number,
    readonly source: PrefixSource,
  ) {
    this.key = JSON.stringify({ prefix: tokens, source });
  }

  build(g: Graph, cfg: LlamaConfig, mode: GraphMode): AdapterGraph {
    const trainable = new Map<string, Tensor>();
    if (mode === 'generate') return { trainable };
    const n = this.tokens;
    let p: Tensor;
    if (this.source.kind === 'fixed') p = g.input(PROMPT_EMBEDDINGS, 'float32', [n, prefixWidth(cfg)]);
    else if (this.source.kind === 'embedding') {
      p = g.input(EMBEDDING, 'float32', [n, prefixWidth(cfg)]);
      trainable.set(EMBEDDING, p);
    } else {
      const emb = g.input(EMBEDDING, 'float32', [n, prefixTokenDim(cfg)]);
      trainable.set(EMBEDDING, emb);
      p = mlpGraph(g, emb, projectionLayers(cfg, this.source.encoderHidden), 'tanh', trainable);
    }
    const L = cfg.num_hidden_layers;
    const slots = g.transpose(g.reshape(p, [n, 2 * L, cfg.num_key_value_heads, cfg.head_dim]), [1, 2, 0, 3]); // [2L, kv, n, hd]
    const prefix = Array.from({ length: L }, (_, l) => ({
      key: g.slice(slots, 0, 2 * l, 2 * l + 1),
      value: g.slice(slots, 0, 2 * l + 1, 2 * l + 2),
    }));
    return { trainable, prefix };
  }
}

/** Layer l's key and value [kv, n, hd] out of P [n, 2L*kv*hd]. */
export function prefixLayers(m: LlamaConfig, p: Float32Array, n: number): { key: Float32Array; value: Float32Array }[] {
  const { num_key_value_heads: kv, head_dim: hd } = m;
  const width = prefixWidth(m);
  const slot = (s: number): Float32Array => {
    const out = new Float32Array(kv * n * hd);
    for (let h = 0; h < kv; h++)
      for (let j = 0; j < n; j++) for (let d = 0; d < hd; d++) out[(h * n + j) * hd + d] = p[j * width + (s * kv + h) * hd + d]!;
    return out;
  };
  return Array.from({ length: m.num_hidden_layers }, (_, l) => ({ key: slot(2 * l), value: slot(2 * l + 1) }));
}

export class PrefixTuningAdapter extends PromptLearningAdapter implements Adapter {
  readonly method = 'prefix' as const;

  private constructor(
    model: LlamaConfig,
    readonly config: PrefixTuningConfig,
    tensors: Map<string, Float32Array>,
    /** Loaded from a file: the tensors are P itself, whatever trained it. */
    private readonly loaded = false,
  ) {
    super(model, tensors, 'prefix tuning');
  }

  protected get virtualTokens(): number {
    return this.config.numVirtualTokens;
  }

  /** PEFT's init: the embedding from N(0, 1) (torch.nn.Embedding), the projection's Linears as torch.nn.Linear. */
  static init(model: LlamaConfig, config: PrefixTuningConfig, seed: number): PrefixTuningAdapter {
    const n = checkVirtualTokens(config.numVirtualTokens, 'prefix tuning');
    const e = config.projection ? checkEncoderHidden(config.encoderHiddenSize, 'prefix tuning') : config.encoderHiddenSize;
    const rng = new Rng(seed);
    const tensors = new Map<string, Float32Array>();
    const width = config.projection ? prefixTokenDim(model) : prefixWidth(model);
    tensors.set(EMBEDDING, rng.fillNormal(new Float32Array(n * width), 1));
    if (config.projection) for (const l of projectionLayers(model, e)) initLinear(tensors, l, rng);
    return new PrefixTuningAdapter(model, { numVirtualTokens: n, projection: config.projection, encoderHiddenSize: e }, tensors);
  }

  private get projects(): boolean {
    return this.config.projection && !this.loaded;
  }

  protected shapes(): Map<string, number[]> {
    const n = this.config.numVirtualTokens;
    if (!this.projects) return new Map([[EMBEDDING, [n, prefixWidth(this.model)]]]);
    const out = new Map<string, number[]>([[EMBEDDING, [n, prefixTokenDim(this.model)]]]);
    for (const l of projectionLayers(this.model, this.config.encoderHiddenSize)) for (const [k, s] of linearShapes(l)) out.set(k, s);
    return out;
  }

  get graphSpec(): PrefixGraphSpec {
    const source: PrefixSource = this.projects
      ? { kind: 'projection', encoderHidden: this.config.encoderHiddenSize }
      : { kind: 'embedding' };
    return new PrefixGraphSpec(this.config.numVirtualTokens, source);
  }

  /** P [n, 2L*kv*hd]: the embedding, or the projection's output. */
  promptEmbeddings(): Float32Array {
    const emb = this.tensors.get(EMBEDDING)!;
    if (!this.projects) return emb;
    return mlpHost(emb, this.config.numVirtualTokens, projectionLayers(this.model, this.config.encoderHiddenSize), 'tanh', this.tensors);
  }

  inference(): AdapterFeeds {
    const n = this.config.numVirtualTokens;
    const p = this.promptEmbeddings();
    const feeds: Feeds = { [PROMPT_EMBEDDINGS]: { dtype: 'float32', dims: [n, prefixWidth(this.model)], data: p } };
    return { spec: new PrefixGraphSpec(n, { kind: 'fixed' }), feeds, prefix: { length: n, layers: prefixLayers(this.model, p, n) } };
  }

  peftConfigJson(baseModel = ''): Record<string, unknown> {
    const m = this.model;
    return {
      ...promptLearningJson('PREFIX_TUNING', m, this.config.numVirtualTokens, prefixTokenDim(m), m.num_key_value_heads, baseModel),
      prefix_projection: this.config.projection,
      encoder_hidden_size: this.config.encoderHiddenSize,
    };
  }

  async save(dir: string, baseModel = ''): Promise<void> {
    const shape: [number, number] = [this.config.numVirtualTokens, prefixWidth(this.model)];
    await savePromptEmbeddings(dir, this.promptEmbeddings(), shape, this.peftConfigJson(baseModel));
  }

  static async load(dir: string, model: LlamaConfig, json?: AdapterConfigJson): Promise<PrefixTuningAdapter> {
    const c = json ?? (await AdapterConfigJson.read(dir));
    const n = c.promptLearning('PREFIX_TUNING', model, prefixTokenDim(model), model.num_key_value_heads);
    const projection = c.bool('prefix_projection', false);
    const e = c.int('encoder_hidden_size', model.hidden_size, (v) => v >= 1, 'a positive integer');
    const p = await loadPromptEmbeddings(dir, [n, prefixWidth(model)]);
    return new PrefixTuningAdapter(model, { numVirtualTokens: n, projection, encoderHiddenSize: e }, new Map([[EMBEDDING, p]]), true);
  }
}
