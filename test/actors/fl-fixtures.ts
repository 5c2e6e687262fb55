// Fixtures of the federation tests: a tiny 2-layer model with the byte tokenizer (seconds per run),
// the arith task's clients encoded for it, and a small config.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import { type ClientData, encodeClient, federatedTask } from '../../src/fl/client-data.js';
import { type FlConfig, type FlConfigInput, parseFlConfig } from '../../src/fl/fl-config.js';
import { parseLlamaConfig } from '../../src/model/config.js';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { type OpenedModel, openModel } from '../../src/model/source.js';
import type { JsonObject } from '../../src/hpo/config-paths.js';

export const TINY = parseLlamaConfig({
  vocab_size: 260,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 512,
});

/** A tiny model directory (no tokenizer.json: the byte tokenizer) under a fresh temp dir. */
export async function tinyModelDir(): Promise<{ root: string; modelDir: string; dispose: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'fedhpo-fl-'));
  const modelDir = join(root, 'model');
  await saveCheckpoint(modelDir, TINY, initWeights(TINY, 7));
  return { root, modelDir, dispose: () => rm(root, { recursive: true, force: true }) };
}

export async function openTiny(modelDir: string, engine: Engine): Promise<OpenedModel> {
  return openModel({ dir: modelDir, engine });
}

/** A small arith config for the tiny model; `over` replaces whole sections. */
export function tinyConfig(modelDir: string, over: Partial<FlConfigInput> = {}): FlConfig {
  return parseFlConfig({
    model: modelDir,
    data: { task: 'arith' },
    seed: 3,
    rounds: 2,
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] },
    train: { local_steps: 2, batch_size: 4, seq_len: 384, lr: 0.01 },
    round: { deadline_s: 60, quorum: 1, retries: 0, join_timeout_s: 30 },
    eval: { every: 1, test_limit: 4, batch_size: 8, max_new_tokens: 4, valid_limit: 8 },
    ...over,
  });
}

/** The arith clients, each cut to `trainLimit` training records, encoded for the tiny model. */
export function tinyClients(m: OpenedModel, cfg: FlConfig, trainLimit = 24): ClientData[] {
  return federatedTask('arith', 0).clients.map((c) =>
    encodeClient(m.tokenizer, { ...c, train: c.train.slice(0, trainLimit) }, cfg.train.seq_len, cfg.eval.valid_limit),
  );
}

/** A tiny arith FL config document, as a study's trial config (no rounds: the fidelity sets them). */
export function tinyTrialDoc(modelDir: string, over: Record<string, unknown> = {}): JsonObject {
  return {
    kind: 'federated',
    model: modelDir,
    data: { task: 'arith' },
    seed: 3,
    clients: { sample_rate: 0.67 },
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] },
    train: { local_steps: 2, batch_size: 4, seq_len: 384, lr: 0.01 },
    round: { deadline_s: 60, quorum: 1, retries: 0, join_timeout_s: 30 },
    eval: { every: 1, test_limit: 4, batch_size: 8, max_new_tokens: 4, valid_limit: 8 },
    ...over,
  } as JsonObject;
}

export { Engine };
