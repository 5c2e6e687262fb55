// Uniform sampling of configs, and sampling without replacement in finite spaces: what random search
// does, and what every strategy that starts new configs (successive halving, Hyperband, ASHA, BO's
// start-up trials, a user's plug-in) needs so that a finite space is never sampled twice.
import type { Rng } from '../engine/rng.js';
import type { StudyView } from './strategy.js';
import { type Config, configKey, fromUnit, type ParamSpec, type ParamValue, paramValues, type SearchSpace, spaceSize } from './space.js';

/**
 * One value of `p`, uniformly: a finite dimension by index (choices, grid values, int steps), a
 * continuous one in the unit cube (log dims in log space). Log-scaled ints are drawn in log space too.
 */
export function sampleValue(p: ParamSpec, rng: Rng): ParamValue {
  if (p.type !== 'categorical' && p.log && !p.grid) return fromUnit(p, rng.next());
  const values = paramValues(p);
  if (values) return values[rng.int(values.length)]!;
  if (p.type === 'int') {
    const step = p.step ?? 1;
    return p.low + step * rng.int(Math.floor((p.high - p.low) / step) + 1);
  }
  return fromUnit(p, rng.next());
}

/** A uniformly drawn config (dims in space order, one draw sequence per dim). */
export function sampleConfig(space: SearchSpace, rng: Rng): Config {
  const config: Record<string, ParamValue> = {};
  for (const [name, p] of space) config[name] = sampleValue(p, rng);
  return config;
}

/** Every config of a finite space in lexicographic order (last dim fastest), or undefined above `limit` configs. */
export function enumerateConfigs(space: SearchSpace, limit = ENUMERATE_LIMIT): Config[] | undefined {
  const size = spaceSize(space);
  if (!(size <= limit)) return undefined;
  const dims = [...space].map(([name, p]) => [name, paramValues(p)!] as const);
  const out: Config[] = [];
  for (let i = 0; i < size; i++) {
    const config: Record<string, ParamValue> = {};
    let rest = i;
    for (let d = dims.length - 1; d >= 0; d--) {
      const [name, values] = dims[d]!;
      config[name] = values[rest % values.length]!;
      rest = Math.floor(rest / values.length);
    }
    out.push(config);
  }
  return out;
}

/** Finite spaces up to this size are enumerated when rejection sampling keeps hitting taken configs. */
const ENUMERATE_LIMIT = 1_000_000;
const REJECTION_TRIES = 64;

/** Whether a config of `space` exists whose key is not in `taken` (keys from configKey). */
export function hasUntried(space: SearchSpace, taken: ReadonlySet<string>): boolean {
  return taken.size < spaceSize(space);
}

/**
 * A uniformly drawn config whose key is not in `taken`, or undefined when every config of a finite
 * space is taken. Draws by rejection first; a nearly exhausted finite space is enumerated instead,
 * so the answer is exact and the draw still uniform over what is left.
 */
export function sampleUntried(space: SearchSpace, rng: Rng, taken: ReadonlySet<string>): Config | undefined {
  if (!hasUntried(space, taken)) return undefined;
  for (let i = 0; i < REJECTION_TRIES; i++) {
    const config = sampleConfig(space, rng);
    if (!taken.has(configKey(space, config))) return config;
  }
  const left = enumerateConfigs(space)?.filter((c) => !taken.has(configKey(space, c)));
  return left?.length ? left[rng.int(left.length)] : undefined;
}

/** Keys of the configs the study has tried (any status, running too), optionally only those at `fidelity`. */
export function triedKeys(study: StudyView, fidelity?: number): Set<string> {
  const keys = new Set<string>();
  for (const t of study.trials) if (fidelity === undefined || t.fidelity === fidelity) keys.add(configKey(study.space, t.config));
  return keys;
}
