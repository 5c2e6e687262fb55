// The layer rules of DESIGN.md over a file-level import graph. Paths are repository-relative with
// forward slashes ('src/model/model.ts'); a file's layer is its first folder under src/.

/** One import: `from` imports `to` (both repository-relative; `to` as resolved, or a description). */
export interface ImportEdge {
  from: string;
  to: string;
}

export interface LayerRules {
  /** Layers from left (may import everything to its right) to right, each level a set of folders. */
  levels: string[][];
  /** Folders of one level that may import each other (other folders of one level may not). */
  mutual: string[];
  /** The public entry point: may import every layer but `entryExcludes`; no layer may import it. */
  entry: string;
  entryExcludes: string[];
}

/** Levels of a direction written as DESIGN.md writes it: `cli -> hpo, actors, plot -> fl -> …`. */
export function parseDirection(direction: string): string[][] {
  return direction.split('->').map((level) => level.split(',').map((f) => f.trim()));
}

export const layerOf = (file: string): string | undefined => /^src\/([^/]+)\//.exec(file)?.[1];

/** Every violation of the rules in the graph, one line each (empty when the graph is clean). */
export function checkLayers(files: readonly string[], edges: readonly ImportEdge[], rules: LayerRules): string[] {
  const level = new Map<string, number>();
  rules.levels.forEach((folders, i) => {
    for (const f of folders) level.set(f, i);
  });
  const problems: string[] = [];
  const unknown = new Set<string>();
  for (const file of files) {
    if (!file.startsWith('src/') || file === rules.entry) continue;
    const layer = layerOf(file);
    if (layer === undefined) problems.push(`${file}: a file directly in src/ (only ${rules.entry} is); put it in a layer folder`);
    else if (!level.has(layer) && !unknown.has(layer)) {
      unknown.add(layer);
      problems.push(`src/${layer}/: not a layer of the design's direction; place it there first`);
    }
  }
  for (const { from, to } of edges) {
    if (!from.startsWith('src/')) continue;
    if (!to.startsWith('src/')) {
      problems.push(`${from} imports ${to}, outside src/`);
      continue;
    }
    if (to === rules.entry) {
      problems.push(`${from} imports the public entry point ${rules.entry} (library files import each other directly)`);
      continue;
    }
    const target = layerOf(to);
    if (target === undefined || !level.has(target)) continue; // reported above
    if (from === rules.entry) {
      if (rules.entryExcludes.includes(target)) problems.push(`${from} imports ${to}: the entry point does not export ${target}`);
      continue;
    }
    const source = layerOf(from);
    if (source === undefined || !level.has(source) || source === target) continue;
    const [ls, lt] = [level.get(source)!, level.get(target)!];
    if (lt < ls) problems.push(`${from} imports ${to}: ${source} may not import ${target} (it is to the left of ${source})`);
    else if (lt === ls && !(rules.mutual.includes(source) && rules.mutual.includes(target)))
      problems.push(`${from} imports ${to}: ${source} and ${target} do not import each other`);
  }
  for (const cycle of fileCycles(edges.filter((e) => e.from.startsWith('src/') && e.to.startsWith('src/'))))
    problems.push(`file cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  return problems;
}

/** The strongly connected components of more than one file (or a file importing itself), each as a cycle path. */
export function fileCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  // Tarjan's algorithm, iteratively.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    while (work.length) {
      const frame = work.at(-1)!;
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
      }
      const outs = next.get(v) ?? [];
      if (i < outs.length) {
        frame[1]++;
        const w = outs[i]!;
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(v)!));
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || outs.includes(v)) components.push(cyclePath(comp, next));
      }
    }
  }
  return components;
}

/** One cycle through a strongly connected component, from its first file in sort order. */
function cyclePath(comp: string[], next: Map<string, string[]>): string[] {
  const members = new Set(comp);
  const start = [...comp].sort()[0]!;
  // Breadth-first from start back to start, inside the component.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of next.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}
