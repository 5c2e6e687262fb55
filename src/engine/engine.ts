// Main-thread face of the engine: ORT sessions run in a worker thread (session.run is synchronous
// native work that would block the event loop), cached there by graph signature. Frozen weights are
// handed to the worker once as a named weight set and referenced by every run, so a base model
// exists once per engine however many graphs, sessions, clients and trials read it.
import { Worker } from 'node:worker_threads';
import { EngineError } from './errors.js';
import { transferList, uniqueBuffers, type Feeds, type RunFeeds } from './feeds.js';
import type { ExportedModel } from './onnx.js';

export { f32, i64, transferred, type DropoutMaskFeed, type Feeds, type HostData, type HostTensor, type RunFeeds } from './feeds.js';
export { EngineError };

type WorkerRequest =
  | { type: 'load'; signature: string; bytes: Uint8Array }
  | { type: 'weights'; setId: string; tensors: Feeds }
  | { type: 'read-weights'; setId: string; names?: string[] }
  | { type: 'drop-weights'; setId: string }
  | { type: 'release'; signature: string }
  | { type: 'drop-state'; stateId: string }
  | {
      type: 'run';
      signature: string;
      feeds: RunFeeds;
      weightSets: string[];
      fetch?: string[];
      /** Keep outputs in the worker under stateId, renamed to the inputs of the next run. */
      stateId?: string;
      carry?: Record<string, string>;
    };

export interface RunOptions {
  fetch?: string[];
  stateId?: string;
  carry?: Record<string, string>;
}

type WorkerResponse = { id: number; ok: true; result: Feeds | null } | { id: number; ok: false; error: string };

export interface EngineOptions {
  /** ORT intra-op threads of every session (default: 1). */
  threads?: number;
}

export class Engine {
  readonly threads: number;
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: Feeds | null) => void; reject: (e: Error) => void }>();
  private loaded = new Set<string>();
  private closed = false;

  constructor(options: EngineOptions = {}) {
    this.threads = options.threads ?? 1;
    this.worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: { threads: this.threads } });
    this.worker.on('message', (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new EngineError(msg.error));
    });
    const failAll = (err: Error): void => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => failAll(new EngineError(`engine worker crashed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) failAll(new EngineError(`engine worker exited with code ${code}`));
    });
    // An idle engine must not keep the process alive.
    this.worker.unref();
  }

  private call(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<Feeds | null> {
    if (this.closed) return Promise.reject(new EngineError('engine is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...req, id }, transfer);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    }) as Promise<Feeds | null>;
  }

  /** Compile a model in the worker (idempotent per signature). */
  async load(model: ExportedModel): Promise<void> {
    if (this.loaded.has(model.signature)) return;
    await this.call({ type: 'load', signature: model.signature, bytes: model.bytes });
    this.loaded.add(model.signature);
  }

  async release(model: ExportedModel): Promise<void> {
    this.loaded.delete(model.signature);
    await this.call({ type: 'release', signature: model.signature });
  }

  /**
   * Hand tensors to the worker as a named weight set. With `transfer` the buffers move (the caller's
   * arrays become empty): the way to keep one copy of a base model per process.
   */
  async setWeights(setId: string, tensors: Feeds, options: { transfer?: boolean } = {}): Promise<void> {
    const buffers = options.transfer ? uniqueBuffers(tensors) : [];
    await this.call({ type: 'weights', setId, tensors }, buffers);
  }

  async readWeights(setId: string, names?: string[]): Promise<Feeds> {
    return (await this.call(names ? { type: 'read-weights', setId, names } : { type: 'read-weights', setId }))!;
  }

  async dropWeights(setId: string): Promise<void> {
    await this.call({ type: 'drop-weights', setId });
  }

  /**
   * Run a model: weight sets supply matching inputs, `feeds` the rest (and override). Feeds are
   * copied into the worker unless marked `transfer` (see HostTensor.transfer).
   */
  async run(model: ExportedModel, feeds: RunFeeds, weightSets: string[] = [], options: RunOptions = {}): Promise<Feeds> {
    const transfer = transferList(feeds);
    await this.load(model);
    return (await this.call({ type: 'run', signature: model.signature, feeds, weightSets, ...options }, transfer))!;
  }

  async dropState(stateId: string): Promise<void> {
    await this.call({ type: 'drop-state', stateId });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
