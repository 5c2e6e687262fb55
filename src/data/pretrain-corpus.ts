// Pretraining corpus for the small base model: text RELATED to the built-in tasks but not the tasks
// themselves (a distribution shift like a real base model's pretraining data):
//   (a) arithmetic facts and tiny past-tense stories in prose ("Sam had 4 cups. He got 3 more, so he
//       had 7 cups."), sometimes ending in "the answer is N";
//   (b) JavaScript snippets preceded by a comment saying what they do, of a third of the code task's
//       kinds (never a name the task uses) plus a few extra kinds; no Alpaca template;
//   (c) encyclopedia-style prose about the same generated world as the instruct task (same seed, same
//       world), cycling through every person, town, animal and list so all facts are covered;
//   (d) ~20% Alpaca-template instruction/response pairs of OTHER simple kinds (code ones only of
//       kinds outside the task's families), so the base model knows the template but not the tasks.
// Shares are by characters; generation stops once about `approxChars` characters are produced.
import { createHash } from 'node:crypto';
import { Rng } from '../engine/rng.js';
import { formatInstruction } from './records.js';
import { ARITH_OBJECTS, ARITH_PEOPLE } from './tasks/arith.js';
import { codeSnippet, codeTaskEntries, extraCodeSnippet } from './tasks/code.js';
import { andList, between, cap, pick, sample } from './tasks/common.js';
import { type World, describeAnimal, describePerson, describeTown, generateWorld, residents } from './tasks/kb.js';

export type CorpusPart = 'arith' | 'code' | 'kb' | 'instruct';

/** Character shares of the four parts. */
export const CORPUS_SHARES: Record<CorpusPart, number> = { arith: 0.25, code: 0.25, kb: 0.3, instruct: 0.2 };

export interface CorpusOptions {
  /** Seed of the knowledge-base world (default: the corpus seed); must match the instruct task's seed. */
  worldSeed?: number;
  shares?: Partial<Record<CorpusPart, number>>;
}

// ---- (a) arithmetic prose

/**
 * One arithmetic fact. The operands cover the arith task's steps (a running value up to 40 changed by
 * up to 12, up to 6 groups of up to 20, shares of up to 40), so the base model knows the facts a
 * solution needs; fine-tuning teaches the step-by-step answer format.
 */
function arithFact(rng: Rng): string {
  const kind = rng.int(5);
  if (kind === 0) {
    let [x, y] = [between(rng, 0, 40), between(rng, 0, 12)];
    if (rng.next() < 0.5) [x, y] = [y, x];
    return pick(rng, [`${x} plus ${y} is ${x + y}.`, `${x} and ${y} make ${x + y}.`, `${x} + ${y} = ${x + y}.`]);
  }
  if (kind === 1) {
    const x = between(rng, 0, 52);
    const y = between(rng, 0, Math.min(x, rng.next() < 0.8 ? 12 : x));
    return pick(rng, [`${x} minus ${y} is ${x - y}.`, `${x} take away ${y} leaves ${x - y}.`, `${x} - ${y} = ${x - y}.`]);
  }
  if (kind === 2) {
    let [x, y] = [between(rng, 1, 10), between(rng, 1, 20)];
    if (rng.next() < 0.5) [x, y] = [y, x];
    return pick(rng, [`${x} times ${y} is ${x * y}.`, `${x} groups of ${y} make ${x * y}.`, `${x} * ${y} = ${x * y}.`]);
  }
  if (kind === 3) {
    const y = between(rng, 1, 10);
    const q = between(rng, 0, 20);
    return pick(rng, [`${y * q} divided by ${y} is ${q}.`, `${y * q} shared by ${y} is ${q} each.`, `${y * q} / ${y} = ${q}.`]);
  }
  const x = between(rng, 0, 40);
  return pick(rng, [`The number after ${x} is ${x + 1}.`, `${x + 1} is one more than ${x}.`, `Double ${x} is ${2 * x}.`]);
}

function arithStory(rng: Rng): string {
  const p = pick(rng, ARITH_PEOPLE);
  let other = pick(rng, ARITH_PEOPLE);
  while (other.name === p.name) other = pick(rng, ARITH_PEOPLE);
  const obj = pick(rng, ARITH_OBJECTS);
  const He = cap(p.he);
  const kind = rng.int(3);
  let text: string;
  let value: number;
  if (kind === 0) {
    const x = between(rng, 2, 20);
    const y = between(rng, 1, 10);
    value = x + y;
    text = `${p.name} had ${x} ${obj}. ${He} ${pick(rng, ['got', 'found', 'bought'])} ${y} more, so ${p.he} had ${value} ${obj}.`;
    if (rng.next() < 0.5) {
      const z = between(rng, 1, value);
      text += ` Then ${p.he} gave ${z} to ${other.name}, so ${p.he} had ${value - z} ${obj} left.`;
      value -= z;
    }
  } else if (kind === 1) {
    const k = between(rng, 2, 6);
    const each = between(rng, 2, 6);
    value = k * each;
    text = `There were ${k} boxes with ${each} ${obj} in each box, so there were ${value} ${obj} in all.`;
  } else {
    const g = between(rng, 2, 5);
    const each = between(rng, 1, 8);
    value = each;
    text = `${p.name} shared ${g * each} ${obj} equally among ${g} friends, so each friend got ${each} ${obj}.`;
  }
  const r = rng.next();
  if (r < 0.25) text += ` So the answer is ${value}.`;
  else if (r < 0.35) text += ` The answer is ${value}.`;
  return text;
}

function arithDoc(rng: Rng): string {
  const parts: string[] = [];
  for (let i = between(rng, 3, 6); i > 0; i--) parts.push(rng.next() < 0.45 ? arithFact(rng) : arithStory(rng));
  return parts.join(' ');
}

// ---- (b) JavaScript snippets

function codeDoc(rng: Rng, avoid: ReadonlySet<string>): string {
  const parts: string[] = [];
  for (let i = between(rng, 2, 4); i > 0; i--) {
    const s = codeSnippet(rng, avoid);
    parts.push(`// ${s.what}\n${s.code}`);
  }
  return parts.join('\n\n');
}

// ---- (c) encyclopedia prose over the shared world

type KbItem = (rng: Rng) => string;

/** Every fact-bearing item of the world: entities and the lists brainstorming-style answers use. */
function kbItems(w: World): KbItem[] {
  const items: KbItem[] = [];
  for (const p of w.people) items.push((r) => describePerson(r, p));
  for (const t of w.towns) {
    items.push((r) => describeTown(r, t));
    items.push(() => `People who live in ${t.name} include ${andList(residents(w, t.name).map((p) => p.name))}.`);
  }
  for (const an of w.animals) items.push((r) => describeAnimal(r, an));
  const group = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
    return m;
  };
  for (const [hab, ans] of group(w.animals, (an) => an.habitat)) {
    items.push(() => `Animals that live in ${hab} include ${andList(ans.map((an) => `the ${an.name}`))}.`);
  }
  for (const [diet, ans] of group(w.animals, (an) => an.diet)) {
    items.push(() => `Animals that eat ${diet} include ${andList(ans.map((an) => `the ${an.name}`))}.`);
  }
  for (const [river, ts] of group(w.towns, (t) => t.river)) {
    items.push(() => `Towns on the river ${river} include ${andList(ts.map((t) => t.name))}.`);
  }
  for (const [job, ps] of group(w.people, (p) => p.job)) {
    items.push(() => `People who work as ${job}s include ${andList(ps.map((p) => p.name))}.`);
  }
  return items;
}

/** Draws items in shuffled cycles so every fact appears before any repeats. */
class KbStream {
  private queue: KbItem[] = [];
  constructor(
    private readonly rng: Rng,
    private readonly items: KbItem[],
  ) {}
  next(): KbItem {
    if (this.queue.length === 0) this.queue = this.rng.shuffle([...this.items]);
    return this.queue.pop()!;
  }
}

function kbDoc(rng: Rng, stream: KbStream): string {
  const parts: string[] = [];
  for (let i = between(rng, 2, 4); i > 0; i--) parts.push(stream.next()(rng));
  return parts.join(rng.next() < 0.5 ? ' ' : '\n\n');
}

// ---- (d) other Alpaca-template pairs

const SIMPLE_WORDS = ['sun', 'tree', 'house', 'river', 'cloud', 'bread', 'stone', 'lamp', 'chair', 'window', 'ship', 'hill'];
const OPPOSITES: readonly [string, string][] = [
  ['hot', 'cold'],
  ['big', 'small'],
  ['up', 'down'],
  ['day', 'night'],
  ['fast', 'slow'],
  ['old', 'new'],
  ['open', 'closed'],
  ['light', 'dark'],
  ['happy', 'sad'],
  ['early', 'late'],
  ['full', 'empty'],
  ['wet', 'dry'],
];
const TIMES = ['once', 'twice', 'three times', 'four times'];

function instructDoc(rng: Rng): string {
  const w = pick(rng, SIMPLE_WORDS);
  const n = between(rng, 0, 99);
  const kind = rng.int(18); // 0-8: simple word/number pairs; 9-17 (half): code of the extra kinds
  let instruction: string;
  let input: string | undefined;
  let output: string;
  if (kind === 0) {
    const k = between(rng, 1, 4);
    instruction = `Repeat the word ${w} ${TIMES[k - 1]}.`;
    output = Array.from({ length: k }, () => w).join(' ');
  } else if (kind === 1) {
    instruction = `What comes after ${n}?`;
    output = `${n + 1} comes after ${n}.`;
  } else if (kind === 2) {
    instruction = `What comes before ${n + 1}?`;
    output = `${n} comes before ${n + 1}.`;
  } else if (kind === 3) {
    const [x, y] = rng.shuffle([...pick(rng, OPPOSITES)]);
    instruction = `What is the opposite of ${x}?`;
    output = `The opposite of ${x} is ${y}.`;
  } else if (kind === 4) {
    instruction = `Write the word ${w} in capital letters.`;
    output = w.toUpperCase();
  } else if (kind === 5) {
    instruction = `Spell the word ${w} letter by letter.`;
    output = w.split('').join('-');
  } else if (kind === 6) {
    instruction = `How many letters are in the word ${w}?`;
    output = `The word ${w} has ${w.length} letters.`;
  } else if (kind === 7) {
    instruction = pick(rng, ['Repeat the text exactly.', 'Copy the input.']);
    input = sample(rng, SIMPLE_WORDS, between(rng, 2, 5)).join(' ');
    output = input;
  } else if (kind >= 9) {
    // The template with code answers, but only of kinds outside the code task's families: the
    // base model learns the format, not the task.
    const c = extraCodeSnippet(rng);
    instruction = `Write a JavaScript function \`${c.entry}(${c.params.join(', ')})\` that ${c.what}.`;
    output = c.code;
  } else {
    instruction = 'Sort these words in alphabetical order.';
    const ws = sample(rng, SIMPLE_WORDS, between(rng, 3, 5));
    input = ws.join(', ');
    output = [...ws].sort().join(', ');
  }
  return formatInstruction(instruction, input) + output;
}

// ---- assembly

/**
 * Documents totalling about `approxChars` characters, deterministic for (seed, options). Parts are
 * interleaved so that any prefix has roughly the configured shares.
 */
export function pretrainCorpus(seed: number, approxChars: number, opts: CorpusOptions = {}): string[] {
  const shares = { ...CORPUS_SHARES, ...opts.shares };
  const parts = (Object.keys(shares) as CorpusPart[]).filter((k) => shares[k] > 0);
  if (parts.length === 0) throw new Error('pretrainCorpus: all shares are zero');
  const totalShare = parts.reduce((s, k) => s + shares[k], 0);
  const rng = new Rng(seed).fork('pretrain-corpus');
  const world = generateWorld(opts.worldSeed ?? seed);
  const gens: Record<CorpusPart, () => string> = {
    arith: (
      (r) => () =>
        arithDoc(r)
    )(rng.fork('arith')),
    code: (
      (r, avoid) => () =>
        codeDoc(r, avoid)
    )(rng.fork('code'), codeTaskEntries(opts.worldSeed ?? seed)),
    kb: (
      (r, s) => () =>
        kbDoc(r, s)
    )(rng.fork('kb'), new KbStream(rng.fork('kb-order'), kbItems(world))),
    instruct: (
      (r) => () =>
        instructDoc(r)
    )(rng.fork('instruct')),
  };
  const made: Record<CorpusPart, number> = { arith: 0, code: 0, kb: 0, instruct: 0 };
  const docs: string[] = [];
  let total = 0;
  while (total < approxChars) {
    // The part furthest below its share of what has been produced so far (ties: declared order).
    let best = parts[0]!;
    let bestDeficit = -Infinity;
    for (const k of parts) {
      const deficit = ((total + 1) * shares[k]) / totalShare - made[k];
      if (deficit > bestDeficit) {
        best = k;
        bestDeficit = deficit;
      }
    }
    const doc = gens[best]();
    docs.push(doc);
    made[best] += doc.length;
    total += doc.length;
  }
  return docs;
}

/** What identifies a corpus: its sha256, documents and characters (recorded beside a pretrained model). */
export interface CorpusFingerprint {
  /** sha256 over every document in order: its UTF-8 byte length in decimal, a newline, its bytes. */
  sha256: string;
  documents: number;
  chars: number;
}

/** The fingerprint of a corpus: any change to a generator that changes one document changes the sha256. */
export function corpusFingerprint(docs: readonly string[]): CorpusFingerprint {
  const hash = createHash('sha256');
  let chars = 0;
  for (const d of docs) {
    const bytes = Buffer.from(d, 'utf8');
    hash.update(`${bytes.length}\n`);
    hash.update(bytes);
    chars += d.length;
  }
  return { sha256: hash.digest('hex'), documents: docs.length, chars };
}
