// One tiny federated run per prompt-learning method (peft.method in the FL config): clients train the
// method's own trainable tensors, the server averages them by name, the validation loss falls, the
// final adapter saves and loads in the method's PEFT layout, and the upload per client and round is
// the adapter's fp32 size plus the envelope.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFederation } from '../../src/actors/federation.js';
import { peftSettingsOf } from '../../src/fl/fl-config.js';
import type { OpenedModel } from '../../src/model/source.js';
import { adapterLayout, loadAdapter } from '../../src/peft/methods.js';
import { Engine, openTiny, tinyClients, tinyConfig, tinyModelDir } from './fl-fixtures.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let engine: Engine;
let m: OpenedModel;
beforeAll(async () => {
  dir = await tinyModelDir();
  engine = new Engine({ threads: 2 });
  m = await openTiny(dir.modelDir, engine);
});
afterAll(async () => {
  await engine?.close();
  await dir?.dispose();
});

const METHODS = [
  ['prompt', 'PROMPT_TUNING', {}],
  ['ptuning', 'P_TUNING', { encoder_hidden_size: 16 }],
  ['prefix', 'PREFIX_TUNING', {}],
  ['prefix', 'PREFIX_TUNING', { prefix_projection: true, encoder_hidden_size: 16 }],
] as const;

describe.each(METHODS)('federated %s (%s) %o', (method, peftType, extra) => {
  it('averages the method’s tensors by name, lowers the validation loss and exports the PEFT layout', async () => {
    const cfg = tinyConfig(dir.modelDir, {
      rounds: 3,
      peft: { method, num_virtual_tokens: 4, ...extra },
      train: { local_steps: 4, batch_size: 4, seq_len: 384, lr: 0.05 },
    });
    const r = await runFederation(cfg, { model: m, clients: tinyClients(m, cfg) });
    const layout = adapterLayout(m.model.cfg, peftSettingsOf(cfg.lora, cfg.peft));
    expect([...r.global.keys()].sort()).toEqual([...layout.tensors.keys()].sort());
    expect(r.adapter.method).toBe(method);
    const losses = r.history.map((h) => h.valLoss!);
    expect(losses).toHaveLength(4);
    expect(losses[3]!).toBeLessThan(losses[0]!);
    // Each accepted update carries every trainable value as fp32 (plus a small envelope).
    const up = r.history[1]!.clients.c0!.uploadBytes;
    expect(up).toBeGreaterThan(4 * layout.size);
    expect(up).toBeLessThan(4 * layout.size + 4096);

    const out = join(dir.root, `adapter-${method}-${'prefix_projection' in extra}`);
    await r.adapter.save(out, dir.modelDir);
    expect(JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')).peft_type).toBe(peftType);
    const loaded = await loadAdapter(out, m.model.cfg);
    const ids = [[5, 6, 7, 8, 9]];
    const [a] = await m.model.logits(ids, r.adapter.inference());
    const [b] = await m.model.logits(ids, loaded.inference());
    expect(Array.from(b!)).toEqual(Array.from(a!));
  });
});
