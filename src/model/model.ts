// A LLaMA model at run time: config + one frozen weight set in the engine worker, and the
// operations the rest of fedhpo needs (loss on batches, training step, logits, generation).
// Adapters are per-call feeds, so any number of clients/trials share one base.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transferred, type Engine, type Feeds, type HostTensor, type RunFeeds } from '../engine/engine.js';
import type { ExportedModel } from '../engine/onnx.js';
import type { CostMeter } from '../eval/costs.js';
import { Rng } from '../engine/rng.js';
import type { Batch } from '../data/batching.js';
import { makeBatches } from '../data/batching.js';
import { expectedTensorShapes, llamaConfigToJson, loadLlamaConfig, type LlamaConfig } from './config.js';
import { evalGraph, generationGraph, gradName, pastName, presentName, trainingGraph, type Trainable } from './graphs.js';
import type { LoraGraphSpec } from './llama.js';
import { CheckpointError, loadSafetensorsFile, saveSafetensorsFile, type WriteDType } from './safetensors.js';

/**
 * What a call lays over the base weights: a LoRA adapter (its graph layout + tensors), or, without
 * a spec, replacement base weights (full-parameter training evaluates its current weights so).
 */
export interface AdapterFeeds {
  spec?: LoraGraphSpec | undefined;
  feeds: Feeds;
}

export interface GenerateOptions {
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

/** HF-style random init: N(0, 0.02) for matrices, ones for RMSNorm weights. */
export function initWeights(cfg: LlamaConfig, seed: number, std = 0.02): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensorShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) data.fill(1);
    else rng.fillNormal(data, std);
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

/** Read config.json + model.safetensors and check every tensor against the config. */
export async function loadCheckpoint(dir: string): Promise<{ cfg: LlamaConfig; weights: Map<string, Float32Array> }> {
  const cfg = await loadLlamaConfig(dir);
  const file = join(dir, 'model.safetensors');
  const { tensors } = await loadSafetensorsFile(file);
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensorShapes(cfg)) {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`${file}: missing tensor '${name}' (config.json needs shape [${shape}])`);
    if (t.shape.join(',') !== shape.join(','))
      throw new CheckpointError(`${file}: tensor '${name}' has shape [${t.shape}] but config.json needs [${shape}]`);
    weights.set(name, t.data);
  }
  // transformers ignores rotary caches saved by old versions; anything else is a mismatch.
  const extra = [...tensors.keys()].filter((k) => !weights.has(k) && !k.endsWith('rotary_emb.inv_freq'));
  if (extra.length) throw new CheckpointError(`${file}: tensor '${extra[0]}' is not part of a LLaMA model with this config.json`);
  return { cfg, weights };
}

export class LlamaModel {
  /** When set, every graph run is metered (tokens, MatMul FLOPs). */
  meter: CostMeter | undefined;

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

  /** A copy of the base weights (read back from the engine). */
  async weights(): Promise<Map<string, Float32Array>> {
    const all = await this.engine.readWeights(this.weightSet);
    return new Map(Object.entries(all).map(([k, t]) => [k, t.data as Float32Array]));
  }

  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.cfg, await this.weights());
  }

  async dispose(): Promise<void> {
    await this.engine.dropWeights(this.weightSet);
  }

  /** Run one of this model's graphs on the base weight set, metering it. */
  private async run(
    graph: ExportedModel,
    feeds: RunFeeds,
    dims: { b: number; s: number; p?: number },
    stateful?: { stateId: string; carry: Record<string, string> },
  ): Promise<Feeds> {
    const out = await this.engine.run(graph, feeds, [this.weightSet], stateful ?? {});
    if (this.meter) {
      const loraA = Object.entries(feeds).find(([k]) => k.endsWith('lora_A.weight'));
      this.meter.record(graph, { ...dims, p: dims.p ?? 0, r: loraA ? loraA[1].dims[0]! : 0 }, dims.b * dims.s);
    }
    return out;
  }

  private batchFeeds(batch: Batch): Feeds {
    return { input_ids: i64(batch.inputIds, [batch.batch, batch.seq]), labels: i64(batch.labels, [batch.batch, batch.seq]) };
  }

  /** Summed loss over target tokens, their count, and the per-position loss [batch*seq]. */
  async loss(batch: Batch, adapter?: AdapterFeeds): Promise<{ lossSum: number; tokens: number; tokenLoss: Float32Array }> {
    const out = await this.run(
      evalGraph(this.cfg, adapter?.spec),
      { ...adapter?.feeds, ...this.batchFeeds(batch) },
      { b: batch.batch, s: batch.seq },
    );
    return {
      lossSum: out.loss_sum!.data[0] as number,
      tokens: out.tokens!.data[0] as number,
      tokenLoss: out.token_loss!.data as Float32Array,
    };
  }

  /**
   * One forward+backward: summed loss, target tokens and the gradient of the summed loss for each
   * trainable tensor. `params` feeds the trainable tensors ('all' overrides the base weights).
   */
  async gradients(
    trainable: Trainable,
    batch: Batch,
    params: RunFeeds,
    spec?: LoraGraphSpec,
  ): Promise<{ lossSum: number; tokens: number; grads: Map<string, Float32Array> }> {
    const graph = trainingGraph(this.cfg, trainable, spec);
    const out = await this.run(graph, { ...params, ...this.batchFeeds(batch) }, { b: batch.batch, s: batch.seq });
    const grads = new Map<string, Float32Array>();
    for (const p of graph.params) grads.set(p, out[gradName(p)]!.data as Float32Array);
    return { lossSum: out.loss_sum!.data[0] as number, tokens: out.tokens!.data[0] as number, grads };
  }

  /** Mean next-token NLL over sequences of token ids (every position after the first is predicted). */
  async nll(sequences: number[][], options: { adapter?: AdapterFeeds; batchSize?: number } = {}): Promise<{ nll: number; tokens: number }> {
    const bs = options.batchSize ?? 8;
    let lossSum = 0;
    let tokens = 0;
    for (let i = 0; i < sequences.length; i += bs) {
      const r = await this.loss(lmBatch(sequences.slice(i, i + bs)), options.adapter);
      lossSum += r.lossSum;
      tokens += r.tokens;
    }
    if (tokens === 0) throw new Error('nll: no predicted positions (every sequence needs at least 2 tokens)');
    return { nll: lossSum / tokens, tokens };
  }

  /** Logits [len, vocab] for each sequence (one prefill pass of the generation graph). */
  async logits(sequences: number[][], adapter?: AdapterFeeds): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const seq of sequences) {
      const r = await this.run(
        generationGraph(this.cfg, adapter?.spec),
        { ...adapter?.feeds, ...this.prefillFeeds([seq]) },
        { b: 1, s: seq.length },
      );
      out.push(r.logits!.data as Float32Array);
    }
    return out;
  }

  private emptyPast(batch: number): Feeds {
    const feeds: Feeds = {};
    for (let l = 0; l < this.cfg.num_hidden_layers; l++)
      for (const kv of ['key', 'value'] as const)
        feeds[pastName(l, kv)] = {
          dtype: 'float32',
          dims: [batch, this.cfg.num_key_value_heads, 0, this.cfg.head_dim],
          data: new Float32Array(0),
        };
    return feeds;
  }

  /** Left-padded prompts: ids, attention mask and HF position ids (cumsum(mask) - 1), made to be transferred. */
  private prefillFeeds(prompts: number[][], padId = 0): Feeds {
    const b = prompts.length;
    const len = Math.max(...prompts.map((p) => p.length));
    const ids = new BigInt64Array(b * len).fill(BigInt(padId));
    const mask = new BigInt64Array(b * len);
    const pos = new BigInt64Array(b * len);
    prompts.forEach((p, r) => {
      const pad = len - p.length;
      p.forEach((tok, j) => {
        ids[r * len + pad + j] = BigInt(tok);
        mask[r * len + pad + j] = 1n;
        pos[r * len + pad + j] = BigInt(j);
      });
    });
    return {
      input_ids: transferred(i64(ids, [b, len])),
      position_ids: transferred(i64(pos, [b, len])),
      attention_mask: transferred(i64(mask, [b, len])),
      ...this.emptyPast(b),
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
    let feeds = this.prefillFeeds(prompts, o.padId ?? 0);
    let mask = Array.from(feeds.attention_mask!.data as BigInt64Array);
    let width = feeds.input_ids!.dims[1]!;
    const nextPos = prompts.map((p) => p.length);
    try {
      for (let step = 0; step < o.maxNewTokens && done.some((d) => !d); step++) {
        const dims = { b, s: feeds.input_ids!.dims[1]!, p: width - feeds.input_ids!.dims[1]! };
        const r = await this.run(graph, { ...o.adapter?.feeds, ...feeds }, dims, { stateId, carry });
        const logits = r.logits!.data as Float32Array;
        const s = r.logits!.dims[1]!;
        const next = new BigInt64Array(b);
        for (let row = 0; row < b; row++) {
          const off = (row * s + s - 1) * vocab;
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
