// Main-thread face of the engine: ORT sessions run in a worker thread (session.run is synchronous
// native work that would block the event loop), cached there by graph signature. Frozen weights are
// handed to the worker once as a named weight set and referenced by every run, so a base model
// exists once per engine however many graphs, sessions, clients and trials read it.
//
// The worker therefore holds the only copy of the base weights, and it can die (an uncaught error,
// an exit, killWorker()). The next call then starts a new worker: calls pending at the
// death reject with an EngineError, weight sets are re-established from the reload source given
// with them, sessions are recompiled lazily, and a set that has no source fails the runs that use
// it with an error naming it.
import { Worker } from 'node:worker_threads';
import { EngineError, UserError } from './errors.js';
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

export interface SetWeightsOptions {
  /** Move the buffers into the worker (the caller's arrays become empty): one copy per process. */
  transfer?: boolean;
  /**
   * Gives the same tensors again (fresh arrays, which the engine moves into the worker) when a new
   * worker must be started. Without it, a restart loses the set and runs that use it fail.
   */
  reload?: () => Promise<Feeds>;
}

type WorkerResponse =
  | { id: number; ok: true; result: Feeds | null }
  | { id: number; ok: false; error: string }
  /** Sent once, when onnxruntime is loaded in the worker. */
  | { type: 'ready' };

export interface EngineOptions {
  /** ORT intra-op threads of every session (default: 1). */
  threads?: number;
}

interface Pending {
  worker: Worker;
  resolve: (r: Feeds | null) => void;
  reject: (e: Error) => void;
}

/** What a weight set needs to be re-established in a new worker: one part per setWeights call. */
interface WeightSetRecord {
  parts: { reload: (() => Promise<Feeds>) | undefined; layout: string }[];
  /** Why the set is gone since the last restart. */
  lost?: string;
}

/** Names, dtypes and dims of a set of tensors: what a reload must reproduce. */
const layoutOf = (tensors: Feeds): string =>
  JSON.stringify(
    Object.keys(tensors)
      .sort()
      .map((k) => [k, tensors[k]!.dtype, tensors[k]!.dims]),
  );

/** More intra-op threads than any machine here has cores is a typo. */
const MAX_THREADS = 256;

export class Engine {
  readonly threads: number;
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private starts = 0;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  /** Model signatures compiled in each worker (a new worker starts with none). */
  private loaded = new WeakMap<Worker, Set<string>>();
  private weightSets = new Map<string, WeightSetRecord>();
  /** Per-caller state kept in the worker (KV caches), and state a worker death lost. */
  private states = new Set<string>();
  private lostStates = new Set<string>();
  private killed = new WeakSet<Worker>();
  /** Settles when the worker has loaded onnxruntime (or exited): terminating it before then aborts the process. */
  private ready = new WeakMap<Worker, Promise<void>>();
  private closed = false;

  constructor(options: EngineOptions = {}) {
    this.threads = options.threads ?? 1;
    // Checked here, not by ORT inside the worker, whose refusal would come back as an EngineError.
    if (!Number.isInteger(this.threads) || this.threads < 1 || this.threads > MAX_THREADS)
      throw new UserError(`threads: expected an integer in [1, ${MAX_THREADS}], got ${this.threads}`);
    this.worker = this.spawn();
  }

  /** How many times a dead worker has been replaced. */
  get restarts(): number {
    return this.starts - 1;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: { threads: this.threads } });
    let crash: string | undefined;
    let markReady = (): void => {};
    this.ready.set(
      worker,
      new Promise<void>((resolve) => {
        markReady = resolve;
      }),
    );
    worker.on('message', (msg: WorkerResponse) => ('type' in msg ? markReady() : this.settle(worker, msg)));
    worker.on('error', (err) => {
      crash = err.message;
    });
    worker.on('exit', (code) => {
      markReady();
      this.onExit(worker, this.killed.has(worker) ? 'was killed' : crash ? `crashed (${crash})` : `exited with code ${code}`);
    });
    // An idle engine must not keep the process alive.
    worker.unref();
    this.starts++;
    return worker;
  }

  /**
   * Terminates a worker once it has loaded onnxruntime: terminating it while the native addon
   * initialises throws inside ORT and aborts the whole process (seen when a command failed on a bad
   * checkpoint within milliseconds of creating its engine).
   */
  private async terminate(worker: Worker): Promise<void> {
    worker.ref(); // an unref'd worker would let the process end (exit 13) while this waits
    await Promise.race([this.ready.get(worker), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    await worker.terminate();
  }

  private settle(worker: Worker, msg: Extract<WorkerResponse, { id: number }>): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) worker.unref();
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new EngineError(msg.error));
  }

  private onExit(worker: Worker, why: string): void {
    if (this.worker === worker) {
      this.worker = undefined;
      for (const s of this.states) this.lostStates.add(s);
      this.states.clear();
    }
    for (const [id, p] of this.pending)
      if (p.worker === worker) {
        this.pending.delete(id);
        p.reject(new EngineError(`engine worker ${why} during this call; the next call starts a new worker`));
      }
  }

  /** Start a new worker and re-establish every weight set in it (once, however many callers wait). */
  private restart(): Promise<void> {
    this.starting ??= this.restore().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async restore(): Promise<void> {
    const worker = this.spawn();
    try {
      for (const [setId, set] of this.weightSets) if (!set.lost) set.lost = await this.reestablish(worker, setId, set);
    } catch (e) {
      await this.terminate(worker);
      throw e;
    }
    this.worker = worker;
  }

  /** Replay a set's sources into a new worker; returns why it could not be, if so. */
  private async reestablish(worker: Worker, setId: string, set: WeightSetRecord): Promise<string | undefined> {
    const lost = `weight set '${setId}' was lost when the engine worker restarted`;
    if (set.parts.some((p) => !p.reload)) return `${lost}: it has no reload source (setWeights(id, tensors, { reload }))`;
    for (const part of set.parts) {
      let why: string | undefined;
      let tensors: Feeds = {};
      try {
        tensors = await part.reload!();
        if (layoutOf(tensors) !== part.layout) why = 'its reload source gave other tensor names, dtypes or shapes';
      } catch (e) {
        why = `its reload source failed: ${(e as Error).message}`;
      }
      if (why) {
        await this.send(worker, { type: 'drop-weights', setId });
        return `${lost} and ${why}`;
      }
      await this.send(worker, { type: 'weights', setId, tensors }, uniqueBuffers(tensors));
    }
    return undefined;
  }

  private send(worker: Worker, req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<Feeds | null> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.ref();
      try {
        worker.postMessage({ ...req, id }, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  /**
   * Send to the live worker, starting a new one first if the last one died; `model` is compiled in
   * that same worker first if it is not yet (so a restart between the two cannot split them).
   */
  private async call(req: WorkerRequest, transfer: ArrayBuffer[] = [], model?: ExportedModel): Promise<Feeds | null> {
    if (this.closed) throw new EngineError('engine is closed');
    if (!this.worker) await this.restart();
    const worker = this.worker;
    if (!worker || this.closed) throw new EngineError(this.closed ? 'engine is closed' : 'engine worker did not start');
    const sets = req.type === 'run' ? req.weightSets : req.type === 'read-weights' ? [req.setId] : [];
    for (const setId of sets) {
      const lost = this.weightSets.get(setId)?.lost;
      if (lost) throw new EngineError(lost);
    }
    if (req.type === 'run' && req.stateId && this.lostStates.has(req.stateId))
      throw new EngineError(`state '${req.stateId}' was lost when the engine worker restarted`);
    if (model) {
      const loaded = this.loaded.get(worker) ?? new Set<string>();
      this.loaded.set(worker, loaded);
      if (!loaded.has(model.signature)) {
        await this.send(worker, { type: 'load', signature: model.signature, bytes: model.bytes });
        loaded.add(model.signature);
        if (this.worker !== worker) throw new EngineError('engine worker exited during this call; the next call starts a new worker');
      }
    }
    return this.send(worker, req, transfer);
  }

  async release(model: ExportedModel): Promise<void> {
    if (this.worker) this.loaded.get(this.worker)?.delete(model.signature);
    await this.call({ type: 'release', signature: model.signature });
  }

  /**
   * Hand tensors to the worker as a named weight set (a later call with the same id adds to it).
   * `transfer` moves the buffers (the caller's arrays become empty): the way to keep one copy of a
   * base model per process. `reload` re-creates the tensors if the worker must be restarted.
   */
  async setWeights(setId: string, tensors: Feeds, options: SetWeightsOptions = {}): Promise<void> {
    const part = { reload: options.reload, layout: layoutOf(tensors) };
    const record = this.weightSets.get(setId);
    if (record && !record.lost) record.parts.push(part);
    else this.weightSets.set(setId, { parts: [part] });
    await this.call({ type: 'weights', setId, tensors }, options.transfer ? uniqueBuffers(tensors) : []);
  }

  async readWeights(setId: string, names?: string[]): Promise<Feeds> {
    return (await this.call(names ? { type: 'read-weights', setId, names } : { type: 'read-weights', setId }))!;
  }

  async dropWeights(setId: string): Promise<void> {
    this.weightSets.delete(setId);
    await this.call({ type: 'drop-weights', setId });
  }

  /**
   * Run a model: weight sets supply matching inputs, `feeds` the rest (and override). Feeds are
   * copied into the worker unless marked `transfer` (see HostTensor.transfer).
   */
  async run(model: ExportedModel, feeds: RunFeeds, weightSets: string[] = [], options: RunOptions = {}): Promise<Feeds> {
    const transfer = transferList(feeds);
    const out = await this.call({ type: 'run', signature: model.signature, feeds, weightSets, ...options }, transfer, model);
    if (options.stateId) this.states.add(options.stateId);
    return out!;
  }

  async dropState(stateId: string): Promise<void> {
    this.states.delete(stateId);
    this.lostStates.delete(stateId);
    await this.call({ type: 'drop-state', stateId });
  }

  /**
   * Ends the worker as a crash would: calls pending on it reject with an EngineError and the next
   * call starts a new worker. For tests of that path, and for a supervisor that wants a fresh one.
   */
  async killWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.killed.add(worker);
    // Fail its calls now: a result it posts while terminating must not settle them.
    this.onExit(worker, 'was killed');
    await this.terminate(worker);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const worker = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new EngineError('engine closed during this call'));
    this.pending.clear();
    if (worker) await this.terminate(worker);
  }
}
