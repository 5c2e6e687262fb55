import type { Graph, Tensor } from '../engine/graph.js';
import { Rng } from '../engine/rng.js';
import type { LlamaConfig } from '../model/config.js';
import type { AdapterGraph, AdapterGraphSpec, GraphMode } from '../model/graphs.js';
import type { AdapterFeeds } from '../model/model.js';
import type { Adapter } from './adapter.js';
import {
  checkEncoderHidden,
  checkVirtualTokens,
  encoderName,
  initLinear,
  linearShapes,
  mlpGraph,
  mlpHost,
  PromptLearningAdapter,
  promptLearningJson,
  savePromptEmbeddings,
  type LinearShape,
} from './prompt-learning.js';
import { virtualTokensInference } from './prompt-tuning.js';

export interface PTuningConfig {
  numVirtualTokens: number;
  /** encoder_hidden_size (PEFT's default is the model's hidden size). */
  encoderHiddenSize: number;
}

const EMBEDDING = encoderName('embedding.weight');

function encoderLayers(model: LlamaConfig, e: number): LinearShape[] {
  const H = model.hidden_size;
  return [
    { name: encoderName('mlp_head.0'), out: e, in: H },
    { name: encoderName('mlp_head.2'), out: e, in: e },
    { name: encoderName('mlp_head.4'), out: H, in: e },
  ];
}

/** Training graph layout: the encoder MLP on the embedding gives the virtual tokens. */
export class PromptEncoderGraphSpec implements AdapterGraphSpec {
  readonly key: string;
  constructor(
    readonly tokens: number,
    readonly encoderHidden: number,
  ) {
    this.key = JSON.stringify({ ptuning: tokens, encoderHidden });
  }

  build(g: Graph, cfg: LlamaConfig, mode: GraphMode): AdapterGraph {
    if (mode === 'generate') throw new Error('P-tuning generates with its encoder output (inference()), not its encoder');
    const trainable = new Map<string, Tensor>();
    const emb = g.input(EMBEDDING, 'float32', [this.tokens, cfg.hidden_size]);
    trainable.set(EMBEDDING, emb);
    const virtualTokens = mlpGraph(g, emb, encoderLayers(cfg, this.encoderHidden), 'relu', trainable);
    return { trainable, virtualTokens };
  }
}

export class PTuningAdapter extends PromptLearningAdapter implements Adapter {
  readonly method = 'ptuning' as const;

  private constructor(
    model: LlamaConfig,
    readonly config: PTuningConfig,
    tensors: Map<string, Float32Array>,
  ) {
    super(model, tensors, 'P-tuning');
  }

  protected get virtualTokens(): number {
    return this.config.numVirtualTokens;
  }

  /** PEFT's init: the embedding from N(0, 1) (torch.nn.Embedding), each Linear as torch.nn.Linear. */
  static init(model: LlamaConfig, config: PTuningConfig, seed: number): PTuningAdapter {
    const n = checkVirtualTokens(config.numVirtualTokens, 'P-tuning');
    const e = checkEncoderHidden(config.encoderHiddenSize, 'P-tuning');
    const rng = new Rng(seed);
    const tensors = new Map<string, Float32Array>();
    tensors.set(EMBEDDING, rng.fillNormal(new Float32Array(n * model.hidden_size), 1));
    for (const l of encoderLayers(model, e)) initLinear(tensors, l, rng);
    return new PTuningAdapter(model, { numVirtualTokens: n, encoderHiddenSize: e }, tensors);
  }

  protected shapes(): Map<string, number[]> {
    const out = new Map<string, number[]>([[EMBEDDING, [this.config.numVirtualTokens, this.model.hidden_size]]]);
    for (const l of encoderLayers(this.model, this.config.encoderHiddenSize)) for (const [k, s] of linearShapes(l)) out.set(k, s);
    return out;
  }

  get graphSpec(): PromptEncoderGraphSpec {
    return new PromptEncoderGraphSpec(this.config.numVirtualTokens, this.config.encoderHiddenSize);
  }

  /** The encoder's output [n, hidden]: the virtual tokens inference uses and the file holds. */
  promptEmbeddings(): Float32Array {
    const layers = encoderLayers(this.model, this.config.encoderHiddenSize);
    return mlpHost(this.tensors.get(EMBEDDING)!, this.config.numVirtualTokens, layers, 'relu', this.tensors);
  }

  inference(): AdapterFeeds {
    return virtualTokensInference(this.model, this.promptEmbeddings(), this.config.numVirtualTokens);
  }

  peftConfigJson(baseModel = ''): Record<string, unknown> {
    const m = this.model;
    return {
      ...promptLearningJson('P_TUNING', m, this.config.numVirtualTokens, m.hidden_size, m.num_attention_heads, baseModel),
      encoder_reparameterization_type: 'MLP',
      encoder_hidden_size: this.config.encoderHiddenSize,
      encoder_num_layers: 2,
      encoder_dropout: 0,
    };
  }

  async save(dir: string, baseModel = ''): Promise<void> {
    const shape: [number, number] = [this.config.numVirtualTokens, this.model.hidden_size];
    await savePromptEmbeddings(dir, this.promptEmbeddings(), shape, this.peftConfigJson(baseModel));
  }
}
