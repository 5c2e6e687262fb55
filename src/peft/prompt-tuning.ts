// Prompt tuning (PEFT PROMPT_TUNING): n trainable virtual-token embeddings [n, hidden] put ahead
// of every sequence's token embeddings. The decoder numbers them 0..n-1 and the prompt from n; no
// loss is taken on them; in generation they enter the KV cache at prefill. Init as PEFT: RANDOM
// (torch.nn.Embedding's N(0, 1)) or SAMPLE_VOCAB (rows of the base's embedding table for random
// token ids). Saved as one tensor, prompt_embeddings [n, hidden].
import type { Feeds } from '../engine/engine.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { previewJson } from '../engine/json.js';
import { Rng } from '../engine/rng.js';
import type { LlamaConfig } from '../model/config.js';
import type { AdapterGraph, AdapterGraphSpec, GraphMode } from '../model/graphs.js';
import type { AdapterFeeds } from '../model/model.js';
import { PeftConfigError, type Adapter } from './adapter.js';
import {
  AdapterConfigJson,
  PROMPT_EMBEDDINGS,
  checkVirtualTokens,
  loadPromptEmbeddings,
  PromptLearningAdapter,
  promptLearningJson,
  savePromptEmbeddings,
  type PromptPeftType,
} from './prompt-learning.js';

export const PROMPT_INITS = ['random', 'vocab'] as const;
export type PromptInit = (typeof PROMPT_INITS)[number];
const PEFT_INIT: Record<PromptInit, string> = { random: 'RANDOM', vocab: 'SAMPLE_VOCAB' };

export interface PromptTuningConfig {
  numVirtualTokens: number;
  init: PromptInit;
}

/**
 * Virtual tokens fed as the graph input `name` [n, hidden] (trainable in training graphs). In
 * generation their count is a symbolic 'v', so decoding steps after prefill feed 0 rows.
 */
export class VirtualTokensGraphSpec implements AdapterGraphSpec {
  readonly key: string;
  constructor(
    readonly tokens: number,
    readonly name = PROMPT_EMBEDDINGS,
  ) {
    this.key = JSON.stringify({ virtual: tokens, name });
  }

  build(g: Graph, cfg: LlamaConfig, mode: GraphMode): AdapterGraph {
    const virtualTokens = g.input(this.name, 'float32', [mode === 'generate' ? 'v' : this.tokens, cfg.hidden_size]);
    return { trainable: new Map<string, Tensor>([[this.name, virtualTokens]]), virtualTokens };
  }
}

/** What inference lays over the base for fixed virtual-token embeddings [n, hidden]. */
export function virtualTokensInference(cfg: LlamaConfig, embeddings: Float32Array, tokens: number): AdapterFeeds {
  const feeds: Feeds = { [PROMPT_EMBEDDINGS]: { dtype: 'float32', dims: [tokens, cfg.hidden_size], data: embeddings } };
  return { spec: new VirtualTokensGraphSpec(tokens), feeds, virtual: { feed: PROMPT_EMBEDDINGS, tokens } };
}

export class PromptTuningAdapter extends PromptLearningAdapter implements Adapter {
  readonly method = 'prompt' as const;

  private constructor(
    model: LlamaConfig,
    readonly config: PromptTuningConfig,
    tensors: Map<string, Float32Array>,
    /** The PEFT type it was loaded as: a loaded P-tuning adapter is its encoder's output, prompt embeddings. */
    private readonly savedAs: { peftType: PromptPeftType; json: Record<string, unknown> } | undefined = undefined,
  ) {
    super(model, tensors, 'prompt tuning');
  }

  protected get virtualTokens(): number {
    return this.config.numVirtualTokens;
  }

  /** `embeddings`: the base's embed_tokens [vocab, hidden], needed by init 'vocab'. */
  static init(model: LlamaConfig, config: PromptTuningConfig, seed: number, embeddings?: Float32Array): PromptTuningAdapter {
    const n = checkVirtualTokens(config.numVirtualTokens, 'prompt tuning');
    if (!PROMPT_INITS.includes(config.init))
      throw new PeftConfigError(`prompt tuning: init must be one of ${PROMPT_INITS.join(', ')}, got ${previewJson(config.init)}`);
    const H = model.hidden_size;
    const rng = new Rng(seed);
    const data = new Float32Array(n * H);
    if (config.init === 'random') rng.fillNormal(data, 1);
    else {
      if (!embeddings || embeddings.length !== model.vocab_size * H)
        throw new Error("prompt tuning: init 'vocab' needs the base's embed_tokens");
      for (let i = 0; i < n; i++) {
        const tok = rng.int(model.vocab_size);
        data.set(embeddings.subarray(tok * H, (tok + 1) * H), i * H);
      }
    }
    return new PromptTuningAdapter(model, { numVirtualTokens: n, init: config.init }, new Map([[PROMPT_EMBEDDINGS, data]]));
  }

  get embeddings(): Float32Array {
    return this.tensors.get(PROMPT_EMBEDDINGS)!;
  }

  protected shapes(): Map<string, number[]> {
    return new Map([[PROMPT_EMBEDDINGS, [this.config.numVirtualTokens, this.model.hidden_size]]]);
  }

  get graphSpec(): VirtualTokensGraphSpec {
    return new VirtualTokensGraphSpec(this.config.numVirtualTokens);
  }

  inference(): AdapterFeeds {
    return virtualTokensInference(this.model, this.embeddings, this.config.numVirtualTokens);
  }

  peftConfigJson(baseModel = ''): Record<string, unknown> {
    if (this.savedAs) return { ...this.savedAs.json, base_model_name_or_path: this.savedAs.json.base_model_name_or_path ?? baseModel };
    const H = this.model.hidden_size;
    return {
      ...promptLearningJson('PROMPT_TUNING', this.model, this.config.numVirtualTokens, H, this.model.num_attention_heads, baseModel),
      prompt_tuning_init: PEFT_INIT[this.config.init],
      prompt_tuning_init_text: null,
      tokenizer_name_or_path: null,
      tokenizer_kwargs: null,
    };
  }

  async save(dir: string, baseModel = ''): Promise<void> {
    const shape: [number, number] = [this.config.numVirtualTokens, this.model.hidden_size];
    await savePromptEmbeddings(dir, this.embeddings, shape, this.peftConfigJson(baseModel));
  }

  /**
   * Reads a PROMPT_TUNING adapter directory — or a P_TUNING one, whose file holds the encoder's
   * output (PEFT saves no encoder), as prompt embeddings to infer with.
   */
  static async load(dir: string, model: LlamaConfig, json?: AdapterConfigJson): Promise<PromptTuningAdapter> {
    const c = json ?? (await AdapterConfigJson.read(dir));
    const peftType: PromptPeftType = c.json.peft_type === 'P_TUNING' ? 'P_TUNING' : 'PROMPT_TUNING';
    const n = c.promptLearning(peftType, model, model.hidden_size, model.num_attention_heads);
    if (
      peftType === 'PROMPT_TUNING' &&
      c.has('prompt_tuning_init') &&
      !['RANDOM', 'SAMPLE_VOCAB', 'TEXT'].includes(c.json.prompt_tuning_init as string)
    )
      c.fail(`'prompt_tuning_init' is ${previewJson(c.json.prompt_tuning_init)}; expected "RANDOM", "SAMPLE_VOCAB" or "TEXT"`);
    const data = await loadPromptEmbeddings(dir, [n, model.hidden_size]);
    const init: PromptInit = c.json.prompt_tuning_init === 'SAMPLE_VOCAB' ? 'vocab' : 'random';
    return new PromptTuningAdapter(
      model,
      { numVirtualTokens: n, init },
      new Map([[PROMPT_EMBEDDINGS, data]]),
      peftType === 'P_TUNING' ? { peftType, json: c.json } : undefined,
    );
  }
}
