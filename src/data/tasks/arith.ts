// Built-in task "arith", like Fed-GSM8K-3: grade-school word problems of 2-3 operations with small
// numbers (every intermediate and final result in 0..40), answered with one equation per step and
// "The answer is N." Problem types are recorded in `category`; clients are formed IID.
import { Rng } from '../../engine/rng.js';
import { between, cap, collectUnique, pick, splitIid } from './common.js';
import type { TaskData, TaskInfo, TaskRecord } from './types.js';

export const ARITH_CATEGORIES = ['add-sub', 'multiply', 'share', 'compare'] as const;
export type ArithCategory = (typeof ARITH_CATEGORIES)[number];

export const ARITH_SIZES = { train: 1800, validation: 200, test: 200 };
const MAX = 40;

interface Person {
  name: string;
  he: string;
}

export const ARITH_PEOPLE: readonly Person[] = [
  ['Mia', 'she'],
  ['Leo', 'he'],
  ['Ava', 'she'],
  ['Sam', 'he'],
  ['Zoe', 'she'],
  ['Ben', 'he'],
  ['Lily', 'she'],
  ['Max', 'he'],
  ['Emma', 'she'],
  ['Noah', 'he'],
  ['Ella', 'she'],
  ['Jack', 'he'],
  ['Ruby', 'she'],
  ['Omar', 'he'],
  ['Nina', 'she'],
  ['Tom', 'he'],
  ['Ivy', 'she'],
  ['Eli', 'he'],
  ['Rosa', 'she'],
  ['Finn', 'he'],
  ['Maya', 'she'],
  ['Theo', 'he'],
  ['Anna', 'she'],
  ['Luke', 'he'],
].map(([name, he]) => ({ name: name!, he: he! }));

export const ARITH_OBJECTS: readonly string[] = [
  'shells',
  'apples',
  'stickers',
  'marbles',
  'pencils',
  'cookies',
  'cards',
  'stamps',
  'books',
  'coins',
  'beads',
  'flowers',
  'eggs',
  'balloons',
  'toy cars',
  'crayons',
  'rocks',
  'buttons',
  'grapes',
  'candies',
  'plums',
  'ribbons',
  'blocks',
  'leaves',
];

const CONTAINERS: readonly [string, string][] = [
  ['bag', 'bags'],
  ['box', 'boxes'],
  ['jar', 'jars'],
  ['basket', 'baskets'],
  ['pack', 'packs'],
  ['bowl', 'bowls'],
  ['tray', 'trays'],
  ['tin', 'tins'],
];

/** Gain / loss phrases: (amount, object, other person) -> verb phrase in the present tense. */
const GAINS: readonly ((n: number, obj: string, other: string) => string)[] = [
  (n, o) => `finds ${n} more ${o}`,
  (n, o) => `buys ${n} more ${o}`,
  (n, o, p) => `gets ${n} more ${o} from ${p}`,
  (n, o) => `picks up ${n} more ${o}`,
  (n, o) => `wins ${n} more ${o}`,
  (n, o, p) => `is given ${n} ${o} by ${p}`,
];
const LOSSES: readonly ((n: number, obj: string, other: string) => string)[] = [
  (n, _o, p) => `gives ${n} to ${p}`,
  (n) => `loses ${n}`,
  (n) => `sells ${n}`,
  (n) => `gives away ${n}`,
  (n, o) => `uses ${n} of the ${o}`,
  (n, _o, p) => `trades ${n} to ${p}`,
];

const NOW_QUESTIONS: readonly ((p: string, obj: string) => string)[] = [
  (p, o) => `How many ${o} does ${p} have now?`,
  (p, o) => `How many ${o} does ${p} have in the end?`,
  (p, o) => `How many ${o} does ${p} have left?`,
];

type Op = '+' | '-' | '*' | '/';
const apply = (a: number, op: Op, b: number): number => (op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b);

interface Problem {
  instruction: string;
  intro: string;
  start: number;
  steps: { op: Op; n: number }[];
}

/** "a op b = c" lines from a start value; returns the text and the final value. */
function solve(start: number, steps: { op: Op; n: number }[]): { lines: string[]; value: number } {
  let v = start;
  const lines: string[] = [];
  for (const { op, n } of steps) {
    const r = apply(v, op, n);
    lines.push(`${v} ${op} ${n} = ${r}.`);
    v = r;
  }
  return { lines, value: v };
}

function twoPeople(rng: Rng): [Person, Person] {
  const a = pick(rng, ARITH_PEOPLE);
  let b = pick(rng, ARITH_PEOPLE);
  while (b.name === a.name) b = pick(rng, ARITH_PEOPLE);
  return [a, b];
}

/** A run of +/- changes that keeps the running value within [0, MAX]. */
function changes(rng: Rng, start: number, count: number): { op: Op; n: number }[] {
  const steps: { op: Op; n: number }[] = [];
  let v = start;
  for (let i = 0; i < count; i++) {
    const canGain = v <= MAX - 2;
    const canLose = v >= 2;
    const gain = canGain && (!canLose || rng.next() < 0.5);
    const n = gain ? between(rng, 2, Math.min(12, MAX - v)) : between(rng, 1, Math.min(12, v));
    steps.push({ op: gain ? '+' : '-', n });
    v += gain ? n : -n;
  }
  return steps;
}

function phrase(rng: Rng, step: { op: Op; n: number }, obj: string, other: string): string {
  return pick(rng, step.op === '+' ? GAINS : LOSSES)(step.n, obj, other);
}

function addSub(rng: Rng): Problem {
  const [p, q] = twoPeople(rng);
  const obj = pick(rng, ARITH_OBJECTS);
  const start = between(rng, 2, 25);
  const steps = changes(rng, start, rng.next() < 0.5 ? 2 : 3);
  const He = cap(p.he);
  const [s1, s2, s3] = steps.map((s) => phrase(rng, s, obj, q.name));
  const story = steps.length === 2 ? `${He} ${s1} and then ${s2}.` : `${He} ${s1}. Then ${p.he} ${s2} and ${s3}.`;
  return {
    instruction: `${p.name} has ${start} ${obj}. ${story} ${pick(rng, NOW_QUESTIONS)(p.name, obj)}`,
    intro: `${p.name} starts with ${start} ${obj}.`,
    start,
    steps,
  };
}

function multiply(rng: Rng): Problem {
  const [p, q] = twoPeople(rng);
  const obj = pick(rng, ARITH_OBJECTS);
  const [one, many] = pick(rng, CONTAINERS);
  const k = between(rng, 2, 6);
  const each = between(rng, 2, Math.floor(MAX / k));
  const steps: { op: Op; n: number }[] = [{ op: '*', n: each }, ...changes(rng, k * each, rng.next() < 0.6 ? 1 : 2)];
  const He = cap(p.he);
  const setup = pick(rng, [
    () => `${p.name} has ${k} ${many} of ${obj}. Each ${one} holds ${each} ${obj}.`,
    () => `${p.name} buys ${k} ${many} of ${obj} with ${each} ${obj} in each ${one}.`,
    () => `${p.name} fills ${k} ${many} with ${each} ${obj} each.`,
  ])();
  const rest = steps.slice(1).map((s) => phrase(rng, s, obj, q.name));
  const story = rest.length === 1 ? `${He} ${rest[0]}.` : `${He} ${rest[0]} and then ${rest[1]}.`;
  return {
    instruction: `${setup} ${story} ${pick(rng, NOW_QUESTIONS)(p.name, obj)}`,
    intro: `${p.name} has ${k} ${many} with ${each} ${obj} each.`,
    start: k,
    steps,
  };
}

function share(rng: Rng): Problem {
  const [p, q] = twoPeople(rng);
  const obj = pick(rng, ARITH_OBJECTS);
  const groups = between(rng, 2, 5);
  const each = between(rng, 1, Math.floor(MAX / groups));
  const total = groups * each;
  // Reach `total` from the start with one or two +/- changes (kept within 0..MAX).
  let steps: { op: Op; n: number }[] = [];
  let start = 0;
  for (let tries = 0; ; tries++) {
    const m = rng.next() < 0.55 ? 1 : 2;
    start = between(rng, 2, MAX);
    steps = changes(rng, start, m - 1);
    const v = solve(start, steps).value;
    const diff = total - v;
    if (diff >= 2 && diff <= 12) steps.push({ op: '+', n: diff });
    else if (diff <= -1 && diff >= -12) steps.push({ op: '-', n: -diff });
    else if (tries < 100) continue;
    else {
      start = total + 3;
      steps = [{ op: '-', n: 3 }];
    }
    break;
  }
  const He = cap(p.he);
  const changesText = steps.map((s) => phrase(rng, s, obj, q.name));
  const [target, question] = pick(rng, [
    [`shares them equally among ${groups} friends`, `How many ${obj} does each friend get?`],
    [`puts them into ${groups} equal groups`, `How many ${obj} are in each group?`],
    [`splits them evenly between ${groups} boxes`, `How many ${obj} go in each box?`],
  ] as const);
  const story =
    changesText.length === 1
      ? `${He} ${changesText[0]} and ${target}.`
      : `${He} ${changesText[0]}. Then ${p.he} ${changesText[1]} and ${target}.`;
  return {
    instruction: `${p.name} has ${start} ${obj}. ${story} ${question}`,
    intro: `${p.name} starts with ${start} ${obj}.`,
    start,
    steps: [...steps, { op: '/', n: groups }],
  };
}

function compare(rng: Rng): Solved {
  const [p, q] = twoPeople(rng);
  const obj = pick(rng, ARITH_OBJECTS);
  const more = rng.next() < 0.55;
  const a = more ? between(rng, 2, 18) : between(rng, 3, 20);
  const d = more ? between(rng, 1, Math.min(10, MAX - 2 * a)) : between(rng, 1, Math.min(10, a - 1));
  const b = more ? a + d : a - d;
  const together = a + b;
  const lines = [`${p.name} has ${a} ${obj}.`, `${q.name} has ${a} ${more ? '+' : '-'} ${d} = ${b} ${obj}.`, `${a} + ${b} = ${together}.`];
  let question = `How many ${obj} do they have together?`;
  let value = together;
  if (rng.next() < 0.45) {
    const g = between(rng, 1, Math.min(10, together - 1));
    question = pick(rng, [
      `Together they give ${g} ${obj} to their teacher. How many ${obj} do they have left?`,
      `They lose ${g} of their ${obj}. How many ${obj} do they have together now?`,
    ]);
    lines.push(`${together} - ${g} = ${together - g}.`);
    value = together - g;
  }
  const rel = more ? `${d} more ${obj} than ${p.name}` : `${d} fewer ${obj} than ${p.name}`;
  return { instruction: `${p.name} has ${a} ${obj}. ${q.name} has ${rel}. ${question}`, text: lines.join(' '), value };
}

interface Solved {
  instruction: string;
  text: string;
  value: number;
}

/** A chained problem: the intro, then one equation per step from the start value. */
function chained(prob: Problem): Solved {
  const sol = solve(prob.start, prob.steps);
  return { instruction: prob.instruction, text: [prob.intro, ...sol.lines].join(' '), value: sol.value };
}

const GENERATORS: Record<ArithCategory, (rng: Rng) => Solved> = {
  'add-sub': (rng) => chained(addSub(rng)),
  multiply: (rng) => chained(multiply(rng)),
  share: (rng) => chained(share(rng)),
  compare,
};

/** One problem of the given category (or a random one), as a record. */
export function arithRecord(rng: Rng, category?: ArithCategory): TaskRecord {
  const cat = category ?? pick(rng, ARITH_CATEGORIES);
  const { instruction, text, value } = GENERATORS[cat](rng);
  return {
    instruction,
    output: `${text} The answer is ${value}.`,
    category: cat,
    reference: { kind: 'number', value },
  };
}

export function generateArith(seed: number): TaskData {
  const rng = new Rng(seed).fork('task:arith');
  const gen = rng.fork('records');
  const total = ARITH_SIZES.train + ARITH_SIZES.validation + ARITH_SIZES.test;
  const recs = collectUnique(total, () => arithRecord(gen), new Set(), 'arith');
  return splitIid(rng.fork('split'), recs, ARITH_SIZES);
}

export const ARITH_TASK: TaskInfo = {
  name: 'arith',
  description: 'Multi-step grade-school word problems with small numbers (results 0-40), step-by-step answers',
  like: 'Fed-GSM8K-3',
  clients: 3,
  splitter: 'iid',
  categories: [...ARITH_CATEGORIES],
  score: 'accuracy',
  generate: generateArith,
};
