import { describe, expect, it } from 'vitest';
import { PRUNERS } from '../../src/hpo/pruners/index.js';
import { STRATEGIES } from '../../src/hpo/strategies/index.js';
import { fedhpo } from './run-cli.js';

describe('fedhpo strategies', () => {
  it('lists every strategy and pruner with its line, and as JSON with their options', async () => {
    const [text, json] = await Promise.all([fedhpo('strategies'), fedhpo('strategies', '--json')]);
    expect(text.code, text.stderr).toBe(0);
    for (const [name, s] of [...Object.entries(STRATEGIES), ...Object.entries(PRUNERS)])
      expect(text.stdout).toMatch(new RegExp(`^  ${name} +${s.description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(text.stdout).toMatch(/^Strategies \(--strategy NAME or \.\/module\.js\):$/m);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { kind: string; name: string; options: { name: string }[] }[];
    expect(rows.map((r) => `${r.kind} ${r.name}`)).toEqual([
      ...Object.keys(STRATEGIES).map((n) => `strategy ${n}`),
      ...Object.keys(PRUNERS).map((n) => `pruner ${n}`),
    ]);
    for (const n of ['random', 'grid', 'sha', 'hyperband', 'asha', 'bo', 'fts', 'flora', 'median', 'percentile'])
      expect(rows.map((r) => r.name)).toContain(n);
    expect(rows.find((r) => r.name === 'sha')!.options.map((o) => o.name)).toEqual(['eta', 'n', 'repeat']);
  });
});
