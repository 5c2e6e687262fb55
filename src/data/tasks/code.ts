// Built-in task "code", like Fed-CodeAlpaca's per-language split: small programming exercises whose
// answers are short JavaScript functions, in 9 task families (one meta client each, unbalanced in
// size). Each instance varies the function name, parameter names, constants and wording; the
// reference carries 3-5 hidden test cases computed by an independent TypeScript implementation.
//
// A third of the same kinds (with a disjoint pool of function names, plus a few extra kinds) render
// the commented snippets of the pretraining corpus: see CORPUS_CODE_KINDS.
import { Rng } from '../../engine/rng.js';
import { between, buildMetaTask, cap, pick } from './common.js';
import type { CodeTest, TaskData, TaskInfo, TaskRecord } from './types.js';

export const CODE_FAMILIES = [
  'arithmetic',
  'strings',
  'arrays-sum',
  'arrays-filter',
  'conditionals',
  'loops',
  'booleans',
  'objects',
  'counting',
] as const;
export type CodeFamily = (typeof CODE_FAMILIES)[number];

/** Relative family sizes: heterogeneous clients. */
const FAMILY_WEIGHTS: Record<CodeFamily, number> = {
  arithmetic: 1.5,
  strings: 1.3,
  'arrays-sum': 0.8,
  'arrays-filter': 1.0,
  conditionals: 1.2,
  loops: 0.7,
  booleans: 1.0,
  objects: 0.6,
  counting: 0.9,
};

export const CODE_SIZES = { train: 1350, validation: 180, test: 180 };

/** One rendered exercise. */
export interface CodeItem {
  family: CodeFamily | 'extra';
  kind: string;
  entry: string;
  params: string[];
  /** What the function does, starting with a verb: "returns x multiplied by 3". */
  what: string;
  code: string;
  tests: CodeTest[];
}

/**
 * Function names are a stem plus a suffix. Corpus names mix every suffix (and more), so a name's
 * ending cannot be guessed from its stem; the task's own names are kept out of the corpus by
 * codeSnippet's `avoid` set.
 */
export type NameStyle = 'task' | 'corpus';
const SUFFIXES: Record<NameStyle, readonly string[]> = {
  task: ['', 'It', 'Value', 'Result'],
  corpus: ['', 'It', 'Value', 'Result', 'Fn', 'Of', 'Helper', 'Calc', 'Impl', 'Now', 'Out', 'Op', 'Func', 'Val', 'Thing'],
};

const NUM_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const W = (k: number): string => cap(NUM_WORDS[k] ?? String(k));

const NUM_PARAMS = ['x', 'n', 'num', 'value'];
const STR_PARAMS = ['s', 'str', 'text', 'word'];
const ARR_PARAMS = ['arr', 'nums', 'list', 'values'];
const WORDS_PARAMS = ['words', 'names', 'items'];
const OBJ_PARAMS = ['obj', 'item', 'record', 'data'];
const PAIR_PARAMS: readonly [string, string][] = [
  ['a', 'b'],
  ['x', 'y'],
  ['m', 'n'],
  ['first', 'second'],
];

const WORDS = [
  'apple',
  'river',
  'stone',
  'cat',
  'moon',
  'garden',
  'lamp',
  'tree',
  'bird',
  'sun',
  'cloud',
  'boat',
  'ant',
  'echo',
  'idea',
  'orange',
  'table',
  'road',
  'sea',
  'kite',
  'banana',
  'owl',
  'door',
  'pen',
];
const LETTERS = 'abcdefghiklmnoprstw'.split('');
const OBJ_KEYS = ['name', 'age', 'price', 'score', 'color', 'size', 'count', 'title', 'level', 'speed'];

const LEADS = [
  'Write a JavaScript function',
  'Create a JavaScript function',
  'Implement a JavaScript function',
  'Write a function in JavaScript called',
];

// biome-ignore lint/suspicious/noExplicitAny: reference solutions of any signature, called with generated args
type Fn = (...args: any[]) => unknown;

/** A kind's concrete instance before naming: stems, params, description, body lines, truth, args. */
interface Spec {
  stems: string[];
  params: string[];
  what: string;
  body: string[];
  fn: Fn;
  args: () => unknown[];
}

interface Kind {
  id: string;
  family: CodeFamily | 'extra';
  make(rng: Rng): Spec;
}

const num = (rng: Rng, lo = 0, hi = 20): number => between(rng, lo, hi);
const numArr = (rng: Rng, lo = 0, hi = 12, minLen = 3, maxLen = 6): number[] =>
  Array.from({ length: between(rng, minLen, maxLen) }, () => num(rng, lo, hi));
const word = (rng: Rng): string => pick(rng, WORDS);
const wordArr = (rng: Rng): string[] => Array.from({ length: between(rng, 2, 5) }, () => word(rng));
const sentence = (rng: Rng): string => wordArr(rng).join(' ');
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const q = (s: string): string => `'${s}'`;
const REDUCE_SUM = (arr: string): string => `${arr}.reduce((sum, v) => sum + v, 0)`;

/** An object holding `key` (and maybe other keys) with small numeric or word values. */
function objWith(rng: Rng, keys: string[]): Record<string, number | string> {
  const o: Record<string, number | string> = {};
  const extra = OBJ_KEYS.filter((k) => !keys.includes(k));
  const all = [...keys];
  for (let i = between(rng, 0, 2); i > 0; i--) all.push(pick(rng, extra));
  for (const k of rng.shuffle(all)) o[k] = k === 'name' || k === 'color' || k === 'title' ? word(rng) : num(rng, 0, 30);
  return o;
}

const numericKey = (rng: Rng): string =>
  pick(
    rng,
    OBJ_KEYS.filter((k) => k !== 'name' && k !== 'color' && k !== 'title'),
  );

export const CODE_KINDS: readonly Kind[] = [
  // ---- arithmetic
  {
    id: 'mul-k',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const x = pick(rng, NUM_PARAMS);
      const stems = [`times${W(k)}`, `multiplyBy${W(k)}`, `scaleBy${W(k)}`];
      if (k === 2) stems.push('double');
      if (k === 3) stems.push('triple');
      return {
        stems,
        params: [x],
        what: `returns ${x} multiplied by ${k}`,
        body: [`return ${x} * ${k};`],
        fn: (v: number) => v * k,
        args: () => [num(rng)],
      };
    },
  },
  {
    id: 'add-k',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`add${W(k)}`, `plus${W(k)}`, `increaseBy${W(k)}`],
        params: [x],
        what: `returns ${x} plus ${k}`,
        body: [`return ${x} + ${k};`],
        fn: (v: number) => v + k,
        args: () => [num(rng)],
      };
    },
  },
  {
    id: 'sub-k',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`subtract${W(k)}`, `minus${W(k)}`, `decreaseBy${W(k)}`],
        params: [x],
        what: `returns ${x} minus ${k}`,
        body: [`return ${x} - ${k};`],
        fn: (v: number) => v - k,
        args: () => [num(rng, 10, 30)],
      };
    },
  },
  {
    id: 'linear',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const b = between(rng, 1, 9);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['linear', 'scaleAndShift', 'applyRule', 'computeLine'],
        params: [x],
        what: `returns ${x} times ${k} plus ${b}`,
        body: [`return ${x} * ${k} + ${b};`],
        fn: (v: number) => v * k + b,
        args: () => [num(rng)],
      };
    },
  },
  {
    id: 'sum-times',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: [`sumTimes${W(k)}`, 'addThenScale', 'combine'],
        params: [a, b],
        what: `returns the sum of ${a} and ${b} multiplied by ${k}`,
        body: [`return (${a} + ${b}) * ${k};`],
        fn: (u: number, v: number) => (u + v) * k,
        args: () => [num(rng), num(rng)],
      };
    },
  },
  {
    id: 'square',
    family: 'arithmetic',
    make(rng) {
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['square', 'squareOf', 'selfMultiply', 'squared'],
        params: [x],
        what: `returns ${x} multiplied by itself`,
        body: [`return ${x} * ${x};`],
        fn: (v: number) => v * v,
        args: () => [num(rng, 0, 12)],
      };
    },
  },
  {
    id: 'mod-k',
    family: 'arithmetic',
    make(rng) {
      const k = between(rng, 2, 9);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`mod${W(k)}`, `remainderBy${W(k)}`, `leftOver${W(k)}`],
        params: [x],
        what: `returns the remainder when ${x} is divided by ${k}`,
        body: [`return ${x} % ${k};`],
        fn: (v: number) => v % k,
        args: () => [num(rng, 0, 40)],
      };
    },
  },
  {
    id: 'average-2',
    family: 'arithmetic',
    make(rng) {
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: ['average', 'mean', 'midpoint', 'halfway'],
        params: [a, b],
        what: `returns the average of ${a} and ${b}`,
        body: [`return (${a} + ${b}) / 2;`],
        fn: (u: number, v: number) => (u + v) / 2,
        args: () => [num(rng), num(rng)],
      };
    },
  },
  // ---- strings
  {
    id: 'greet',
    family: 'strings',
    make(rng) {
      const g = pick(rng, ['Hello', 'Hi', 'Welcome', 'Good morning', 'Hey', 'Goodbye']);
      const p = pick(rng, ['name', 'who', 'person', 'user']);
      return {
        stems: ['greet', 'makeGreeting', 'greeting', 'welcomeUser', 'salute'],
        params: [p],
        what: `returns the string '${g}, ' followed by ${p}`,
        body: [`return ${q(`${g}, `)} + ${p};`],
        fn: (s: string) => `${g}, ${s}`,
        args: () => [cap(word(rng))],
      };
    },
  },
  {
    id: 'suffix',
    family: 'strings',
    make(rng) {
      const suf = pick(rng, ['!', '?', '...', ' please', ' now', 'ing', 's', '!!', ' again']);
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['addSuffix', 'appendEnd', 'withEnding', 'decorate', 'extend'],
        params: [s],
        what: `returns ${s} followed by '${suf}'`,
        body: [`return ${s} + ${q(suf)};`],
        fn: (v: string) => v + suf,
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'prefix',
    family: 'strings',
    make(rng) {
      const pre = pick(rng, ['re', 'un', 'my ', 'the ', 'big ', 'a ', 'super', 'mini']);
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['addPrefix', 'prepend', 'withStart', 'label'],
        params: [s],
        what: `returns '${pre}' followed by ${s}`,
        body: [`return ${q(pre)} + ${s};`],
        fn: (v: string) => pre + v,
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'upper',
    family: 'strings',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['shout', 'toUpper', 'upperCase', 'loud'],
        params: [s],
        what: `returns ${s} in upper case`,
        body: [`return ${s}.toUpperCase();`],
        fn: (v: string) => v.toUpperCase(),
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'first-char',
    family: 'strings',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['firstChar', 'firstLetter', 'initial', 'head'],
        params: [s],
        what: `returns the first character of ${s}`,
        body: [`return ${s}[0];`],
        fn: (v: string) => v[0],
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'last-char',
    family: 'strings',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['lastChar', 'lastLetter', 'finalChar', 'tail'],
        params: [s],
        what: `returns the last character of ${s}`,
        body: [`return ${s}[${s}.length - 1];`],
        fn: (v: string) => v[v.length - 1],
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'repeat-k',
    family: 'strings',
    make(rng) {
      const k = between(rng, 2, 5);
      const s = pick(rng, STR_PARAMS);
      return {
        stems: [`repeat${W(k)}`, `echo${W(k)}`, `${NUM_WORDS[k]}Times`],
        params: [s],
        what: `returns ${s} repeated ${k} times`,
        body: [`return ${s}.repeat(${k});`],
        fn: (v: string) => v.repeat(k),
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'reverse',
    family: 'strings',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['reverse', 'backwards', 'flip', 'mirror'],
        params: [s],
        what: `returns ${s} reversed`,
        body: [`return ${s}.split('').reverse().join('');`],
        fn: (v: string) => [...v].reverse().join(''),
        args: () => [word(rng)],
      };
    },
  },
  // ---- arrays-sum
  {
    id: 'sum',
    family: 'arrays-sum',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['sumAll', 'total', 'addUp', 'sumList'],
        params: [a],
        what: `returns the sum of the numbers in ${a}`,
        body: [`return ${REDUCE_SUM(a)};`],
        fn: sum,
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'sum-plus-k',
    family: 'arrays-sum',
    make(rng) {
      const k = between(rng, 1, 9);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`sumPlus${W(k)}`, 'totalWithBonus', 'addUpExtra'],
        params: [a],
        what: `returns the sum of the numbers in ${a} plus ${k}`,
        body: [`return ${REDUCE_SUM(a)} + ${k};`],
        fn: (xs: number[]) => sum(xs) + k,
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'sum-times-k',
    family: 'arrays-sum',
    make(rng) {
      const k = between(rng, 2, 9);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`sumTimes${W(k)}`, 'scaledTotal', `total${W(k)}Fold`],
        params: [a],
        what: `returns the sum of the numbers in ${a} multiplied by ${k}`,
        body: [`return ${REDUCE_SUM(a)} * ${k};`],
        fn: (xs: number[]) => sum(xs) * k,
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'sum-squares',
    family: 'arrays-sum',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['sumSquares', 'squareTotal', 'addSquares'],
        params: [a],
        what: `returns the sum of the squares of the numbers in ${a}`,
        body: [`return ${a}.reduce((sum, v) => sum + v * v, 0);`],
        fn: (xs: number[]) => sum(xs.map((v) => v * v)),
        args: () => [numArr(rng, 0, 9)],
      };
    },
  },
  {
    id: 'product',
    family: 'arrays-sum',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['product', 'multiplyAll', 'productOf'],
        params: [a],
        what: `returns the product of the numbers in ${a}`,
        body: [`return ${a}.reduce((prod, v) => prod * v, 1);`],
        fn: (xs: number[]) => xs.reduce((p, v) => p * v, 1),
        args: () => [numArr(rng, 1, 6, 2, 4)],
      };
    },
  },
  {
    id: 'sum-first-k',
    family: 'arrays-sum',
    make(rng) {
      const k = between(rng, 2, 4);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`sumFirst${W(k)}`, `first${W(k)}Total`, `addFirst${W(k)}`],
        params: [a],
        what: `returns the sum of the first ${k} numbers in ${a}`,
        body: [`return ${a}.slice(0, ${k}).reduce((sum, v) => sum + v, 0);`],
        fn: (xs: number[]) => sum(xs.slice(0, k)),
        args: () => [numArr(rng, 0, 12, k, 6)],
      };
    },
  },
  {
    id: 'sum-evens',
    family: 'arrays-sum',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['sumEvens', 'evenTotal', 'addEvens'],
        params: [a],
        what: `returns the sum of the even numbers in ${a}`,
        body: [`return ${a}.filter((v) => v % 2 === 0).reduce((sum, v) => sum + v, 0);`],
        fn: (xs: number[]) => sum(xs.filter((v) => v % 2 === 0)),
        args: () => [numArr(rng)],
      };
    },
  },
  // ---- arrays-filter
  ...(
    [
      ['greater than', (k: number) => [`above${W(k)}`, `greaterThan${W(k)}`, `keepOver${W(k)}`], '>', (v: number, k: number) => v > k],
      ['less than', (k: number) => [`below${W(k)}`, `lessThan${W(k)}`, `keepUnder${W(k)}`], '<', (v: number, k: number) => v < k],
      ['not equal to', (k: number) => [`remove${W(k)}s`, `without${W(k)}`, `drop${W(k)}`], '!==', (v: number, k: number) => v !== k],
    ] as const
  ).map(
    ([rel, stems, op, test]): Kind => ({
      id: `filter-${op}`,
      family: 'arrays-filter',
      make(rng) {
        const k = between(rng, 2, 9);
        const a = pick(rng, ARR_PARAMS);
        return {
          stems: stems(k),
          params: [a],
          what: `returns the numbers in ${a} that are ${rel} ${k}`,
          body: [`return ${a}.filter((v) => v ${op} ${k});`],
          fn: (xs: number[]) => xs.filter((v) => test(v, k)),
          args: () => [numArr(rng)],
        };
      },
    }),
  ),
  ...(
    [
      ['even', ['evens', 'keepEven', 'onlyEven'], '=== 0', (v: number) => v % 2 === 0],
      ['odd', ['odds', 'keepOdd', 'onlyOdd'], '=== 1', (v: number) => v % 2 === 1],
    ] as const
  ).map(
    ([parity, stems, cmp, test]): Kind => ({
      id: `filter-${parity}`,
      family: 'arrays-filter',
      make(rng) {
        const a = pick(rng, ARR_PARAMS);
        return {
          stems: [...stems],
          params: [a],
          what: `returns the ${parity} numbers in ${a}`,
          body: [`return ${a}.filter((v) => v % 2 ${cmp});`],
          fn: (xs: number[]) => xs.filter(test),
          args: () => [numArr(rng)],
        };
      },
    }),
  ),
  {
    id: 'filter-div',
    family: 'arrays-filter',
    make(rng) {
      const k = between(rng, 3, 5);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`multiplesOf${W(k)}`, `divisibleBy${W(k)}`, `keepMultiples${W(k)}`],
        params: [a],
        what: `returns the numbers in ${a} that are divisible by ${k}`,
        body: [`return ${a}.filter((v) => v % ${k} === 0);`],
        fn: (xs: number[]) => xs.filter((v) => v % k === 0),
        args: () => [numArr(rng, 0, 20)],
      };
    },
  },
  {
    id: 'filter-long-words',
    family: 'arrays-filter',
    make(rng) {
      const k = between(rng, 2, 5);
      const a = pick(rng, WORDS_PARAMS);
      return {
        stems: [`longerThan${W(k)}`, 'longWords', `wordsOver${W(k)}`],
        params: [a],
        what: `returns the words in ${a} that have more than ${k} letters`,
        body: [`return ${a}.filter((w) => w.length > ${k});`],
        fn: (xs: string[]) => xs.filter((w) => w.length > k),
        args: () => [wordArr(rng)],
      };
    },
  },
  {
    id: 'filter-starts',
    family: 'arrays-filter',
    make(rng) {
      const c = pick(rng, LETTERS);
      const a = pick(rng, WORDS_PARAMS);
      return {
        stems: [`onlyStarting${cap(c)}`, `wordsWith${cap(c)}`, `keep${cap(c)}Words`],
        params: [a],
        what: `returns the words in ${a} that start with the letter '${c}'`,
        body: [`return ${a}.filter((w) => w.startsWith(${q(c)}));`],
        fn: (xs: string[]) => xs.filter((w) => w.startsWith(c)),
        args: () => [wordArr(rng)],
      };
    },
  },
  // ---- conditionals
  ...(
    [
      ['larger', ['larger', 'maxOf', 'bigger', 'pickMax'], '>', Math.max],
      ['smaller', ['smaller', 'minOf', 'lesser', 'pickMin'], '<', Math.min],
    ] as const
  ).map(
    ([adj, stems, op, f]): Kind => ({
      id: `${adj}-of-two`,
      family: 'conditionals',
      make(rng) {
        const [a, b] = pick(rng, PAIR_PARAMS);
        return {
          stems: [...stems],
          params: [a, b],
          what: `returns the ${adj} of ${a} and ${b}`,
          body: [`if (${a} ${op} ${b}) {`, `  return ${a};`, '}', `return ${b};`],
          fn: (u: number, v: number) => f(u, v),
          args: () => [num(rng), num(rng)],
        };
      },
    }),
  ),
  {
    id: 'label',
    family: 'conditionals',
    make(rng) {
      const k = between(rng, 3, 15);
      const [hi, lo] = pick(rng, [
        ['big', 'small'],
        ['high', 'low'],
        ['yes', 'no'],
        ['hot', 'cold'],
        ['pass', 'fail'],
        ['many', 'few'],
      ] as const);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['label', 'classify', 'rate', 'judge', 'describe'],
        params: [x],
        what: `returns '${hi}' if ${x} is greater than ${k}, otherwise '${lo}'`,
        body: [`if (${x} > ${k}) {`, `  return ${q(hi)};`, '}', `return ${q(lo)};`],
        fn: (v: number) => (v > k ? hi : lo),
        args: () => [num(rng, Math.max(0, k - 6), k + 6)],
      };
    },
  },
  {
    id: 'abs',
    family: 'conditionals',
    make(rng) {
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['absolute', 'abs', 'magnitude', 'distanceFromZero'],
        params: [x],
        what: `returns the absolute value of ${x}`,
        body: [`if (${x} < 0) {`, `  return -${x};`, '}', `return ${x};`],
        fn: (v: number) => Math.abs(v),
        args: () => [num(rng, -15, 15)],
      };
    },
  },
  {
    id: 'at-most',
    family: 'conditionals',
    make(rng) {
      const k = between(rng, 3, 15);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`capAt${W(k)}`, `limit${W(k)}`, `atMost${W(k)}`],
        params: [x],
        what: `returns ${x}, but at most ${k}`,
        body: [`if (${x} > ${k}) {`, `  return ${k};`, '}', `return ${x};`],
        fn: (v: number) => Math.min(v, k),
        args: () => [num(rng, 0, 20)],
      };
    },
  },
  {
    id: 'at-least',
    family: 'conditionals',
    make(rng) {
      const k = between(rng, 3, 15);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`floorAt${W(k)}`, `noLessThan${W(k)}`, `atLeast${W(k)}`],
        params: [x],
        what: `returns ${x}, but at least ${k}`,
        body: [`if (${x} < ${k}) {`, `  return ${k};`, '}', `return ${x};`],
        fn: (v: number) => Math.max(v, k),
        args: () => [num(rng, 0, 20)],
      };
    },
  },
  {
    id: 'sign-word',
    family: 'conditionals',
    make(rng) {
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['signWord', 'signOf', 'describeSign', 'sign'],
        params: [x],
        what: `returns 'positive', 'negative' or 'zero' depending on the sign of ${x}`,
        body: [`if (${x} > 0) {`, "  return 'positive';", '}', `if (${x} < 0) {`, "  return 'negative';", '}', "return 'zero';"],
        fn: (v: number) => (v > 0 ? 'positive' : v < 0 ? 'negative' : 'zero'),
        args: () => [num(rng, -9, 9)],
      };
    },
  },
  {
    id: 'parity-word',
    family: 'conditionals',
    make(rng) {
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['parity', 'evenOrOdd', 'parityWord'],
        params: [x],
        what: `returns 'even' if ${x} is even, otherwise 'odd'`,
        body: [`if (${x} % 2 === 0) {`, "  return 'even';", '}', "return 'odd';"],
        fn: (v: number) => (v % 2 === 0 ? 'even' : 'odd'),
        args: () => [num(rng, 0, 30)],
      };
    },
  },
  // ---- loops
  {
    id: 'sum-to-n',
    family: 'loops',
    make(rng) {
      const n = pick(rng, ['n', 'limit', 'count', 'max']);
      return {
        stems: ['sumTo', 'triangle', 'addOneTo', 'sumUpTo'],
        params: [n],
        what: `returns the sum of the whole numbers from 1 to ${n}, using a loop`,
        body: ['let total = 0;', `for (let i = 1; i <= ${n}; i++) {`, '  total += i;', '}', 'return total;'],
        fn: (v: number) => (v * (v + 1)) / 2,
        args: () => [num(rng, 1, 15)],
      };
    },
  },
  {
    id: 'sum-multiples',
    family: 'loops',
    make(rng) {
      const k = between(rng, 2, 6);
      const n = pick(rng, ['n', 'limit', 'max']);
      const fn = (v: number): number => {
        let t = 0;
        for (let i = k; i <= v; i += k) t += i;
        return t;
      };
      return {
        stems: [`sumMultiples${W(k)}`, `addMultiplesOf${W(k)}`, `stepSum${W(k)}`],
        params: [n],
        what: `returns the sum of the multiples of ${k} from ${k} up to ${n}, using a loop`,
        body: ['let total = 0;', `for (let i = ${k}; i <= ${n}; i += ${k}) {`, '  total += i;', '}', 'return total;'],
        fn,
        args: () => [num(rng, 1, 30)],
      };
    },
  },
  {
    id: 'factorial',
    family: 'loops',
    make(rng) {
      const n = pick(rng, ['n', 'k', 'count']);
      return {
        stems: ['factorial', 'productTo', 'multiplyUpTo'],
        params: [n],
        what: `returns the product of the whole numbers from 1 to ${n}, using a loop`,
        body: ['let result = 1;', `for (let i = 2; i <= ${n}; i++) {`, '  result *= i;', '}', 'return result;'],
        fn: (v: number) => {
          let r = 1;
          for (let i = 2; i <= v; i++) r *= i;
          return r;
        },
        args: () => [num(rng, 1, 7)],
      };
    },
  },
  {
    id: 'countdown',
    family: 'loops',
    make(rng) {
      const n = pick(rng, ['n', 'start', 'from']);
      return {
        stems: ['countdown', 'countDown', 'downFrom'],
        params: [n],
        what: `returns an array of the numbers from ${n} down to 1, using a loop`,
        body: ['const out = [];', `for (let i = ${n}; i >= 1; i--) {`, '  out.push(i);', '}', 'return out;'],
        fn: (v: number) => Array.from({ length: v }, (_, i) => v - i),
        args: () => [num(rng, 1, 8)],
      };
    },
  },
  {
    id: 'multiples-list',
    family: 'loops',
    make(rng) {
      const k = between(rng, 2, 9);
      const n = pick(rng, ['n', 'count', 'size']);
      return {
        stems: [`firstMultiples${W(k)}`, `table${W(k)}`, `${NUM_WORDS[k]}Table`],
        params: [n],
        what: `returns an array of the first ${n} multiples of ${k}, using a loop`,
        body: ['const out = [];', `for (let i = 1; i <= ${n}; i++) {`, `  out.push(i * ${k});`, '}', 'return out;'],
        fn: (v: number) => Array.from({ length: v }, (_, i) => (i + 1) * k),
        args: () => [num(rng, 1, 7)],
      };
    },
  },
  {
    id: 'power',
    family: 'loops',
    make(rng) {
      const k = between(rng, 2, 4);
      const n = pick(rng, ['n', 'times', 'exp']);
      return {
        stems: [`powerOf${W(k)}`, `${NUM_WORDS[k]}ToThe`, `raise${W(k)}`],
        params: [n],
        what: `returns ${k} raised to the power ${n}, using a loop`,
        body: ['let result = 1;', `for (let i = 0; i < ${n}; i++) {`, `  result *= ${k};`, '}', 'return result;'],
        fn: (v: number) => k ** v,
        args: () => [num(rng, 0, 6)],
      };
    },
  },
  // ---- booleans
  ...(
    [
      ['even', ['isEven', 'checkEven', 'evenTest'], '=== 0', (v: number) => v % 2 === 0],
      ['odd', ['isOdd', 'checkOdd', 'oddTest'], '=== 1', (v: number) => v % 2 === 1],
    ] as const
  ).map(
    ([parity, stems, cmp, test]): Kind => ({
      id: `is-${parity}`,
      family: 'booleans',
      make(rng) {
        const x = pick(rng, NUM_PARAMS);
        return {
          stems: [...stems],
          params: [x],
          what: `returns true if ${x} is ${parity}, otherwise false`,
          body: [`return ${x} % 2 ${cmp};`],
          fn: test,
          args: () => [num(rng, 0, 30)],
        };
      },
    }),
  ),
  {
    id: 'is-greater',
    family: 'booleans',
    make(rng) {
      const k = between(rng, 2, 15);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`isOver${W(k)}`, `exceeds${W(k)}`, `biggerThan${W(k)}`],
        params: [x],
        what: `returns true if ${x} is greater than ${k}, otherwise false`,
        body: [`return ${x} > ${k};`],
        fn: (v: number) => v > k,
        args: () => [num(rng, Math.max(0, k - 5), k + 5)],
      };
    },
  },
  {
    id: 'in-range',
    family: 'booleans',
    make(rng) {
      const lo = between(rng, 1, 10);
      const hi = lo + between(rng, 2, 10);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: ['inRange', 'isBetween', 'withinBounds', 'fits'],
        params: [x],
        what: `returns true if ${x} is between ${lo} and ${hi} inclusive, otherwise false`,
        body: [`return ${x} >= ${lo} && ${x} <= ${hi};`],
        fn: (v: number) => v >= lo && v <= hi,
        args: () => [num(rng, Math.max(0, lo - 4), hi + 4)],
      };
    },
  },
  {
    id: 'is-divisible',
    family: 'booleans',
    make(rng) {
      const k = between(rng, 3, 9);
      const x = pick(rng, NUM_PARAMS);
      return {
        stems: [`isMultipleOf${W(k)}`, `divides${W(k)}`, `divisibleBy${W(k)}`],
        params: [x],
        what: `returns true if ${x} is divisible by ${k}, otherwise false`,
        body: [`return ${x} % ${k} === 0;`],
        fn: (v: number) => v % k === 0,
        args: () => [pick(rng, [k * between(rng, 0, 5), num(rng, 0, 40)])],
      };
    },
  },
  {
    id: 'starts-with',
    family: 'booleans',
    make(rng) {
      const c = pick(rng, LETTERS);
      const s = pick(rng, STR_PARAMS);
      return {
        stems: [`startsWith${cap(c)}`, `begins${cap(c)}`, `has${cap(c)}First`],
        params: [s],
        what: `returns true if ${s} starts with the letter '${c}', otherwise false`,
        body: [`return ${s}.startsWith(${q(c)});`],
        fn: (v: string) => v.startsWith(c),
        args: () => [word(rng)],
      };
    },
  },
  {
    id: 'both-positive',
    family: 'booleans',
    make(rng) {
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: ['bothPositive', 'allPositive', 'positivePair'],
        params: [a, b],
        what: `returns true if both ${a} and ${b} are positive, otherwise false`,
        body: [`return ${a} > 0 && ${b} > 0;`],
        fn: (u: number, v: number) => u > 0 && v > 0,
        args: () => [num(rng, -5, 9), num(rng, -5, 9)],
      };
    },
  },
  {
    id: 'equal',
    family: 'booleans',
    make(rng) {
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: ['isEqual', 'same', 'equals', 'match'],
        params: [a, b],
        what: `returns true if ${a} and ${b} are equal, otherwise false`,
        body: [`return ${a} === ${b};`],
        fn: (u: number, v: number) => u === v,
        args: () => {
          const u = num(rng, 0, 5);
          return [u, rng.next() < 0.4 ? u : num(rng, 0, 5)];
        },
      };
    },
  },
  // ---- objects
  {
    id: 'make-pair',
    family: 'objects',
    make(rng) {
      const [k1, k2] = pick(rng, [
        ['x', 'y'],
        ['name', 'age'],
        ['width', 'height'],
        ['min', 'max'],
        ['first', 'last'],
        ['key', 'value'],
        ['row', 'col'],
      ] as const);
      const [a, b] = pick(
        rng,
        PAIR_PARAMS.filter(([u, v]) => u !== k1 && v !== k2 && u !== k2 && v !== k1),
      );
      const numeric = k1 !== 'name' && k1 !== 'first' && k1 !== 'key';
      return {
        stems: ['makePair', 'makeRecord', `make${cap(k1)}${cap(k2)}`, 'build'],
        params: [a, b],
        what: `returns an object with ${k1} set to ${a} and ${k2} set to ${b}`,
        body: [`return { ${k1}: ${a}, ${k2}: ${b} };`],
        fn: (u: unknown, v: unknown) => ({ [k1]: u, [k2]: v }),
        args: () => (numeric ? [num(rng), num(rng)] : [word(rng), num(rng)]),
      };
    },
  },
  {
    id: 'get-field',
    family: 'objects',
    make(rng) {
      const key = pick(rng, OBJ_KEYS);
      const o = pick(rng, OBJ_PARAMS);
      return {
        stems: [`get${cap(key)}`, `${key}Of`, `read${cap(key)}`],
        params: [o],
        what: `returns the ${key} property of ${o}`,
        body: [`return ${o}.${key};`],
        fn: (v: Record<string, unknown>) => v[key],
        args: () => [objWith(rng, [key])],
      };
    },
  },
  {
    id: 'sum-fields',
    family: 'objects',
    make(rng) {
      const k1 = numericKey(rng);
      let k2 = numericKey(rng);
      while (k2 === k1) k2 = numericKey(rng);
      const o = pick(rng, OBJ_PARAMS);
      return {
        stems: [`add${cap(k1)}${cap(k2)}`, `total${cap(k1)}`, `${k1}Plus${cap(k2)}`],
        params: [o],
        what: `returns the sum of the ${k1} and ${k2} properties of ${o}`,
        body: [`return ${o}.${k1} + ${o}.${k2};`],
        fn: (v: Record<string, number>) => v[k1]! + v[k2]!,
        args: () => [objWith(rng, [k1, k2])],
      };
    },
  },
  {
    id: 'count-keys',
    family: 'objects',
    make(rng) {
      const o = pick(rng, OBJ_PARAMS);
      return {
        stems: ['countKeys', 'keyCount', 'numFields', 'fieldCount'],
        params: [o],
        what: `returns the number of keys in ${o}`,
        body: [`return Object.keys(${o}).length;`],
        fn: (v: object) => Object.keys(v).length,
        args: () => [objWith(rng, [pick(rng, OBJ_KEYS)])],
      };
    },
  },
  {
    id: 'set-field',
    family: 'objects',
    make(rng) {
      const key = numericKey(rng);
      const val = between(rng, 0, 9);
      const o = pick(rng, OBJ_PARAMS);
      return {
        stems: [`set${cap(key)}${W(val)}`, `with${cap(key)}`, `reset${cap(key)}`],
        params: [o],
        what: `returns a copy of ${o} with its ${key} property set to ${val}`,
        body: [`return { ...${o}, ${key}: ${val} };`],
        fn: (v: object) => ({ ...v, [key]: val }),
        args: () => [objWith(rng, rng.next() < 0.5 ? [key] : [])],
      };
    },
  },
  {
    id: 'has-key',
    family: 'objects',
    make(rng) {
      const key = pick(rng, OBJ_KEYS);
      const o = pick(rng, OBJ_PARAMS);
      return {
        stems: [`has${cap(key)}`, `check${cap(key)}`, `${key}Exists`],
        params: [o],
        what: `returns true if ${o} has a property named '${key}', otherwise false`,
        body: [`return ${q(key)} in ${o};`],
        fn: (v: object) => key in v,
        args: () => [objWith(rng, rng.next() < 0.5 ? [key] : [])],
      };
    },
  },
  // ---- counting
  {
    id: 'count-equal',
    family: 'counting',
    make(rng) {
      const k = between(rng, 1, 6);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`count${W(k)}s`, `howMany${W(k)}s`, `tally${W(k)}`],
        params: [a],
        what: `returns how many times ${k} appears in ${a}`,
        body: [`return ${a}.filter((v) => v === ${k}).length;`],
        fn: (xs: number[]) => xs.filter((v) => v === k).length,
        args: () => [numArr(rng, 0, 6)],
      };
    },
  },
  {
    id: 'count-greater',
    family: 'counting',
    make(rng) {
      const k = between(rng, 2, 9);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`countOver${W(k)}`, `howManyAbove${W(k)}`, `tallyOver${W(k)}`],
        params: [a],
        what: `returns how many numbers in ${a} are greater than ${k}`,
        body: [`return ${a}.filter((v) => v > ${k}).length;`],
        fn: (xs: number[]) => xs.filter((v) => v > k).length,
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'count-even',
    family: 'counting',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['countEvens', 'howManyEven', 'evenCount'],
        params: [a],
        what: `returns how many even numbers are in ${a}`,
        body: [`return ${a}.filter((v) => v % 2 === 0).length;`],
        fn: (xs: number[]) => xs.filter((v) => v % 2 === 0).length,
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'count-char',
    family: 'counting',
    make(rng) {
      const c = pick(rng, ['a', 'e', 'o', 'r', 's', 't', 'n']);
      const s = pick(rng, STR_PARAMS);
      return {
        stems: [`count${cap(c)}s`, `howMany${cap(c)}`, `tally${cap(c)}`],
        params: [s],
        what: `returns how many times the letter '${c}' appears in ${s}`,
        body: ['let count = 0;', `for (const ch of ${s}) {`, `  if (ch === ${q(c)}) {`, '    count++;', '  }', '}', 'return count;'],
        fn: (v: string) => [...v].filter((ch) => ch === c).length,
        args: () => [sentence(rng)],
      };
    },
  },
  {
    id: 'count-vowels',
    family: 'counting',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['countVowels', 'vowelCount', 'howManyVowels'],
        params: [s],
        what: `returns the number of vowels (a, e, i, o, u) in ${s}`,
        body: ['let count = 0;', `for (const ch of ${s}) {`, "  if ('aeiou'.includes(ch)) {", '    count++;', '  }', '}', 'return count;'],
        fn: (v: string) => [...v].filter((ch) => 'aeiou'.includes(ch)).length,
        args: () => [sentence(rng)],
      };
    },
  },
  {
    id: 'count-words',
    family: 'counting',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['countWords', 'wordCount', 'howManyWords'],
        params: [s],
        what: `returns the number of words in ${s}, where words are separated by single spaces`,
        body: [`return ${s}.split(' ').length;`],
        fn: (v: string) => v.split(' ').length,
        args: () => [sentence(rng)],
      };
    },
  },
  {
    id: 'count-long-words',
    family: 'counting',
    make(rng) {
      const k = between(rng, 2, 5);
      const a = pick(rng, WORDS_PARAMS);
      return {
        stems: [`countLongerThan${W(k)}`, 'countLongWords', `howManyOver${W(k)}`],
        params: [a],
        what: `returns how many words in ${a} have more than ${k} letters`,
        body: [`return ${a}.filter((w) => w.length > ${k}).length;`],
        fn: (xs: string[]) => xs.filter((w) => w.length > k).length,
        args: () => [wordArr(rng)],
      };
    },
  },
];

/** Kinds that only appear in the pretraining corpus. */
export const EXTRA_CODE_KINDS: readonly Kind[] = [
  {
    id: 'min-of-array',
    family: 'extra',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['smallest', 'minimum', 'lowest'],
        params: [a],
        what: `returns the smallest number in ${a}`,
        body: [`return Math.min(...${a});`],
        fn: (xs: number[]) => Math.min(...xs),
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'last-element',
    family: 'extra',
    make(rng) {
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: ['lastItem', 'final', 'lastElement'],
        params: [a],
        what: `returns the last element of ${a}`,
        body: [`return ${a}[${a}.length - 1];`],
        fn: (xs: number[]) => xs[xs.length - 1],
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'join-dash',
    family: 'extra',
    make(rng) {
      const sep = pick(rng, ['-', ', ', ' ', '/', '+']);
      const a = pick(rng, WORDS_PARAMS);
      return {
        stems: ['joinWords', 'glue', 'combineWords'],
        params: [a],
        what: `returns the words in ${a} joined with '${sep}'`,
        body: [`return ${a}.join(${q(sep)});`],
        fn: (xs: string[]) => xs.join(sep),
        args: () => [wordArr(rng)],
      };
    },
  },
  {
    id: 'concat',
    family: 'extra',
    make(rng) {
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: ['concat', 'joinTwo', 'glueTwo'],
        params: [a, b],
        what: `returns ${a} followed by a space and ${b}`,
        body: [`return ${a} + ' ' + ${b};`],
        fn: (u: string, v: string) => `${u} ${v}`,
        args: () => [word(rng), word(rng)],
      };
    },
  },
  {
    id: 'double-all',
    family: 'extra',
    make(rng) {
      const k = between(rng, 2, 5);
      const a = pick(rng, ARR_PARAMS);
      return {
        stems: [`mapTimes${W(k)}`, `scaleAll${W(k)}`, `each${W(k)}Fold`],
        params: [a],
        what: `returns a new array with every number in ${a} multiplied by ${k}`,
        body: [`return ${a}.map((v) => v * ${k});`],
        fn: (xs: number[]) => xs.map((v) => v * k),
        args: () => [numArr(rng)],
      };
    },
  },
  {
    id: 'is-palindrome',
    family: 'extra',
    make(rng) {
      const s = pick(rng, STR_PARAMS);
      return {
        stems: ['isPalindrome', 'readsSameBack', 'palindromeCheck'],
        params: [s],
        what: `returns true if ${s} reads the same forwards and backwards`,
        body: [`return ${s} === ${s}.split('').reverse().join('');`],
        fn: (v: string) => v === [...v].reverse().join(''),
        args: () => [pick(rng, ['noon', 'level', 'kayak', 'moon', 'tree', 'abba', 'cat'])],
      };
    },
  },
  {
    id: 'difference',
    family: 'extra',
    make(rng) {
      const [a, b] = pick(rng, PAIR_PARAMS);
      return {
        stems: ['difference', 'gap', 'distance'],
        params: [a, b],
        what: `returns the distance between ${a} and ${b}`,
        body: [`return Math.abs(${a} - ${b});`],
        fn: (u: number, v: number) => Math.abs(u - v),
        args: () => [num(rng), num(rng)],
      };
    },
  },
];

/** Render a spec: name it, format the code and evaluate the truth on 3-5 distinct argument lists. */
function render(rng: Rng, kind: Kind, style: NameStyle): CodeItem {
  const spec = kind.make(rng);
  const entry = pick(rng, spec.stems) + pick(rng, SUFFIXES[style]);
  const code = `function ${entry}(${spec.params.join(', ')}) {\n${spec.body.map((l) => `  ${l}`).join('\n')}\n}`;
  const want = between(rng, 3, 5);
  const tests: CodeTest[] = [];
  const seenArgs = new Set<string>();
  for (let tries = 0; tests.length < want && tries < 40; tries++) {
    const args = spec.args();
    const key = JSON.stringify(args);
    if (seenArgs.has(key)) continue;
    seenArgs.add(key);
    // Round-trip through JSON: the reference must be plain data.
    tests.push(JSON.parse(JSON.stringify({ args, expected: spec.fn(...structuredClone(args)) })) as CodeTest);
  }
  return { family: kind.family, kind: kind.id, entry, params: spec.params, what: spec.what, code, tests };
}

const KINDS_BY_FAMILY = new Map<CodeFamily, Kind[]>(CODE_FAMILIES.map((f) => [f, CODE_KINDS.filter((k) => k.family === f)]));

/** One exercise of `family` as a task record. */
export function codeRecord(rng: Rng, family: CodeFamily): TaskRecord {
  const item = render(rng, pick(rng, KINDS_BY_FAMILY.get(family)!), 'task');
  return {
    instruction: `${pick(rng, LEADS)} \`${item.entry}(${item.params.join(', ')})\` that ${item.what}.`,
    output: item.code,
    category: family,
    // The signature line (it ends in " {", so it tokenizes as a prefix of the answer).
    reference: { kind: 'code', entry: item.entry, tests: item.tests, stub: item.code.slice(0, item.code.indexOf('{') + 1) },
  };
}

/**
 * The kinds the pretraining corpus shows: one in three of each family's kinds (its 1st, 4th, ...)
 * and the extra kinds. The other task kinds are met first in fine-tuning — the distribution shift
 * that leaves the base model a low pass@1 and LoRA room to help.
 */
export const CORPUS_CODE_KINDS: readonly Kind[] = [
  ...CODE_FAMILIES.flatMap((f) => KINDS_BY_FAMILY.get(f)!.filter((_, i) => i % 3 === 0)),
  ...EXTRA_CODE_KINDS,
];

/**
 * A corpus snippet of a corpus kind, named with mixed suffixes so a name's ending cannot be guessed
 * from its stem; names in `avoid` (the task's own entries) are redrawn, so no task answer is in the
 * corpus.
 */
export function codeSnippet(rng: Rng, avoid: ReadonlySet<string> = new Set()): CodeItem {
  for (;;) {
    const item = render(rng, pick(rng, CORPUS_CODE_KINDS), 'corpus');
    if (!avoid.has(item.entry)) return item;
  }
}

/** Entry names of every record of the code task for a seed. */
export function codeTaskEntries(seed: number): Set<string> {
  const d = generateCode(seed);
  return new Set([...d.train, ...d.validation, ...d.test].map((r) => (r.reference.kind === 'code' ? r.reference.entry : '')));
}

const NAME_WORDS = [
  'alpha',
  'blue',
  'calc',
  'delta',
  'echo',
  'find',
  'green',
  'hold',
  'item',
  'join',
  'keep',
  'lamp',
  'make',
  'note',
  'open',
  'pick',
  'quick',
  'read',
  'send',
  'take',
  'use',
  'view',
  'wrap',
  'zone',
  'bird',
  'cake',
  'dust',
  'fern',
  'gold',
  'hill',
  'iron',
  'jade',
  'kite',
  'leaf',
  'moon',
  'nest',
  'oak',
  'pine',
  'rain',
  'salt',
  'tide',
  'wave',
];

/**
 * A corpus instruction pair's function, of the extra kinds only (never one of the task's families),
 * under a random name: the only way to get the name right is to copy it from the instruction.
 */
export function extraCodeSnippet(rng: Rng): CodeItem {
  const item = render(rng, pick(rng, EXTRA_CODE_KINDS), 'corpus');
  const words = Array.from({ length: between(rng, 1, 3) }, () => pick(rng, NAME_WORDS));
  const entry = words.map((w, i) => (i ? cap(w) : w)).join('') + pick(rng, SUFFIXES.corpus);
  return { ...item, entry, code: item.code.replace(`function ${item.entry}(`, `function ${entry}(`) };
}

export function generateCode(seed: number): TaskData {
  const rng = new Rng(seed).fork('task:code');
  const gens = Object.fromEntries(CODE_FAMILIES.map((f) => [f, (r: Rng) => codeRecord(r, f)]));
  return buildMetaTask(rng, gens, FAMILY_WEIGHTS, CODE_SIZES, 'code');
}

export const CODE_TASK: TaskInfo = {
  name: 'code',
  description: 'Small programming exercises answered with a JavaScript function, in 9 task families',
  like: 'Fed-CodeAlpaca (per-language meta split)',
  clients: CODE_FAMILIES.length,
  splitter: 'meta',
  categories: [...CODE_FAMILIES],
  score: 'pass@1',
  generate: generateCode,
};
