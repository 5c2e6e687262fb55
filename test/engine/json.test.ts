// JSON helpers for users' values: bounded, never recursive.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/engine/errors.js';
import { nestedDeeperThan, parseJsonText, previewJson } from '../../src/engine/json.js';
import { deepJson } from '../bounded.js';

describe('previewJson', () => {
  it('renders small values as JSON.stringify does', () => {
    for (const v of [null, 1, -0.5, true, 'a"b', [], {}, [1, [2, { a: 'x' }]], { k: [null, false], 'q"': 1 }]) {
      expect(previewJson(v)).toBe(JSON.stringify(v));
    }
    expect(previewJson(undefined)).toBe('undefined');
  });

  it('cuts long, wide and 100,000-deep values to the bound', () => {
    const deep = JSON.parse(deepJson(100_000));
    expect(previewJson(deep, 20)).toBe(`${'['.repeat(17)}...`);
    expect(
      previewJson(
        Array.from({ length: 1_000_000 }, (_, i) => i),
        20,
      ),
    ).toBe('[0,1,2,3,4,5,6,7,...');
    expect(previewJson('x'.repeat(10_000_000), 10)).toBe('"xxxxxx...');
    expect(previewJson({ ['k'.repeat(1000)]: 1 }, 10)).toBe('{"kkkkk...');
    expect(previewJson([1, 2, 3], 7)).toBe('[1,2,3]');
    expect(previewJson([1, 2, 3, 4], 7)).toBe('[1,2...');
  });
});

describe('nestedDeeperThan', () => {
  it('measures nesting without recursion', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan([], 0)).toBe(true);
    expect(nestedDeeperThan({ a: [1, { b: [] }] }, 4)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: [] }] }, 3)).toBe(true);
    expect(nestedDeeperThan(JSON.parse(deepJson(100_000)), 99_999)).toBe(true);
    expect(nestedDeeperThan(JSON.parse(deepJson(100_000)), 100_000)).toBe(false);
  });
});

describe('parseJsonText', () => {
  it('parses (skipping a BOM) or names the file', () => {
    expect(parseJsonText('\uFEFF{"a": 1}', 'f.json')).toEqual({ a: 1 });
    expect(() => parseJsonText('{"a": ', 'f.json')).toThrow(UserError);
    expect(() => parseJsonText('{"a": ', 'f.json')).toThrow(/^f\.json: invalid JSON: /);
  });
});
