import { describe, expect, it } from 'vitest';
import { checkConfig, configKey, fromUnit, inParam, parseSpace, spaceSize, toUnit, type ParamSpec } from '../../src/hpo/space.js';

const SPACE = {
  'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true },
  'lora.r': { type: 'int', low: 2, high: 16, step: 2 },
  'lora.targets': { type: 'categorical', choices: ['qv', 'all'] },
};

describe('search spaces', () => {
  it('parses a space in key order and counts its configs', () => {
    const s = parseSpace(SPACE);
    expect([...s.keys()]).toEqual(['train.lr', 'lora.r', 'lora.targets']);
    expect(spaceSize(s)).toBe(Number.POSITIVE_INFINITY);
    const finite = parseSpace({ 'lora.r': SPACE['lora.r'], 'lora.targets': SPACE['lora.targets'] });
    expect(spaceSize(finite)).toBe(8 * 2);
  });

  it('names the dotted key of every bad definition', () => {
    expect(() => parseSpace({ 'train.lr': { type: 'float', low: 0, high: 1, log: true } })).toThrow(
      /space\.train\.lr: a log-scaled range needs low > 0/,
    );
    expect(() => parseSpace({ 'train.lr': { type: 'float', low: 2, high: 1 } })).toThrow(
      /space\.train\.lr: low \(2\) must not exceed high/,
    );
    expect(() => parseSpace({ 'lora.r': { type: 'int', low: 1.5, high: 4 } })).toThrow(/space\.lora\.r\.low/);
    expect(() => parseSpace({ 'lora.r': { type: 'int', low: 1, high: 4, step: 2 } })).toThrow(/step 2 does not divide/);
    expect(() => parseSpace({ x: { type: 'categorical', choices: ['a', 'a'] } })).toThrow(/space\.x: choices must be distinct/);
    expect(() => parseSpace({ 'bad name': { type: 'categorical', choices: [1] } })).toThrow(/dotted config path/);
    expect(() => parseSpace({ x: { type: 'uniform', low: 0, high: 1 } })).toThrow(/space\.x\.type/);
    expect(() => parseSpace({})).toThrow(/at least one hyperparameter/);
  });

  it('checks configs: missing, unknown, off-grid and off-step values are refused by name', () => {
    const s = parseSpace(SPACE);
    const good = { 'train.lr': 1e-3, 'lora.r': 8, 'lora.targets': 'qv' };
    expect(() => checkConfig(s, good)).not.toThrow();
    expect(() => checkConfig(s, { ...good, 'lora.r': 7 })).toThrow(/lora\.r = 7 is outside/);
    expect(() => checkConfig(s, { ...good, 'train.lr': 1 })).toThrow(/train\.lr = 1 is outside/);
    expect(() => checkConfig(s, { 'train.lr': 1e-3, 'lora.r': 8 })).toThrow(/no value for lora\.targets/);
    expect(() => checkConfig(s, { ...good, extra: 1 })).toThrow(/extra is not in the space/);
    expect(configKey(s, good)).toBe(configKey(s, { 'lora.targets': 'qv', 'lora.r': 8, 'train.lr': 1e-3 }));
  });

  it('maps values to the unit cube (log dims in log space) and back to the nearest legal value', () => {
    const lr: ParamSpec = { type: 'float', low: 1e-4, high: 1e-2, log: true };
    expect(toUnit(lr, 1e-3)).toBeCloseTo(0.5, 12);
    expect(fromUnit(lr, 0.5)).toBeCloseTo(1e-3, 12);
    const r: ParamSpec = { type: 'int', low: 2, high: 16, step: 2 };
    for (let u = 0; u <= 1; u += 0.05) expect(inParam(r, fromUnit(r, u))).toBe(true);
    expect(fromUnit(r, toUnit(r, 10))).toBe(10);
    const g: ParamSpec = { type: 'float', low: 0, high: 1, grid: [0, 0.1, 0.9] };
    expect(fromUnit(g, 0.2)).toBe(0.1);
    const c: ParamSpec = { type: 'categorical', choices: ['a', 'b', 'c'] };
    expect(c.choices.map((v) => fromUnit(c, toUnit(c, v)))).toEqual(['a', 'b', 'c']);
    expect(fromUnit(lr, -3)).toBe(1e-4);
    expect(fromUnit(lr, 7)).toBe(1e-2);
  });
});

describe('parseSpace with a file as where', () => {
  it('names the file and the key, and accepts any path as where', () => {
    expect(() => parseSpace({ 'train.lr': { type: 'float', low: 0.1, high: 0.2 } }, 'configs/my study.yaml: space')).not.toThrow();
    expect(() => parseSpace({ 'train.lr': { type: 'float', low: 2, high: 1 } }, 'a/b.yaml: space')).toThrow(
      /^a\/b\.yaml: space\.train\.lr: low/,
    );
  });
});
