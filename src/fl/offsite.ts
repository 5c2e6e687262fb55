// Offsite-tuning (Xiao et al., 2023; federated in FederatedScope-LLM): the model owner compresses
// the base model into an *emulator* by dropping a fraction of the middle layers uniformly; data
// owners fine-tune an *adapter* (the first and last few layers, full weights) on top of the frozen
// emulator; the owner plugs the trained adapter back into the full model. Only the emulator (once)
// and the adapter (every round) ever leave the owner, never the full model.
//
// This file is the pure part: which layers are kept, the emulator as an ordinary LLaMA checkpoint
// with fewer layers (its layers re-indexed 0..n-1, so every loader and graph takes it as is), and
// the renaming of adapter weights between emulator and full model.
import { UserError } from '../engine/errors.js';
import type { LlamaConfig } from '../model/config.js';

/** Layers of a full model on each side that form the adapter (the reference: first and last two). */
export const DEFAULT_ADAPTER_LAYERS = 2;

export class OffsiteError extends UserError {
  override name = 'OffsiteError';
}

/** Which full-model layers make the emulator, in order, and which of them are the adapter. */
export interface EmulatorPlan {
  /** Full model's layer count. */
  fullLayers: number;
  /** Full-model index of each emulator layer (emulator layer i is full layer kept[i]). */
  kept: number[];
  /** Full-model indices of the adapter layers (the first and last `adapterLayers`). */
  adapter: number[];
  /** Middle layers dropped (full-model indices). */
  dropped: number[];
}

/**
 * Keeps the first and last `adapterLayers` layers and round((1 - drop) * middle) of the middle
 * ones, spread evenly over it (the i-th kept one is the middle layer nearest to the centre of the
 * i-th of k equal slices), so dropping is uniform rather than a cut of one end.
 */
export function emulatorPlan(fullLayers: number, drop: number, adapterLayers = DEFAULT_ADAPTER_LAYERS): EmulatorPlan {
  if (!(drop >= 0 && drop < 1)) throw new OffsiteError(`offsite.drop must be in [0, 1), got ${drop}`);
  if (!Number.isInteger(adapterLayers) || adapterLayers < 1)
    throw new OffsiteError(`offsite.adapter_layers must be a positive integer, got ${adapterLayers}`);
  const middle = fullLayers - 2 * adapterLayers;
  if (middle < 1)
    throw new OffsiteError(
      `offsite-tuning needs a middle to compress: the model has ${fullLayers} layers, the adapter takes ${2 * adapterLayers} ` +
        `(offsite.adapter_layers ${adapterLayers} on each side); use a deeper model (e.g. models/fedhpo-base-deep)`,
    );
  const keep = Math.max(1, Math.round((1 - drop) * middle));
  const keptMiddle: number[] = [];
  for (let i = 0; i < keep; i++) keptMiddle.push(adapterLayers + Math.floor(((i + 0.5) * middle) / keep));
  const first = Array.from({ length: adapterLayers }, (_, i) => i);
  const last = Array.from({ length: adapterLayers }, (_, i) => fullLayers - adapterLayers + i);
  const keptSet = new Set(keptMiddle);
  const dropped: number[] = [];
  for (let l = adapterLayers; l < fullLayers - adapterLayers; l++) if (!keptSet.has(l)) dropped.push(l);
  return { fullLayers, kept: [...first, ...keptMiddle, ...last], adapter: [...first, ...last], dropped };
}

const LAYER = /^model\.layers\.(\d+)\.(.+)$/;

/** The layer index of a weight name, or undefined for embedding, final norm and head. */
export function layerOf(name: string): number | undefined {
  const m = LAYER.exec(name);
  return m ? Number(m[1]) : undefined;
}

const renameLayer = (name: string, to: number): string => name.replace(LAYER, (_m, _l, rest: string) => `model.layers.${to}.${rest}`);

/**
 * The emulator as a checkpoint of its own: `num_hidden_layers` = kept layers, layer weights renamed
 * to their emulator index, everything outside the layers (embedding, final norm, head) as is.
 * The arrays are shared with `weights`, not copied.
 */
export function buildEmulator(
  cfg: LlamaConfig,
  weights: ReadonlyMap<string, Float32Array>,
  plan: EmulatorPlan,
): { cfg: LlamaConfig; weights: Map<string, Float32Array> } {
  if (plan.fullLayers !== cfg.num_hidden_layers)
    throw new OffsiteError(`emulator plan is for ${plan.fullLayers} layers, the model has ${cfg.num_hidden_layers}`);
  const emuIndex = new Map(plan.kept.map((full, emu) => [full, emu]));
  const out = new Map<string, Float32Array>();
  for (const [name, data] of weights) {
    const l = layerOf(name);
    if (l === undefined) out.set(name, data);
    else {
      const e = emuIndex.get(l);
      if (e !== undefined) out.set(renameLayer(name, e), data);
    }
  }
  return { cfg: { ...cfg, num_hidden_layers: plan.kept.length }, weights: out };
}

/** Emulator-side index of each adapter layer (the first and last ones of the emulator). */
function adapterEmuIndex(plan: EmulatorPlan): Map<number, number> {
  const emuIndex = new Map(plan.kept.map((full, emu) => [full, emu]));
  return new Map(plan.adapter.map((full) => [emuIndex.get(full)!, full]));
}

/** Whether an emulator weight name belongs to the adapter (what clients train and send). */
export function isAdapterWeight(plan: EmulatorPlan, emulatorName: string): boolean {
  const l = layerOf(emulatorName);
  return l !== undefined && adapterEmuIndex(plan).has(l);
}

/** The adapter's weights (emulator names), copied out of the emulator's weights. */
export function adapterOf(plan: EmulatorPlan, emulatorWeights: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const set = adapterEmuIndex(plan);
  const out = new Map<string, Float32Array>();
  for (const [name, data] of emulatorWeights) {
    const l = layerOf(name);
    if (l !== undefined && set.has(l)) out.set(name, data.slice());
  }
  return out;
}

/**
 * Plug-in: the adapter's weights renamed from emulator to full-model layer indices (laid over the
 * full model's weights, e.g. as replacement feeds, they make the fine-tuned full model).
 */
export function toFullNames(plan: EmulatorPlan, adapter: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const toFull = adapterEmuIndex(plan);
  const out = new Map<string, Float32Array>();
  for (const [name, data] of adapter) {
    const l = layerOf(name);
    const full = l === undefined ? undefined : toFull.get(l);
    if (full === undefined) throw new OffsiteError(`'${name}' is not an adapter weight of this emulator`);
    out.set(renameLayer(name, full), data);
  }
  return out;
}
