// Dependencies point one way, as DESIGN.md draws them: each layer imports only its own folder and
// the layers to its right; hpo, actors and plot share a level and may import each other; eval and
// peft never import each other; src/index.ts may import every layer but cli; no file cycles; no
// folder outside the direction; no exceptions. bench/ uses the library, never the CLI.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { sourceGraph, type SourceGraph } from './layers/graph.js';
import { importsOf } from './layers/imports.js';
import { checkLayers, fileCycles, parseDirection, type LayerRules } from './layers/rules.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** DESIGN.md, "Layout": the direction exactly as written there. */
const DIRECTION = 'cli -> hpo, actors, plot -> fl -> eval, peft -> model -> data -> engine';
const RULES: LayerRules = {
  levels: parseDirection(DIRECTION),
  // "hpo, actors and plot sit on one level and may import each other, without file circles;
  // eval and peft do not import each other."
  mutual: ['hpo', 'actors', 'plot'],
  entry: 'src/index.ts',
  entryExcludes: ['cli'],
};

describe('the source tree', () => {
  let graph: SourceGraph;
  beforeAll(async () => {
    graph = await sourceGraph(ROOT, ['src', 'bench']);
  });

  it("follows DESIGN.md's import direction, with no file cycle", () => {
    expect(graph.files.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(40);
    expect(graph.unresolved).toEqual([]);
    expect(checkLayers(graph.files, graph.edges, RULES)).toEqual([]);
  });

  it('has only known layers under src/', async () => {
    const known = RULES.levels.flat();
    const folders = (await readdir(resolve(ROOT, 'src'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !known.includes(f))).toEqual([]);
  });

  it('bench/ imports library modules, never the CLI', () => {
    const fromBench = graph.edges.filter((e) => e.from.startsWith('bench/'));
    expect(fromBench.length).toBeGreaterThan(10);
    expect(fromBench.filter((e) => !/^(src\/(?!cli\/)|bench\/)/.test(e.to))).toEqual([]);
  });

  it('finds exactly the relative imports the TypeScript compiler resolves in src/', async () => {
    const tsc = resolve(ROOT, 'node_modules/.bin/tsc');
    const { stdout } = await promisify(execFile)(tsc, ['-p', 'tsconfig.build.json', '--noEmit', '--traceResolution'], {
      cwd: ROOT,
      maxBuffer: 256 << 20,
    });
    const prefix = `${ROOT}/`;
    const compiler = new Set<string>();
    for (const m of stdout.matchAll(/^======== Resolving module '(\.[^']*)' from '([^']+)'/gm))
      if (m[2]!.startsWith(`${prefix}src/`)) compiler.add(`${m[2]!.slice(prefix.length)} ${m[1]}`);
    const ours = new Set<string>();
    for (const f of graph.files.filter((x) => x.startsWith('src/')))
      for (const r of importsOf(await readFile(resolve(ROOT, f), 'utf8')))
        if (r.specifier.startsWith('.') && r.kind !== 'url') ours.add(`${f} ${r.specifier}`);
    expect(compiler.size).toBeGreaterThan(100);
    expect([...ours].sort()).toEqual([...compiler].sort());
  });
});

describe('the layer checker', () => {
  const files = [
    'src/index.ts',
    'src/engine/a.ts',
    'src/data/d.ts',
    'src/model/m.ts',
    'src/eval/e.ts',
    'src/peft/p.ts',
    'src/fl/f.ts',
    'src/hpo/h.ts',
    'src/actors/x.ts',
    'src/plot/y.ts',
    'src/cli/c.ts',
    'src/stray/s.ts',
    'src/loose.ts',
  ];
  const edge = (from: string, to: string) => ({ from: `src/${from}`, to: `src/${to}` });

  it('accepts imports to the right, within a folder, among hpo/actors/plot and from the entry point', () => {
    const clean = [
      edge('cli/c.ts', 'hpo/h.ts'),
      edge('cli/c.ts', 'engine/a.ts'),
      edge('hpo/h.ts', 'actors/x.ts'),
      edge('actors/x.ts', 'plot/y.ts'),
      edge('hpo/h.ts', 'fl/f.ts'),
      edge('fl/f.ts', 'eval/e.ts'),
      edge('fl/f.ts', 'peft/p.ts'),
      edge('eval/e.ts', 'model/m.ts'),
      edge('peft/p.ts', 'data/d.ts'),
      edge('model/m.ts', 'engine/a.ts'),
      edge('index.ts', 'fl/f.ts'),
      edge('index.ts', 'hpo/h.ts'),
    ];
    expect(checkLayers(files.slice(0, 11), clean, RULES)).toEqual([]);
  });

  it('reports every kind of violation and a cycle', () => {
    const bad = [
      edge('engine/a.ts', 'model/m.ts'), // upward
      edge('eval/e.ts', 'peft/p.ts'), // eval and peft
      edge('hpo/h.ts', 'actors/x.ts'), // a cycle on the mutual level
      edge('actors/x.ts', 'hpo/h.ts'),
      edge('index.ts', 'cli/c.ts'), // the entry point exports no CLI
      edge('model/m.ts', 'index.ts'), // a library file through the entry point
      { from: 'src/data/d.ts', to: 'test/helper.ts' }, // outside src
    ];
    const problems = checkLayers(files, bad, RULES);
    expect(problems).toEqual([
      "src/stray/: not a layer of the design's direction; place it there first",
      'src/loose.ts: a file directly in src/ (only src/index.ts is); put it in a layer folder',
      'src/engine/a.ts imports src/model/m.ts: engine may not import model (it is to the left of engine)',
      'src/eval/e.ts imports src/peft/p.ts: eval and peft do not import each other',
      'src/index.ts imports src/cli/c.ts: the entry point does not export cli',
      'src/model/m.ts imports the public entry point src/index.ts (library files import each other directly)',
      'src/data/d.ts imports test/helper.ts, outside src/',
      'file cycle: src/actors/x.ts -> src/hpo/h.ts -> src/actors/x.ts',
    ]);
  });

  it('finds cycles of any length, and a file importing itself', () => {
    const ring = ['a', 'b', 'c', 'd'].map((n, i, all) => ({ from: n, to: all[(i + 1) % all.length]! }));
    expect(fileCycles([...ring, { from: 'd', to: 'e' }, { from: 'e', to: 'e' }, { from: 'x', to: 'a' }])).toEqual([
      ['e'],
      ['a', 'b', 'c', 'd'],
    ]);
    expect(fileCycles([...ring.slice(0, 3)])).toEqual([]);
  });

  it('reads the direction as DESIGN.md writes it', () => {
    expect(parseDirection(DIRECTION)).toEqual([
      ['cli'],
      ['hpo', 'actors', 'plot'],
      ['fl'],
      ['eval', 'peft'],
      ['model'],
      ['data'],
      ['engine'],
    ]);
  });
});

describe('importsOf', () => {
  const specs = (src: string) => importsOf(src).map((r) => `${r.kind} ${r.specifier}`);

  it('finds static, type-only, side-effect, re-export, dynamic, require and worker-URL imports', () => {
    const src = `
      import a from './a.js';
      import type { B } from "./b.js";
      import c, { d as e } from './cd.js';
      import * as ns from './ns.js';
      import './side-effect.js';
      import type T from './t.js';
      export { x } from './x.js';
      export type { Y } from './y.js';
      export * from './star.js';
      export * as all from './all.js';
      const lazy = await import('./lazy.js');
      const tpl = await import(\`./tpl.js\`);
      const r = require('./req.cjs');
      const w = new Worker(new URL('./worker.js', import.meta.url));
      export const local = 1;
      export function f() {}
      export { local as other };
    `;
    expect(specs(src)).toEqual([
      'static ./a.js',
      'static ./b.js',
      'static ./cd.js',
      'static ./ns.js',
      'static ./side-effect.js',
      'static ./t.js',
      'export ./x.js',
      'export ./y.js',
      'export ./star.js',
      'export ./all.js',
      'dynamic ./lazy.js',
      'dynamic ./tpl.js',
      'require ./req.cjs',
      'url ./worker.js',
    ]);
  });

  it('ignores look-alikes in comments, strings, templates and regular expressions', () => {
    const src = `
      // import x from './comment.js';
      /* export * from './block.js'; */
      const s = "import y from './string.js'";
      const t = \`import('./template.js') \${ "import z from './nested.js'" } \`;
      const re = /import a from '.\\/regex.js'/;
      const half = n! / 2; const q = "'"; import real from './real.js';
      const meta = import.meta.url;
      obj.import('./method.js');
      const div = a / b / c; export { v } from './after-division.js';
    `;
    expect(specs(src)).toEqual(['static ./real.js', 'export ./after-division.js']);
  });
});
