// The module specifiers a TS/JS source file imports: static `import … from '…'` and `import '…'`
// (type-only ones too: a type import is a dependency of the design as much as a value import),
// `export … from '…'`, dynamic `import('…')`, `require('…')` and worker files named by
// `new URL('…', import.meta.url)`. A small lexer skips comments, strings, template literals and
// regular expression literals first, so text that only looks like an import is never taken for one.

type Token = { kind: 'name' | 'punct'; text: string } | { kind: 'string'; text: string; value: string } | { kind: 'other'; text: string };

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER = new Set([
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

const isNameStart = (c: string) => /[A-Za-z_$\u0080-\uffff]/.test(c);
const isNamePart = (c: string) => /[\w$\u0080-\uffff]/.test(c);

/** Tokens of a source file, without comments and whitespace. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  // Brace depth at which each open template literal's `${` began.
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at line ${src.slice(0, i).split('\n').length}`);
  };
  const regexAllowed = (): boolean => {
    const prev = out.at(-1);
    if (!prev) return true;
    if (prev.kind === 'name') return REGEX_AFTER.has(prev.text);
    if (prev.kind === 'punct' && prev.text === '!') {
      // TypeScript's non-null assertion `x! / y` ends an expression; a prefix `!` starts one.
      const before = out.at(-2);
      const endsExpression =
        before !== undefined &&
        ((before.kind === 'name' && !REGEX_AFTER.has(before.text)) || (before.kind === 'punct' && [')', ']'].includes(before.text)));
      return !endsExpression;
    }
    if (prev.kind === 'punct') return ![')', ']', '}'].includes(prev.text);
    return false;
  };
  /** Reads a template literal body from i (after ` or }) to its end or to the next `${`. */
  const templateBody = (): void => {
    const start = i;
    let cooked = '';
    for (;;) {
      const c = src[i];
      if (c === undefined) fail('unterminated template literal');
      if (c === '\\') {
        cooked += src[i + 1] ?? '';
        i += 2;
      } else if (c === '`') {
        i++;
        // A whole template without substitutions is a string for our purpose (import(`./x.js`)).
        if (src[start - 1] === '`') out.push({ kind: 'string', text: src.slice(start - 1, i), value: cooked });
        else out.push({ kind: 'other', text: 'template' });
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth++;
        out.push({ kind: 'punct', text: '${' });
        return;
      } else {
        cooked += c;
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (/\s/.test(c)) i++;
    else if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      i = end + 2;
    } else if (c === '"' || c === "'") {
      let value = '';
      const start = i++;
      while (src[i] !== c) {
        if (i >= src.length || src[i] === '\n') fail('unterminated string');
        if (src[i] === '\\') {
          value += src[i + 1] ?? '';
          i += 2;
        } else value += src[i++];
      }
      i++;
      out.push({ kind: 'string', text: src.slice(start, i), value });
    } else if (c === '`') {
      i++;
      templateBody();
    } else if (c === '}' && templates.length && templates.at(-1) === depth - 1) {
      templates.pop();
      depth--;
      i++;
      templateBody();
    } else if (c === '/' && regexAllowed()) {
      const start = i++;
      let inClass = false;
      while (i < src.length && (inClass || src[i] !== '/')) {
        if (src[i] === '\n') fail('unterminated regular expression');
        if (src[i] === '\\') i++;
        else if (src[i] === '[') inClass = true;
        else if (src[i] === ']') inClass = false;
        i++;
      }
      i++;
      while (i < src.length && isNamePart(src[i]!)) i++;
      out.push({ kind: 'other', text: src.slice(start, i) });
    } else if (isNameStart(c)) {
      const start = i;
      while (i < src.length && isNamePart(src[i]!)) i++;
      out.push({ kind: 'name', text: src.slice(start, i) });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      const start = i;
      while (i < src.length && /[\w.]/.test(src[i]!)) i++;
      out.push({ kind: 'other', text: src.slice(start, i) });
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      // `...` and `?.` matter only as "not a name"; single characters do.
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

export interface ImportRef {
  specifier: string;
  kind: 'static' | 'export' | 'dynamic' | 'require' | 'url';
}

/** Every module a source file imports (see the file comment), in source order. */
export function importsOf(src: string): ImportRef[] {
  const t = tokenize(src);
  const refs: ImportRef[] = [];
  const is = (k: number, text: string) => t[k]?.text === text && t[k]?.kind !== 'string';
  const str = (k: number): string | undefined => {
    const tok = t[k];
    return tok?.kind === 'string' ? tok.value : undefined;
  };
  const from = (k: number): string | undefined => (is(k, 'from') ? str(k + 1) : undefined);
  /** Index after the `}` that closes the `{` at k. */
  const closeBrace = (k: number): number => {
    let d = 0;
    do {
      if (is(k, '{')) d++;
      else if (is(k, '}')) d--;
      k++;
    } while (d > 0 && k < t.length);
    return k;
  };
  /**
   * The module of an import/export clause starting at k: [type] then `* [as x]`, `{ … }` or (for
   * imports) a default name optionally followed by `, * as x` or `, { … }`; then `from '…'`.
   */
  const clause = (k: number, allowDefault: boolean): string | undefined => {
    if (is(k, 'type') && !is(k + 1, 'from') && !is(k + 1, ',')) k++;
    if (allowDefault && t[k]?.kind === 'name' && !is(k, 'from')) {
      k++;
      if (!is(k, ',')) return from(k);
      k++;
    }
    if (is(k, '*')) return from(is(k + 1, 'as') ? k + 3 : k + 1);
    if (is(k, '{')) return from(closeBrace(k));
    return undefined;
  };
  for (let k = 0; k < t.length; k++) {
    const tok = t[k]!;
    if (tok.kind !== 'name') continue;
    const afterDot = is(k - 1, '.');
    if (tok.text === 'import' && !afterDot) {
      if (is(k + 1, '(') && str(k + 2) !== undefined) refs.push({ specifier: str(k + 2)!, kind: 'dynamic' });
      else if (str(k + 1) !== undefined) refs.push({ specifier: str(k + 1)!, kind: 'static' });
      else if (!is(k + 1, '.') && !is(k + 1, '(')) {
        const spec = clause(k + 1, true);
        if (spec !== undefined) refs.push({ specifier: spec, kind: 'static' });
      }
    } else if (tok.text === 'export' && !afterDot) {
      const spec = clause(k + 1, false);
      if (spec !== undefined) refs.push({ specifier: spec, kind: 'export' });
    } else if (tok.text === 'require' && !afterDot && is(k + 1, '(') && str(k + 2) !== undefined && is(k + 3, ')')) {
      refs.push({ specifier: str(k + 2)!, kind: 'require' });
    } else if (
      tok.text === 'URL' &&
      is(k - 1, 'new') &&
      is(k + 1, '(') &&
      str(k + 2) !== undefined &&
      is(k + 3, ',') &&
      is(k + 4, 'import') &&
      is(k + 5, '.') &&
      is(k + 6, 'meta') &&
      is(k + 7, '.') &&
      is(k + 8, 'url')
    ) {
      refs.push({ specifier: str(k + 2)!, kind: 'url' });
    }
  }
  return refs;
}
