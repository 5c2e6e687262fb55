// The file-level import graph of the repository's own sources, read from disk: every relative
// import of every .ts / .js file under the given folders, resolved as NodeNext resolves it
// (`./x.js` is `./x.ts` when that exists). Package imports (`yaml`, `node:fs`) are not edges.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { importsOf } from './imports.js';
import type { ImportEdge } from './rules.js';

const SOURCE = /\.(ts|js|mts|mjs)$/;

async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, dir), { withFileTypes: true })) {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(root, rel)));
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The repository-relative file a relative specifier names, or undefined when nothing is there. */
export function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = /\.js$/.test(target) ? [target.replace(/\.js$/, '.ts'), target] : [target];
  return candidates.find((c) => existsSync(join(root, c)));
}

export interface SourceGraph {
  files: string[];
  edges: ImportEdge[];
  /** Relative imports that name no file: `file: specifier`. */
  unresolved: string[];
}

export async function sourceGraph(root: string, folders: string[]): Promise<SourceGraph> {
  const files = (await Promise.all(folders.map((f) => walk(root, f)))).flat().sort();
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    let refs: ReturnType<typeof importsOf>;
    try {
      refs = importsOf(await readFile(join(root, file), 'utf8'));
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    for (const ref of refs) {
      if (!ref.specifier.startsWith('.')) continue;
      const to = resolveSpecifier(root, file, ref.specifier);
      // A URL may name a data folder (the shipped model); only source files are dependencies.
      if (ref.kind === 'url' && (to === undefined || !SOURCE.test(to))) continue;
      if (to === undefined) unresolved.push(`${file}: ${ref.specifier}`);
      else edges.push({ from: file, to });
    }
  }
  return { files, edges, unresolved };
}
