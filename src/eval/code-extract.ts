// Pulling the program out of a model generation for pass@1 scoring. Pure string work: nothing here
// parses with V8 or runs the code (the sandbox worker compiles the candidates and picks the first
// that parses).

const FENCE = /```[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:\n[ \t]*```|$)/g;
const JS_LANGS = new Set(['', 'js', 'javascript', 'jsx', 'mjs', 'cjs', 'node', 'ts', 'typescript']);

/**
 * The code inside markdown fences: the first fenced block that mentions `entry` (else the first
 * JavaScript-looking block, else the first block); an unclosed final fence runs to the end. Text
 * without fences is returned unchanged.
 */
export function stripFences(output: string, entry?: string): string {
  const blocks: { lang: string; body: string }[] = [];
  for (const m of output.matchAll(FENCE)) blocks.push({ lang: m[1]!.toLowerCase(), body: m[2]! });
  if (!blocks.length) return output;
  const mentions = entry ? new RegExp(`(^|[^\\w$])${entry.replace(/\$/g, '\\$')}([^\\w$]|$)`) : null;
  const pick = (mentions && blocks.find((b) => mentions.test(b.body))) ?? blocks.find((b) => JS_LANGS.has(b.lang)) ?? blocks[0]!;
  return pick.body;
}

/** Where a top-level definition can start: `function name(`, `async function name(`, `function* name(`, `const|let|var name =`. */
const UNIT_START = /(?:async[ \t]+)?function\b[ \t]*\*?[ \t]*[A-Za-z_$][\w$]*[ \t]*\(|(?:const|let|var)[ \t]+[A-Za-z_$][\w$]*[ \t]*=/y;
const UNIT_ANYWHERE = new RegExp(UNIT_START.source, 'g');

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

const isIdentChar = (c: string): boolean => /[\w$]/.test(c);

/**
 * End (exclusive) of the definition starting at `start`: brace-balanced, aware of strings, template
 * literals (with nested `${}`), comments and regular-expression literals. The definition ends when
 * a `}` closes the last open bracket (a function body, an arrow body, an object literal) — plus a
 * directly following `;` — or at a `;` outside all brackets. -1 when it never ends or the brackets
 * do not match (a truncated or broken generation).
 */
export function definitionEnd(src: string, start: number): number {
  const stack: string[] = [];
  // Whether a `/` here would start a regex: true at the start and after punctuators/keywords.
  let regexOk = true;
  let i = start;
  const n = src.length;

  const afterClose = (j: number): number => {
    // Swallow a `;` on the same line right after the closing brace.
    let k = j;
    while (k < n && (src[k] === ' ' || src[k] === '\t')) k++;
    return src[k] === ';' ? k + 1 : j;
  };

  /** Scan template characters from i (just after "`" or after an interpolation's "}"). */
  const template = (): boolean => {
    while (i < n) {
      const c = src[i]!;
      if (c === '\\') {
        i += 2;
      } else if (c === '`') {
        i++;
        return true;
      } else if (c === '$' && src[i + 1] === '{') {
        stack.push('${');
        i += 2;
        regexOk = true;
        return true;
      } else {
        i++;
      }
    }
    return false;
  };

  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) return -1;
      i = end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') return -1;
        i++;
      }
      if (i >= n) return -1;
      i++;
      regexOk = false;
      continue;
    }
    if (c === '`') {
      i++;
      if (!template()) return -1;
      regexOk = false;
      continue;
    }
    if (c === '/' && regexOk) {
      i++;
      let inClass = false;
      while (i < n) {
        const d = src[i]!;
        if (d === '\n') return -1;
        if (d === '\\') i++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        i++;
      }
      if (i >= n) return -1;
      i++;
      while (i < n && isIdentChar(src[i]!)) i++; // flags
      regexOk = false;
      continue;
    }
    if (isIdentChar(c)) {
      const s = i;
      while (i < n && isIdentChar(src[i]!)) i++;
      const word = src.slice(s, i);
      regexOk = REGEX_AFTER_WORD.has(word);
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      stack.push(c);
      i++;
      regexOk = true;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      i++;
      if (c === '}' && open === '${') {
        if (!template()) return -1;
        regexOk = false;
        continue;
      }
      if (open !== { ')': '(', ']': '[', '}': '{' }[c]) return -1;
      if (c === '}' && stack.length === 0) return afterClose(i);
      regexOk = c === '}';
      continue;
    }
    if (c === ';' && stack.length === 0) return i + 1;
    i++;
    regexOk = true;
  }
  return -1;
}

/** Skip whitespace, comments and stray semicolons from i. */
function skipTrivia(src: string, i: number): number {
  for (;;) {
    const m = /^(?:\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|;)/.exec(src.slice(i));
    if (!m) return i;
    i += m[0].length;
  }
}

/** End of the run of consecutive top-level definitions starting at `start`, or -1. */
function definitionsEnd(src: string, start: number): number {
  let end = definitionEnd(src, start);
  if (end < 0) return -1;
  for (;;) {
    const next = skipTrivia(src, end);
    UNIT_START.lastIndex = next;
    if (next >= src.length || !UNIT_START.test(src)) return end;
    const more = definitionEnd(src, next);
    if (more < 0) return end;
    end = more;
  }
}

/**
 * Programs to try, most plausible first (the sandbox runs the first one that compiles):
 *  - fences stripped; from the start to the end of the first complete top-level definition (and
 *    any definitions directly following it), so trailing junk ("Explanation: ...", a test call, a
 *    new "### Instruction") is cut;
 *  - the same run of definitions without the text before it (a prose preamble);
 *  - the whole fence-stripped text;
 *  - the same cuts for the next two places a definition seems to start (line starts first).
 */
export function extractCodeCandidates(output: string, entry?: string): string[] {
  const text = stripFences(output, entry);
  const out: string[] = [];
  const add = (s: string): void => {
    const t = s.trim();
    if (t && !out.includes(t)) out.push(t);
  };
  // Top-level definitions start a line; indented matches (a `const` inside a body) come last.
  const starts = [...text.matchAll(UNIT_ANYWHERE)]
    .map((m) => ({ at: m.index, indented: m.index > 0 && text[m.index - 1] !== '\n' }))
    .sort((a, b) => Number(a.indented) - Number(b.indented) || a.at - b.at)
    .slice(0, 3);
  starts.forEach(({ at }, k) => {
    const end = definitionsEnd(text, at);
    if (end >= 0) {
      add(text.slice(0, end));
      add(text.slice(at, end));
    }
    if (k === 0) add(text);
  });
  add(text);
  return out.length ? out : [''];
}

/** The most plausible program in a generation (the first candidate). */
export function extractCode(output: string, entry?: string): string {
  return extractCodeCandidates(output, entry)[0]!;
}
