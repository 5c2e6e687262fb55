// Symbolic dims in one canonical form: a sum of products of named sizes ('b', 's', 'r', 'p') with
// integer coefficients. Built by the same few operations shape inference uses (add, multiply, exact
// divide, slice), so equal dims compare equal whatever order built them: s*b == b*s, s+p == p+s,
// 2*b*4 == 8*b. What cannot be simplified (a quotient that does not divide evenly, a slice of a
// symbolic size) becomes an opaque factor that still prints, compares and evaluates.

export class ShapeError extends Error {}

/** A size: a number when it is known, else a canonical symbolic expression. */
export type Dim = number | SymDim;
/** What a caller may write for a dim: also strings such as 'b', 'p+s', '2*b*s'. */
export type DimLike = Dim | string;

export type Factor =
  | { kind: 'name'; key: string; name: string }
  | { kind: 'quotient'; key: string; num: Dim; den: Dim }
  | { kind: 'slice'; key: string; of: Dim; start: number; end: number };

/** coeff × product of factors (sorted by key, repeated for powers). */
export interface Term {
  coeff: number;
  factors: readonly Factor[];
}

const monomialKey = (t: Term): string => t.factors.map((f) => f.key).join('*');

/** Graded order: higher degree first, then factor keys in lexicographic order. */
function compareMonomials(a: Term, b: Term): number {
  if (a.factors.length !== b.factors.length) return b.factors.length - a.factors.length;
  for (let i = 0; i < a.factors.length; i++) {
    const x = a.factors[i]!.key;
    const y = b.factors[i]!.key;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function printTerm(t: Term): string {
  if (!t.factors.length) return String(t.coeff);
  const mono = monomialKey(t);
  return t.coeff === 1 ? mono : t.coeff === -1 ? `-${mono}` : `${t.coeff}*${mono}`;
}

/** A symbolic dim in canonical form (never a constant: those are plain numbers). */
export class SymDim {
  /** The canonical text, e.g. 'p+s' or '8*b*s': equal dims have equal keys; exported to ONNX. */
  readonly key: string;

  /** @internal use the functions below; `terms` must already be canonical. */
  constructor(readonly terms: readonly Term[]) {
    this.key = terms.map(printTerm).reduce((acc, t, i) => (i === 0 || t.startsWith('-') ? acc + t : `${acc}+${t}`), '');
  }

  toString(): string {
    return this.key;
  }
}

function termsOf(d: Dim): Term[] {
  if (typeof d === 'number') return d === 0 ? [] : [{ coeff: d, factors: [] }];
  return [...d.terms];
}

/** Combine like terms, drop zeros, sort; a constant result is a plain number. */
function fromTerms(terms: readonly Term[]): Dim {
  const byMonomial = new Map<string, Term>();
  for (const t of terms) {
    const k = monomialKey(t);
    const prev = byMonomial.get(k);
    byMonomial.set(k, { coeff: (prev?.coeff ?? 0) + t.coeff, factors: t.factors });
  }
  const canonical = [...byMonomial.values()].filter((t) => t.coeff !== 0).sort(compareMonomials);
  if (!canonical.length) return 0;
  if (canonical.length === 1 && !canonical[0]!.factors.length) return canonical[0]!.coeff;
  return new SymDim(canonical);
}

const byKey = (a: Factor, b: Factor): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const mulTerms = (a: Term, b: Term): Term => ({ coeff: a.coeff * b.coeff, factors: [...a.factors, ...b.factors].sort(byKey) });
const factorDim = (f: Factor): Dim => new SymDim([{ coeff: 1, factors: [f] }]);

export const symbol = (name: string): SymDim => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ShapeError(`'${name}' is not a valid dim name`);
  return factorDim({ kind: 'name', key: name, name }) as SymDim;
};

export function addDims(a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a + b : fromTerms([...termsOf(a), ...termsOf(b)]);
}

export function subDims(a: Dim, b: Dim): Dim {
  return addDims(a, mulDims(-1, b));
}

export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  return fromTerms(termsOf(a).flatMap((x) => termsOf(b).map((y) => mulTerms(x, y))));
}

export const productOfDims = (dims: readonly Dim[]): Dim => dims.reduce<Dim>((p, d) => mulDims(p, d), 1);

/** t / d as a term when d's factors all occur in t and the coefficients divide evenly. */
function divTerm(t: Term, d: Term): Term | undefined {
  if (t.coeff % d.coeff !== 0) return undefined;
  const left = [...t.factors];
  for (const f of d.factors) {
    const i = left.findIndex((g) => g.key === f.key);
    if (i < 0) return undefined;
    left.splice(i, 1);
  }
  return { coeff: t.coeff / d.coeff, factors: left };
}

/** a / b, exact when b divides a (polynomial long division); otherwise an opaque quotient factor. */
export function divDims(a: Dim, b: Dim): Dim {
  if (b === 0) throw new ShapeError(`dim division by zero: (${a})/0`);
  if (typeof a === 'number' && typeof b === 'number' && a % b === 0) return a / b;
  const divisor = termsOf(b).sort(compareMonomials);
  const lead = divisor[0]!;
  let rest = a;
  const quotient: Term[] = [];
  // Each step cancels the leading term of `rest`; the bound only guards against a bug looping.
  for (let steps = 0; rest !== 0; steps++) {
    if (steps > 1000) throw new Error(`divDims: no progress dividing ${a} by ${b}`);
    const q = divTerm(termsOf(rest).sort(compareMonomials)[0]!, lead);
    if (!q) return factorDim({ kind: 'quotient', key: `(${a})/(${b})`, num: a, den: b });
    quotient.push(q);
    rest = subDims(rest, fromTerms(divisor.map((t) => mulTerms(t, q))));
  }
  return fromTerms(quotient);
}

/** Length of [start, end) of a dim, clamped as ONNX Slice does (negative indices count from the end). */
export function sliceDim(d: Dim, start: number, end: number): Dim {
  if (typeof d === 'number') return sliceLength(d, start, end);
  return factorDim({ kind: 'slice', key: `(${d})[${start}:${end}]`, of: d, start, end });
}

function sliceLength(d: number, start: number, end: number): number {
  const s = Math.max(0, start < 0 ? start + d : start);
  const e = Math.min(d, end < 0 ? end + d : end);
  return Math.max(0, e - s);
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return typeof a === 'number' || typeof b === 'number' ? a === b : a.key === b.key;
}

/**
 * Parse a written dim: integers and names combined with + - * / and parentheses ('p+s', '2*b*s').
 * Numbers pass through.
 */
export function toDim(d: DimLike): Dim {
  if (typeof d !== 'string') return d;
  const tokens = d.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[-+*/()])\s*/gy);
  if (!tokens || tokens.join('').length !== d.length) throw new ShapeError(`cannot parse dim '${d}'`);
  const toks = tokens.map((t) => t.trim());
  let i = 0;
  const fail = (): never => {
    throw new ShapeError(`cannot parse dim '${d}'`);
  };
  const atom = (): Dim => {
    const t = toks[i++] ?? fail();
    if (t === '(') {
      const e = sum();
      if (toks[i++] !== ')') fail();
      return e;
    }
    if (t === '-') return mulDims(-1, atom());
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return symbol(t);
    return fail();
  };
  const product = (): Dim => {
    let v = atom();
    while (toks[i] === '*' || toks[i] === '/') v = toks[i++] === '*' ? mulDims(v, atom()) : divDims(v, atom());
    return v;
  };
  const sum = (): Dim => {
    let v = product();
    while (toks[i] === '+' || toks[i] === '-') v = toks[i++] === '+' ? addDims(v, product()) : subDims(v, product());
    return v;
  };
  const result = sum();
  if (i !== toks.length) fail();
  return result;
}

/** The value of a dim with its named sizes bound, e.g. evalDim('b*s', { b: 2, s: 8 }) = 16. */
export function evalDim(dim: DimLike, bindings: Readonly<Record<string, number>>): number {
  const d = toDim(dim);
  if (typeof d === 'number') return d;
  let total = 0;
  for (const t of d.terms) {
    let v = t.coeff;
    for (const f of t.factors) v *= evalFactor(f, d, bindings);
    total += v;
  }
  return total;
}

function evalFactor(f: Factor, whole: SymDim, bindings: Readonly<Record<string, number>>): number {
  switch (f.kind) {
    case 'name': {
      const v = bindings[f.name];
      if (v === undefined) throw new ShapeError(`no value bound for symbolic dim '${f.name}' (in '${whole}')`);
      if (!Number.isInteger(v) || v < 0) throw new ShapeError(`symbolic dim '${f.name}' bound to ${v}, not a size`);
      return v;
    }
    case 'quotient': {
      const num = evalDim(f.num, bindings);
      const den = evalDim(f.den, bindings);
      if (num % den !== 0) throw new ShapeError(`dim '${f.key}' is ${num}/${den}, not an integer`);
      return num / den;
    }
    case 'slice':
      return sliceLength(evalDim(f.of, bindings), f.start, f.end);
  }
}
