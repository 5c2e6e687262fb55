// A LLaMA model at run time: config + one frozen weight set in the engine worker, and the
// operations the rest of fedhpo needs (loss on batches, training step, logits, generation).
// Adapters are per-call feeds, so any number of clients/trials share one base.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transferred, type Engine, type Feeds, type HostTensor, type RunFeeds } from '../engine/engine.js';

import type { CostMeter } from '../engine/costs.js';
import type { ExportedModel } from '../engine/onnx.js';
import { Rng } from '../engine/rng.js';
import type { Batch } from '../data/batching.js';
import { makeBatches } from '../data/batching.js';
import {
  biasedProjections,
  ConfigError,
  expectedTensorShapes,
  llamaConfigToJson,
  loadLlamaConfig,
  parameterCount,
  type LlamaConfig,
} from './config.js';
import {
  activationMemoryFor,
  evalGraph,
  evalMemoryFor,
  generationGraph,
  gradName,
  pastName,
  presentName,
  trainingGraph,
  type ActivationMemory,
  type AdapterGraphSpec,
  type Trainable,
} from './graphs.js';
import {
  CheckpointError,
  loadSafetensorsFile,
  quote,
  saveSafetensorsFile,
  shapeText,
  type SafetensorsDType,
  type SafetensorsHeader,
  type WriteDType,
} from './safetensors.js';

/**
 * What a call lays over the base weights: an adapter (its graph layout + tensors), or, without a
 * spec, replacement base weights (full-parameter training evaluates its current weights so).
 */
export interface AdapterFeeds {
  spec?: AdapterGraphSpec | undefined;
  feeds: Feeds;
  /**
   * Virtual tokens ahead of every sequence in generation (prompt tuning): the feed holding them
   * [v, hidden] (fed with 0 rows once they are in the cache) and v. The adapter's positions
   * 0..v-1 come first, as PEFT extends the attention mask with ones.
   */
  virtual?: { feed: string; tokens: number };
  /** A key/value prefix every query attends to (prefix tuning): per layer [kv, n, hd], the initial cache of generation. */
  prefix?: { length: number; layers: { key: Float32Array; value: Float32Array }[] };
}

/** Per-call options every operation takes: the meter its graph runs are counted in, if any. */
export interface Metered {
  /**
   * Counts this call's tokens and MatMul FLOPs. Per call, not per model, so that concurrent clients
   * sharing one base model each meter only their own work.
   */
  meter?: CostMeter | undefined;
}

export interface GenerateOptions extends Metered {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  eosId?: number;
  padId?: number;
  seed?: number;
  adapter?: AdapterFeeds;
}

let weightSetCounter = 0;

const i64 = (data: BigInt64Array, dims: number[]): HostTensor => ({ dtype: 'int64', dims, data });

/**
 * Largest model initWeights creates: 2^30 parameters (4 GiB as float32, written as a 4 GiB
 * checkpoint), 100x the shipped base model; a bigger random model is a mistake here, not a plan.
 */
export const MAX_INIT_PARAMS = 2 ** 30;

/** HF-style random init: N(0, std) for matrices, ones for RMSNorm weights, zeros for biases (nn.Linear's HF init). */
export function initWeights(cfg: LlamaConfig, seed: number, std = 0.02, maxParams = MAX_INIT_PARAMS): Map<string, Float32Array> {
  const params = parameterCount(cfg);
  if (params > maxParams) {
    throw new ConfigError(
      `a model of ${params} parameters (${cfg.num_hidden_layers} layers, hidden_size ${cfg.hidden_size}, vocab_size ${cfg.vocab_size}) ` +
        `is over the limit of ${maxParams} for a freshly initialised model`,
    );
  }
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensorShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) rng.fillNormal(data, std);
    out.set(name, data);
  }
  return out;
}

/** Write config.json + model.safetensors (F16 halves the file; compute stays float32). */
export async function saveCheckpoint(
  dir: string,
  cfg: LlamaConfig,
  weights: Map<string, Float32Array>,
  dtype: WriteDType = 'F32',
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const shapes = expectedTensorShapes(cfg);
  const tensors = new Map([...weights].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }]));
  await saveSafetensorsFile(join(dir, 'model.safetensors'), tensors, { format: 'pt' }, dtype);
  const json = { ...llamaConfigToJson(cfg), torch_dtype: dtype === 'F16' ? 'float16' : 'float32' };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * Read config.json + model.safetensors. The checkpoint's header is checked against the config
 * (every tensor present with its shape and a float dtype, nothing extra) before any weight is read,
 * and every weight must be finite.
 */
export async function loadCheckpoint(dir: string): Promise<{ cfg: LlamaConfig; weights: Map<string, Float32Array> }> {
  const cfg = await loadLlamaConfig(dir);
  const file = join(dir, 'model.safetensors');
  const { tensors } = await loadSafetensorsFile(file, {
    checkHeader: (header) => checkCheckpointHeader(file, cfg, header),
    requireFinite: true,
  });
  const weights = new Map<string, Float32Array>();
  for (const name of expectedTensorShapes(cfg).keys()) weights.set(name, tensors.get(name)!.data);
  return { cfg, weights };
}

/** Weights are stored as floats; an integer tensor where a weight belongs is a different file. */
const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64'];

/** Throws a CheckpointError naming `file` and the first tensor that disagrees with config.json. */
export function checkCheckpointHeader(file: string, cfg: LlamaConfig, header: SafetensorsHeader): void {
  const expected = expectedTensorShapes(cfg);
  for (const [name, shape] of expected) {
    const e = header.entries.get(name);
    if (!e)
      throw new CheckpointError(`${file}: missing tensor '${name}' (config.json needs shape [${shape}])${layerHint(cfg, header, name)}`);
    if (e.shape.join(',') !== shape.join(','))
      throw new CheckpointError(`${file}: tensor '${name}' has shape ${shapeText(e.shape)} but config.json needs [${shape}]`);
    if (!FLOAT_DTYPES.includes(e.dtype))
      throw new CheckpointError(`${file}: tensor '${name}' has dtype ${e.dtype}; weights must be ${FLOAT_DTYPES.join(', ')}`);
  }
  // transformers ignores rotary caches saved by old versions; anything else is a mismatch.
  for (const name of header.entries.keys())
    if (!expected.has(name) && !name.endsWith('rotary_emb.inv_freq'))
      throw new CheckpointError(
        `${file}: tensor ${quote(name)} is not part of a ${cfg.model_type} model with this config.json${biasHint(cfg, name)}`,
      );
}

/** For an unexpected bias: which biases the config does give (a LLaMA checkpoint with biases needs attention_bias / mlp_bias). */
function biasHint(cfg: LlamaConfig, name: string): string {
  if (!name.endsWith('.bias')) return '';
  const biased = biasedProjections(cfg);
  const has = biased.length ? `has biases only on ${biased.join(', ')}` : 'has no biases';
  const flags = cfg.model_type === 'llama' ? ` with attention_bias ${cfg.attention_bias}, mlp_bias ${cfg.mlp_bias}` : '';
  return `; config.json's model_type "${cfg.model_type}"${flags} ${has}`;
}

/** When a missing tensor is a layer's, say how many layers the checkpoint has (num_hidden_layers too big?). */
function layerHint(cfg: LlamaConfig, header: SafetensorsHeader, missing: string): string {
  if (!/^model\.layers\.\d+\./.test(missing)) return '';
  const layers = new Set<string>();
  for (const name of header.entries.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layers.add(m[1]!);
  }
  return `; config.json has num_hidden_layers ${cfg.num_hidden_layers}, the checkpoint holds ${layers.size} layers`;
}

export class LlamaModel {
  /**
   * How training steps and losses spend memory: 'auto' (the default) trains lean when the kept
   * activations of a batch would pass LEAN_ABOVE_BYTES, and evaluates with the vocabulary-chunked
   * loss when its logits would pass CHUNKED_EVAL_LOSS_ABOVE_BYTES (see graphs.ts ActivationMemory).
   */
  activationMemory: ActivationMemory | 'auto' = 'auto';

  private constructor(
    readonly cfg: LlamaConfig,
    readonly engine: Engine,
    /** The engine weight set holding the frozen base. */
    readonly weightSet: string,
  ) {}

  /**
   * Hand weights to the engine; the arrays are transferred (emptied) so one copy exists. `reload`
   * gives them again should the engine have to restart its worker (without it the model fails then).
   */
  static async fromWeights(
    engine: Engine,
    cfg: LlamaConfig,
    weights: Map<string, Float32Array>,
    reload?: () => Promise<Map<string, Float32Array>>,
  ): Promise<LlamaModel> {
    const shapes = expectedTensorShapes(cfg);
    const feedsOf = (w: Map<string, Float32Array>): Feeds =>
      Object.fromEntries([...w].map(([name, data]) => [name, { dtype: 'float32', dims: shapes.get(name)!, data }]));
    const id = `base#${++weightSetCounter}`;
    await engine.setWeights(id, feedsOf(weights), { transfer: true, reload: reload && (async () => feedsOf(await reload())) });
    return new LlamaModel(cfg, engine, id);
  }

  static async load(dir: string, engine: Engine): Promise<LlamaModel> {
    const { cfg, weights } = await loadCheckpoint(dir);
    return LlamaModel.fromWeights(engine, cfg, weights, async () => (await loadCheckpoint(dir)).weights);
  }

  /** A copy of the base weights (read back from the engine); only `names` when given. */
  async weights(names?: string[]): Promise<Map<string, Float32Array>> {
    const all = await this.engine.readWeights(this.weightSet, names);
    return new Map(Object.entries(all).map(([k, t]) => [k, t.data as Float32Array]));
  }

  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.cfg, await this.weights());
  }

  async dispose(): Promise<void> {
    await this.engine.dropWeights(this.weightSet);
  }

  /** Run one of this model's graphs on the base weight set, metering it into the call's meter. */
  private async run(
    graph: ExportedModel,
    feeds: RunFeeds,
    dims: { b: number; s: number; p?: number; v?: number },
    meter: CostMeter | undefined,
    stateful?: { stateId: string; carry: Record<string, string> },
  ): Promise<Feeds> {
    const out = await this.engine.run(graph, feeds, [this.weightSet], stateful ?? {});
    if (meter) {
      const loraA = Object.entries(feeds).find(([k]) => k.endsWith('lora_A.weight'));
      meter.record(graph, { ...dims, p: dims.p ?? 0, v: dims.v ?? 0, r: loraA ? loraA[1].dims[0]! : 0 }, dims.b * dims.s);
    }
    return out;
  }

  private batchFeeds(batch: Batch): Feeds {
    return { input_ids: i64(batch.inputIds, [batch.batch, batch.seq]), labels: i64(batch.labels, [batch.batch, batch.seq]) };
  }

  /** Summed loss over target tokens, their count, and the per-position loss [batch*seq]. */
  async loss(batch: Batch, adapter?: AdapterFeeds, o: Metered = {}): Promise<{ lossSum: number; tokens: number; tokenLoss: Float32Array }> {
    const out = await this.run(
      evalGraph(
        this.cfg,
        adapter?.spec,
        this.activationMemory === 'auto' ? evalMemoryFor(this.cfg, batch.batch, batch.seq) : this.activationMemory,
      ),
      { ...adapter?.feeds, ...this.batchFeeds(batch) },
      { b: batch.batch, s: batch.seq },
      o.meter,
    );
    return {
      lossSum: out.loss_sum!.data[0] as number,
      tokens: out.tokens!.data[0] as number,
      tokenLoss: out.token_loss!.data as Float32Array,
    };
  }

  /**
   * Mean loss over the target tokens of a set of batches (NaN when they hold no target token):
   * the one loop that sums losses over batches, for validation, evaluation and NLL alike.
   */
  async meanLoss(batches: Iterable<Batch>, adapter?: AdapterFeeds, o: Metered = {}): Promise<{ loss: number; tokens: number }> {
    let lossSum = 0;
    let tokens = 0;
    for (const b of batches) {
      const r = await this.loss(b, adapter, o);
      lossSum += r.lossSum;
      tokens += r.tokens;
    }
    return { loss: tokens ? lossSum / tokens : NaN, tokens };
  }

  /**
   * One forward+backward: summed loss, target tokens and the gradient of the summed loss for each
   * trainable tensor. `params` feeds the trainable tensors ('all' overrides the base weights).
   */
  async gradients(
    trainable: Trainable,
    batch: Batch,
    params: RunFeeds,
    spec?: AdapterGraphSpec,
    o: Metered = {},
  ): Promise<{ lossSum: number; tokens: number; grads: Map<string, Float32Array> }> {
    const memory = this.activationMemory === 'auto' ? activationMemoryFor(this.cfg, batch.batch, batch.seq) : this.activationMemory;
    const graph = trainingGraph(this.cfg, trainable, spec, memory);
    const out = await this.run(graph, { ...params, ...this.batchFeeds(batch) }, { b: batch.batch, s: batch.seq }, o.meter);
    const grads = new Map<string, Float32Array>();
    for (const p of graph.params) grads.set(p, out[gradName(p)]!.data as Float32Array);
    return { lossSum: out.loss_sum!.data[0] as number, tokens: out.tokens!.data[0] as number, grads };
  }

  /** Mean next-token NLL over sequences of token ids (every position after the first is predicted). */
  async nll(
    sequences: number[][],
    options: Metered & { adapter?: AdapterFeeds; batchSize?: number } = {},
  ): Promise<{ nll: number; tokens: number }> {
    const bs = options.batchSize ?? 8;
    const batches = function* () {
      for (let i = 0; i < sequences.length; i += bs) yield lmBatch(sequences.slice(i, i + bs));
    };
    const { loss, tokens } = await this.meanLoss(batches(), options.adapter, options);
    if (tokens === 0) throw new Error('nll: no predicted positions (every sequence needs at least 2 tokens)');
    return { nll: loss, tokens };
  }

  /** Logits [len, vocab] for each sequence (one prefill pass of the generation graph). */
  async logits(sequences: number[][], adapter?: AdapterFeeds, o: Metered = {}): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const v = adapter?.virtual?.tokens ?? 0;
    for (const seq of sequences) {
      const r = await this.run(
        generationGraph(this.cfg, adapter?.spec),
        { ...adapter?.feeds, ...this.prefillFeeds([seq], 0, adapter) },
        { b: 1, s: seq.length, p: adapter?.prefix?.length ?? 0, v },
        o.meter,
      );
      // Virtual tokens' own logits come first: drop them.
      out.push((r.logits!.data as Float32Array).slice(v * this.cfg.vocab_size));
    }
    return out;
  }

  /** The initial cache: empty, or an adapter's key/value prefix [kv, n, hd] per layer repeated over the batch. */
  private initialPast(batch: number, prefix?: AdapterFeeds['prefix']): Feeds {
    const { num_key_value_heads: kv, head_dim: hd } = this.cfg;
    const n = prefix?.length ?? 0;
    const feeds: Feeds = {};
    for (let l = 0; l < this.cfg.num_hidden_layers; l++)
      for (const kind of ['key', 'value'] as const) {
        const data = new Float32Array(batch * kv * n * hd);
        if (prefix) for (let b = 0; b < batch; b++) data.set(prefix.layers[l]![kind], b * kv * n * hd);
        feeds[pastName(l, kind)] = { dtype: 'float32', dims: [batch, kv, n, hd], data };
      }
    return feeds;
  }

  /**
   * Left-padded prompts: ids, attention mask and HF position ids (cumsum(mask) - 1), made to be
   * transferred. An adapter's virtual tokens or key/value prefix (length n) come before the padding
   * with mask 1, as PEFT extends the attention mask, so the prompt's positions start at n.
   */
  private prefillFeeds(prompts: number[][], padId = 0, adapter?: AdapterFeeds): Feeds {
    const b = prompts.length;
    const len = Math.max(...prompts.map((p) => p.length));
    const v = adapter?.virtual?.tokens ?? 0;
    const n = v || (adapter?.prefix?.length ?? 0);
    const ids = new BigInt64Array(b * len).fill(BigInt(padId));
    const width = n + len;
    const mask = new BigInt64Array(b * width);
    const posWidth = v + len; // virtual tokens are queries too; a prefix is only keys
    const pos = new BigInt64Array(b * posWidth);
    prompts.forEach((p, r) => {
      const pad = len - p.length;
      for (let j = 0; j < n; j++) mask[r * width + j] = 1n;
      for (let j = 0; j < v; j++) pos[r * posWidth + j] = BigInt(j);
      p.forEach((tok, j) => {
        ids[r * len + pad + j] = BigInt(tok);
        mask[r * width + n + pad + j] = 1n;
        pos[r * posWidth + v + pad + j] = BigInt(n + j);
      });
    });
    return {
      input_ids: transferred(i64(ids, [b, len])),
      position_ids: transferred(i64(pos, [b, posWidth])),
      attention_mask: transferred(i64(mask, [b, width])),
      ...this.initialPast(b, adapter?.prefix),
    };
  }

  /** Generate continuations (new tokens only, without the eos) with a KV cache kept in the worker. */
  async generate(prompts: number[][], o: GenerateOptions): Promise<number[][]> {
    if (prompts.some((p) => p.length === 0)) throw new Error('generate: prompts must not be empty');
    const graph = generationGraph(this.cfg, o.adapter?.spec);
    const stateId = `gen#${++weightSetCounter}`;
    const carry: Record<string, string> = {};
    for (let l = 0; l < this.cfg.num_hidden_layers; l++)
      for (const kv of ['key', 'value'] as const) carry[presentName(l, kv)] = pastName(l, kv);
    const rng = new Rng(o.seed ?? 0);
    const b = prompts.length;
    const vocab = this.cfg.vocab_size;
    const outputs: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(b).fill(false);
    let feeds = this.prefillFeeds(prompts, o.padId ?? 0, o.adapter);
    let mask = Array.from(feeds.attention_mask!.data as BigInt64Array);
    let width = feeds.attention_mask!.dims[1]!;
    const virtual = o.adapter?.virtual;
    const offset = virtual?.tokens ?? o.adapter?.prefix?.length ?? 0;
    const nextPos = prompts.map((p) => offset + p.length);
    // Never past the positions the model was built for (a huge maxNewTokens would grow the KV cache without end).
    const room = this.cfg.max_position_embeddings - Math.max(...nextPos);
    const steps = Math.min(o.maxNewTokens, Math.max(0, room));
    try {
      for (let step = 0; step < steps && done.some((d) => !d); step++) {
        const s = feeds.input_ids!.dims[1]!;
        const v = step === 0 ? (virtual?.tokens ?? 0) : 0;
        const dims = { b, s, p: width - s - v, v };
        const r = await this.run(graph, { ...o.adapter?.feeds, ...feeds }, dims, o.meter, { stateId, carry });
        const logits = r.logits!.data as Float32Array;
        const rows = r.logits!.dims[1]!;
        const next = new BigInt64Array(b);
        for (let row = 0; row < b; row++) {
          const off = (row * rows + rows - 1) * vocab;
          const tok = done[row] ? (o.padId ?? 0) : sampleToken(logits.subarray(off, off + vocab), o.temperature ?? 0, o.topP ?? 1, rng);
          next[row] = BigInt(tok);
          if (done[row]) continue;
          if (tok === o.eosId) done[row] = true;
          else outputs[row]!.push(tok);
        }
        mask = mask.flatMap((m, i) => ((i + 1) % width === 0 ? [m, 1n] : [m]));
        width += 1;
        feeds = {
          input_ids: transferred(i64(next, [b, 1])),
          position_ids: transferred(i64(BigInt64Array.from(nextPos.map((p) => BigInt(p))), [b, 1])),
          attention_mask: transferred(i64(BigInt64Array.from(mask), [b, width])),
          // The virtual tokens are in the cache now: none ahead of the next token.
          ...(virtual ? { [virtual.feed]: { dtype: 'float32', dims: [0, this.cfg.hidden_size], data: new Float32Array(0) } } : {}),
        };
        nextPos.forEach((p, i) => {
          nextPos[i] = p + 1;
        });
      }
    } finally {
      await this.engine.dropState(stateId);
    }
    return outputs;
  }
}

/** Pack token sequences into one LM batch: inputs seq[0..n-1], labels seq[1..n], right-padded. */
export function lmBatch(sequences: number[][], padId = 0): Batch {
  const encoded = sequences.map((ids) => ({ ids, labels: ids.slice(1) }));
  const seqLen = Math.max(1, ...sequences.map((s) => s.length - 1));
  return makeBatches(encoded, { batchSize: Math.max(1, sequences.length), seqLen, shuffle: false, padId })[0]!;
}

/** Greedy when temperature is 0; otherwise temperature softmax with nucleus (top-p) truncation. */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, rng: Rng): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature <= 0) return best;
  const max = logits[best]!;
  const probs = Array.from(logits, (l, i) => ({ i, p: Math.exp((l - max) / temperature) }));
  const total = probs.reduce((a, x) => a + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  let keep = 0;
  let mass = 0;
  while (keep < probs.length && mass < topP * total) mass += probs[keep++]!.p;
  let u = rng.next() * mass;
  for (let k = 0; k < keep; k++) {
    u -= probs[k]!.p;
    if (u <= 0) return probs[k]!.i;
  }
  return probs[keep - 1]!.i;
}
