// Engine worker thread: owns ORT sessions and the frozen weight sets they read. Plain JS so the
// same file runs from src/ (tests, tsx) and dist/ (CLI) without a TS loader inside the worker.
// Protocol: see engine.ts (WorkerRequest / WorkerResponse).
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { dropoutMask } from './xoshiro.js';

const threads = workerData?.threads ?? 1;
/** @type {Map<string, Promise<ort.InferenceSession>>} */
const sessions = new Map();
/** @type {Map<string, Record<string, ort.Tensor>>} */
const weightSets = new Map();
/** Per-caller tensors carried from one run's outputs to the next run's inputs (KV caches). */
/** @type {Map<string, Record<string, ort.Tensor>>} */
const states = new Map();

const size = (dims) => dims.reduce((a, b) => a * b, 1);
/** A feed from the main thread: a tensor, or a dropout mask to draw here (DropoutMaskFeed). */
const toOrt = (t) =>
  t.kind === 'dropout-mask'
    ? new ort.Tensor('float32', dropoutMask(t.rng, size(t.dims), t.p), t.dims)
    : new ort.Tensor(t.dtype === 'float64' ? 'float64' : t.dtype, t.data, t.dims);
const fromOrt = (t) => ({ dtype: t.type, dims: [...t.dims], data: t.data });

function sessionFor(signature, bytes) {
  let s = sessions.get(signature);
  if (!s) {
    if (!bytes) throw new Error(`session ${signature.slice(0, 12)} is not loaded`);
    s = ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    sessions.set(signature, s);
    s.catch(() => sessions.delete(signature));
  }
  return s;
}

async function handle(msg) {
  switch (msg.type) {
    case 'load':
      await sessionFor(msg.signature, msg.bytes);
      return null;
    case 'weights': {
      const set = weightSets.get(msg.setId) ?? {};
      for (const [name, t] of Object.entries(msg.tensors)) set[name] = toOrt(t);
      weightSets.set(msg.setId, set);
      return null;
    }
    case 'read-weights': {
      const set = weightSets.get(msg.setId);
      if (!set) throw new Error(`unknown weight set '${msg.setId}'`);
      const out = {};
      for (const name of msg.names ?? Object.keys(set)) {
        const t = set[name];
        if (!t) throw new Error(`weight set '${msg.setId}' has no tensor '${name}'`);
        out[name] = { dtype: t.type, dims: [...t.dims], data: t.data.slice() };
      }
      return out;
    }
    case 'drop-weights':
      weightSets.delete(msg.setId);
      return null;
    case 'drop-state':
      states.delete(msg.stateId);
      return null;
    case 'release': {
      const s = sessions.get(msg.signature);
      sessions.delete(msg.signature);
      if (s) await (await s).release();
      return null;
    }
    case 'run': {
      const session = await sessionFor(msg.signature);
      const feeds = {};
      for (const setId of msg.weightSets ?? []) {
        const set = weightSets.get(setId);
        if (!set) throw new Error(`unknown weight set '${setId}'`);
        for (const name of session.inputNames) if (set[name]) feeds[name] = set[name];
      }
      const state = msg.stateId ? (states.get(msg.stateId) ?? {}) : {};
      Object.assign(feeds, state);
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = toOrt(t);
      const missing = session.inputNames.filter((n) => !feeds[n]);
      if (missing.length) throw new Error(`missing graph inputs: ${missing.join(', ')}`);
      for (const name of Object.keys(feeds)) if (!session.inputNames.includes(name)) delete feeds[name];
      const out = await session.run(feeds, msg.fetch);
      const result = {};
      const next = {};
      for (const [name, t] of Object.entries(out)) {
        const carried = msg.carry?.[name];
        if (carried) next[carried] = t;
        else result[name] = fromOrt(t);
      }
      if (msg.stateId) states.set(msg.stateId, next);
      return result;
    }
    default:
      throw new Error(`unknown engine request '${msg.type}'`);
  }
}

parentPort.on('message', async (msg) => {
  try {
    const result = await handle(msg);
    const transfer = new Set();
    if (result) for (const t of Object.values(result)) if (!(t.data.buffer instanceof SharedArrayBuffer)) transfer.add(t.data.buffer);
    parentPort.postMessage({ id: msg.id, ok: true, result }, [...transfer]);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});

// onnxruntime is loaded (the imports above ran): the engine may now terminate this worker safely.
parentPort.postMessage({ type: 'ready' });
