// Study configs for tests: a synthetic objective (src/hpo/synthetic-runner.ts) over a small space with
// a continuous dimension, searched by the built-in random search (its suggestions never depend on
// results or on how they are batched, so any run of a seed asks the same configs).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readJournal } from '../../src/hpo/journal.js';
import { parseStudyConfig, type StudyConfig } from '../../src/hpo/study-config.js';
import { StudyState } from '../../src/hpo/study-state.js';

/** A study config document (plain YAML-able object); `patch` replaces top-level sections. */
export function syntheticStudyDoc(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'synthetic test study',
    seed: 7,
    space: {
      'train.lr': { type: 'float', low: 1e-4, high: 1e-1, log: true },
      'lora.r': { type: 'categorical', choices: [4, 8, 16] },
      'train.local_steps': { type: 'int', low: 1, high: 10 },
    },
    fixed: { 'clients.sample_rate': 0.33 },
    objectives: [{ name: 'val_loss', direction: 'minimize' }],
    fidelity: { rounds: 4 },
    budget: { trials: 8 },
    strategy: 'random',
    parallel: 2,
    trial: { kind: 'synthetic', noise: 0.01 },
    ...patch,
  };
}

export function syntheticStudy(patch: Record<string, unknown> = {}): StudyConfig {
  return parseStudyConfig(syntheticStudyDoc(patch), 'test study');
}

export async function tempDir(prefix = 'fedhpo-study-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeStudyYaml(dir: string, doc: Record<string, unknown>, name = 'study.yaml'): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

export async function replayStudy(dir: string): Promise<StudyState> {
  return StudyState.replay((await readJournal(dir)).events);
}

/** The complete trials of a study as sorted "config -> val_loss" lines (order-free comparison of two runs). */
export function completedSet(state: StudyState): string[] {
  return state.trials
    .filter((t) => t.status === 'complete')
    .map((t) => `${JSON.stringify(t.config)} -> ${t.values!.map((v) => v.toFixed(9)).join(',')}`)
    .sort();
}
