import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../../src/hpo/config-paths.js';
import { loadStudyConfig, parseStudyConfig, studySpace } from '../../src/hpo/study-config.js';
import { trialConfigOf } from '../../src/hpo/trial-config.js';
import { trialRunnerFor } from '../../src/actors/trial-runner-for.js';
import { federatedTrialConfig } from '../../src/actors/federated-trial-config.js';
import { fromUnit } from '../../src/hpo/space.js';
import { SHIPPED_BASE_MODEL } from '../../src/model/source.js';
import { syntheticStudyDoc, tempDir, writeStudyYaml } from '../helpers/study-fixtures.js';

const bad = (patch: Record<string, unknown>) => () => parseStudyConfig(syntheticStudyDoc(patch), 'x.yaml');

describe('study config', () => {
  it('fills defaults and normalizes strategy, wall time and nested fixed values', () => {
    const c = parseStudyConfig(
      syntheticStudyDoc({ strategy: 'random', budget: { wall_time: '10m', rounds: 50 }, fixed: { train: { warmup: 5 }, 'clients.n': 3 } }),
      'x.yaml',
    );
    expect(c.strategy).toEqual({ name: 'random', options: {} });
    expect(c.budget).toEqual({ wall_time: 600, rounds: 50 });
    expect(c.fixed).toEqual({ 'train.warmup': 5, 'clients.n': 3 });
    expect(c.workers).toEqual({ ack_wait: 30, max_deliveries: 3 });
    expect(parseStudyConfig(c, 'again')).toEqual(c); // the journaled config validates again unchanged
  });

  it('names the dotted key of every error', () => {
    expect(bad({ budget: { trials: -1 } })).toThrow(/x\.yaml: invalid config\n {2}budget\.trials: /);
    expect(bad({ budget: {} })).toThrow(/budget: give at least one of rounds, trials, wall_time/);
    expect(bad({ strategyy: 'random' })).toThrow(/strategyy: unknown key/);
    expect(bad({ space: { 'train.lr': { type: 'float', low: 1, high: 0.1 } } })).toThrow(
      /space\.train\.lr: low \(1\) must not exceed high/,
    );
    expect(bad({ space: { 'lora.r': { type: 'int', low: 1, high: 8, stepp: 2 } } })).toThrow(/space\.lora\.r/);
    expect(bad({ fixed: { train: { lr: 0.1 } } })).toThrow(/fixed\.train\.lr: also in space/);
    expect(bad({ enqueue: [{ 'train.lr': 5, 'lora.r': 8, 'train.local_steps': 2 }] })).toThrow(
      /enqueue\.0: train\.lr = 5 is outside its range/,
    );
    expect(bad({ fidelity: { min_rounds: 9, max_rounds: 3 } })).toThrow(/fidelity\.min_rounds: 9 exceeds max_rounds/);
    expect(bad({ objectives: [{ name: 'val_loss', direction: 'down' }] })).toThrow(/objectives\.0\.direction/);
    expect(bad({ budget: { wall_time: 'soon' } })).toThrow(/budget\.wall_time/);
    const c = parseStudyConfig(syntheticStudyDoc({ trial: { kind: 'synthetic', noise: -1 } }), 'x.yaml');
    expect(() => trialRunnerFor(c, 'x.yaml')).toThrow(/x\.yaml: invalid config\n {2}trial\.noise: /);
    // No kind: an FL config (federated trials), checked before any trial runs, naming the key.
    const fl = parseStudyConfig(syntheticStudyDoc({ trial: { rounds: 3 } }), 'x.yaml');
    expect(() => trialRunnerFor(fl, 'x.yaml')).toThrow(/x\.yaml: trial: invalid config\n {2}data: /);
    const typo = parseStudyConfig(
      syntheticStudyDoc({ trial: { data: { task: 'code' }, train: { batch_size: 2, seq_len: 64, lr_: 1 } } }),
      'x.yaml',
    );
    expect(() => trialRunnerFor(typo, 'x.yaml')).toThrow(/train\.lr_: unknown key/);
    const other = parseStudyConfig(syntheticStudyDoc({ trial: { kind: 'tabular' } }), 'x.yaml');
    expect(() => trialRunnerFor(other, 'x.yaml')).toThrow(/x\.yaml: trial\.kind "tabular" is unknown: want federated/);
  });

  it('applies --set overrides as YAML scalars, matching dotted space names', async () => {
    const dir = await tempDir();
    const file = await writeStudyYaml(dir, syntheticStudyDoc());
    const c = await loadStudyConfig(
      file,
      ['space.train.lr.high=0.05', 'budget.trials=3', 'strategy=./my.js', 'trial.noise=0.5', 'fixed.train.warmup=2'],
      dir,
    );
    expect(c.space['train.lr']).toMatchObject({ high: 0.05 });
    expect(c.budget.trials).toBe(3);
    expect(c.strategy.name).toBe(join(dir, 'my.js'));
    expect(c.trial.noise).toBe(0.5);
    expect(c.fixed['train.warmup']).toBe(2);
    await expect(loadStudyConfig(file, ['budget.trials'])).rejects.toThrow('--set budget.trials: want key.path=value');
    await expect(loadStudyConfig(file, ['budget.trials=0'])).rejects.toThrow(/budget\.trials/);
    await expect(loadStudyConfig(file, ['seed.x=1'])).rejects.toThrow('--set seed.x: seed is not a mapping');
    const doc = { a: { 'b.c': { d: 1 } } };
    applyOverrides(doc, ['a.b.c.d=[1, 2]', 'a.new.key=true']);
    expect(doc).toEqual({ a: { 'b.c': { d: [1, 2] }, new: { key: true } } });
    await writeFile(join(dir, 'list.yaml'), '- 1\n');
    await expect(loadStudyConfig(join(dir, 'list.yaml'))).rejects.toThrow(/\(root\): want a mapping/);
  });

  it('ships a valid synthetic study config', async () => {
    const c = await loadStudyConfig(join(import.meta.dirname, '../../configs/study-synthetic.yaml'));
    expect(c.trial.kind).toBe('synthetic');
    expect(trialRunnerFor(c).name).toBe('synthetic');
  });

  it('ships a study with the PEFT method as a hyperparameter; every method makes a valid FL config', async () => {
    const c = await loadStudyConfig(join(import.meta.dirname, '../../configs/examples/study-peft-method.yaml'));
    expect(studySpace(c).get('peft.method')).toMatchObject({ type: 'categorical', choices: ['lora', 'prompt', 'ptuning', 'prefix'] });
    const methods = new Set<string>();
    for (const u of [0, 0.3, 0.6, 0.99]) {
      const point = Object.fromEntries([...studySpace(c)].map(([k, p]) => [k, fromUnit(p, u)]));
      const fl = federatedTrialConfig(trialConfigOf(c, point), 2, 'study-peft-method');
      expect(fl.peft.method).toBe(point['peft.method']);
      methods.add(fl.peft.method);
    }
    expect([...methods].sort()).toEqual(['lora', 'prefix', 'prompt', 'ptuning']);
    // A method that is not one is refused, naming the key.
    expect(() => federatedTrialConfig(trialConfigOf(c, { 'peft.method': 'ia3' }), 2, 'study-peft-method')).toThrow(/peft\.method/);
  });

  it("ships a valid quick-start study of federated trials (the README's first command)", async () => {
    const c = await loadStudyConfig(join(import.meta.dirname, '../../configs/quickstart.yaml'));
    expect(c.trial.kind).toBe('federated');
    expect([...studySpace(c).keys()]).toEqual(['train.lr', 'lora.r', 'train.local_steps']);
    const runner = trialRunnerFor(c);
    expect(runner.name).toBe('federated');
    await runner.close?.();
    // Every corner of the space makes a valid FL config on the shipped base model.
    for (const u of [0, 1]) {
      const corner = Object.fromEntries([...studySpace(c)].map(([k, p]) => [k, fromUnit(p, u)]));
      const fl = federatedTrialConfig(trialConfigOf(c, corner), 3, 'quickstart');
      expect(fl.model).toBe(SHIPPED_BASE_MODEL);
      expect(fl.data.task).toBe('code');
    }
  });

  it('builds a full trial config: base, then fixed values, then hyperparameters by dotted path', () => {
    const c = parseStudyConfig(syntheticStudyDoc({ trial: { kind: 'synthetic', train: { lr: 1, epochs: 2 } } }), 'x.yaml');
    const doc = trialConfigOf(c, { 'train.lr': 0.01, 'lora.r': 8, 'train.local_steps': 3 });
    expect(doc).toEqual({
      kind: 'synthetic',
      train: { lr: 0.01, epochs: 2, local_steps: 3 },
      lora: { r: 8 },
      clients: { sample_rate: 0.33 },
    });
    expect(c.trial).toEqual({ kind: 'synthetic', train: { lr: 1, epochs: 2 } }); // the base is not modified
  });
});
