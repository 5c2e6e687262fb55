import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { CORPUS_SHARES, pretrainCorpus } from '../../src/data/pretrain-corpus.js';
import { formatInstruction, parseExamples, toExample } from '../../src/data/records.js';
import { ARITH_SIZES } from '../../src/data/tasks/arith.js';
import { CODE_FAMILIES, CODE_KINDS, CORPUS_CODE_KINDS, EXTRA_CODE_KINDS, codeSnippet } from '../../src/data/tasks/code.js';
import { loadTokenizer } from '../../src/data/tokenizer-io.js';
import { recordKey } from '../../src/data/tasks/common.js';
import { INSTRUCT_CATEGORIES } from '../../src/data/tasks/instruct.js';
import { generateWorld } from '../../src/data/tasks/kb.js';
import { TASKS, loadTask } from '../../src/data/tasks/index.js';
import type { TaskData, TaskRecord } from '../../src/data/tasks/types.js';

const NAMES = ['arith', 'code', 'instruct'] as const;
const all = (d: TaskData): TaskRecord[] => [...d.train, ...d.validation, ...d.test];
const textRef = (r: TaskRecord) => {
  if (r.reference.kind !== 'text') throw new Error('expected a text reference');
  return r.reference;
};

/** Evaluate a generated function (test code is trusted) and run its hidden tests. */
function runCode(source: string, entry: string, tests: { args: unknown[]; expected: unknown }[]): void {
  const fn = new Function(`${source}\nreturn ${entry};`)() as (...a: unknown[]) => unknown;
  for (const t of tests) expect(fn(...structuredClone(t.args)), `${entry}(${JSON.stringify(t.args)})`).toEqual(t.expected);
}

describe('task registry', () => {
  it('lists the three tasks and rejects unknown names with the known ones', () => {
    expect(Object.keys(TASKS).sort()).toEqual(['arith', 'code', 'instruct']);
    for (const name of NAMES) expect(TASKS[name].name).toBe(name);
    expect(() => loadTask('gsm8k')).toThrow(/unknown task 'gsm8k'.*arith, code, instruct/);
  });

  it('defaults to seed 0 and returns fresh split arrays', () => {
    const a = loadTask('arith');
    a.train.length = 0;
    expect(loadTask('arith', 0).train.length).toBe(ARITH_SIZES.train);
  });
});

describe.each(NAMES)('task %s', (name) => {
  const info = TASKS[name];
  const data = loadTask(name, 0);

  it('is deterministic for a seed and differs between seeds', () => {
    const again = info.generate(0);
    expect(JSON.stringify(again)).toBe(JSON.stringify(data));
    const other = info.generate(1);
    expect(other.test.map(recordKey)).not.toEqual(data.test.map(recordKey));
  });

  it('generates fast', () => {
    const t0 = performance.now();
    info.generate(7);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('has the documented sizes', () => {
    const sizes = { train: data.train.length, validation: data.validation.length, test: data.test.length };
    const want = { arith: [1800, 200, 200], code: [1350, 180, 180], instruct: [1200, 160, 160] }[name];
    expect([sizes.train, sizes.validation, sizes.test]).toEqual(want);
    expect(sizes.test).toBeLessThanOrEqual(200);
  });

  it('has disjoint, duplicate-free splits', () => {
    const keys = all(data).map(recordKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('uses only declared categories; meta tasks have one category per client in every split', () => {
    for (const r of all(data)) expect(info.categories).toContain(r.category);
    if (info.splitter === 'meta') {
      expect(info.categories.length).toBe(info.clients);
      for (const split of ['train', 'validation', 'test'] as const) {
        expect(new Set(data[split].map((r) => r.category)).size).toBe(info.clients);
      }
    } else {
      expect(info.clients).toBe(3);
    }
  });

  it('records are well-formed instruction records that records.ts reads', () => {
    for (const r of all(data)) {
      expect(r.instruction.trim()).not.toBe('');
      expect(r.output.trim()).not.toBe('');
      const ex = toExample(JSON.parse(JSON.stringify(r)));
      expect(ex.prompt).toBe(formatInstruction(r.instruction, r.input));
      expect(ex.target).toBe(r.output);
      expect(ex.meta.category).toBe(r.category);
    }
    const parsed = parseExamples(data.test.map((r) => JSON.stringify(r)).join('\n'), 'test.jsonl');
    expect(parsed.skipped).toEqual([]);
    expect(parsed.examples.length).toBe(data.test.length);
  });
});

describe('arith', () => {
  const data = loadTask('arith', 0);
  const STEP = /(\d+) ([-+*/]) (\d+) = (\d+)/g;

  it('states the reference answer and every step is correct, within 0..40', () => {
    for (const r of all(data)) {
      expect(r.reference.kind).toBe('number');
      const value = (r.reference as { value: number }).value;
      expect(Number.isInteger(value) && value >= 0 && value <= 40).toBe(true);
      expect(r.output.endsWith(` The answer is ${value}.`)).toBe(true);
      const steps = [...r.output.matchAll(STEP)];
      expect(steps.length, r.output).toBeGreaterThanOrEqual(2);
      expect(steps.length, r.output).toBeLessThanOrEqual(4);
      for (const [, a, op, b, c] of steps) {
        const [x, y, z] = [Number(a), Number(b), Number(c)];
        const want = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
        expect(z, r.output).toBe(want);
        expect(z).toBeGreaterThanOrEqual(0);
        expect(z).toBeLessThanOrEqual(40);
      }
      expect(Number(steps[steps.length - 1]![4])).toBe(value);
      // The first operand of the first step is given in the problem.
      expect(r.instruction).toContain(` ${steps[0]![1]} `);
    }
  });

  it('mixes its problem types', () => {
    const counts = new Map<string, number>();
    for (const r of data.train) counts.set(r.category, (counts.get(r.category) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...TASKS.arith.categories].sort());
    for (const n of counts.values()) expect(n).toBeGreaterThan(300);
  });
});

describe('code', () => {
  const data = loadTask('code', 0);

  it('every reference solution passes its own hidden tests', () => {
    for (const r of all(data)) {
      expect(r.reference.kind).toBe('code');
      const ref = r.reference as { entry: string; tests: { args: unknown[]; expected: unknown }[] };
      expect(ref.tests.length).toBeGreaterThanOrEqual(3);
      expect(ref.tests.length).toBeLessThanOrEqual(5);
      expect(JSON.parse(JSON.stringify(ref.tests))).toEqual(ref.tests);
      expect(r.instruction).toContain(`\`${ref.entry}(`);
      expect(r.output.startsWith(`function ${ref.entry}(`)).toBe(true);
      runCode(r.output, ref.entry, ref.tests);
    }
  });

  it('gives the signature line as the stub, which tokenizes as a prefix of the answer', async () => {
    const tok = await loadTokenizer('models/fedhpo-base');
    for (const r of all(data)) {
      const ref = r.reference as { entry: string; stub?: string };
      expect(ref.stub).toMatch(new RegExp(`^function ${ref.entry}\\([\\w, ]*\\) \\{$`));
      expect(r.output.startsWith(ref.stub!)).toBe(true);
      const stubIds = tok.encode(ref.stub!);
      expect(tok.encode(r.output).slice(0, stubIds.length)).toEqual(stubIds);
    }
  });

  it('corpus snippets render code that passes its tests, of a third of the task kinds only', () => {
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const s = codeSnippet(rng);
      runCode(s.code, s.entry, s.tests);
      seen.add(s.kind);
    }
    const corpusKinds = new Set(CORPUS_CODE_KINDS.map((k) => k.id));
    expect(seen).toEqual(corpusKinds);
    for (const f of CODE_FAMILIES) {
      const kinds = CODE_KINDS.filter((k) => k.family === f);
      const shown = kinds.filter((k) => corpusKinds.has(k.id)).length;
      expect(shown).toBeGreaterThanOrEqual(1);
      expect(shown).toBeLessThanOrEqual(Math.ceil(kinds.length / 3));
    }
    for (const k of EXTRA_CODE_KINDS) expect(corpusKinds.has(k.id)).toBe(true);
    expect(CODE_KINDS.length + EXTRA_CODE_KINDS.length).toBeGreaterThan(50);
  });

  it('has nine unbalanced families', () => {
    expect(TASKS.code.categories).toEqual([...CODE_FAMILIES]);
    const sizes = CODE_FAMILIES.map((f) => data.train.filter((r) => r.category === f).length);
    expect(Math.max(...sizes)).toBeGreaterThan(1.8 * Math.min(...sizes));
  });
});

describe('instruct', () => {
  const data = loadTask('instruct', 0);
  const world = generateWorld(0);
  const records = all(data);
  const byCat = (c: string) => records.filter((r) => r.category === c);
  const lc = (s: string) => s.toLowerCase();

  /** Attribute values of every world entity named in `text`. */
  function valuesNamedIn(text: string): string[] {
    const out: string[] = [];
    for (const p of world.people) if (text.includes(p.name)) out.push(p.job, p.town, p.pet, p.color, p.hobby);
    for (const t of world.towns) if (new RegExp(`\\b${t.name}\\b`).test(text)) out.push(t.river, t.region, t.knownFor, t.size);
    for (const an of world.animals) if (new RegExp(`\\bthe ${an.name}\\b`).test(text)) out.push(an.cls, an.diet, an.habitat, an.color);
    return out;
  }

  it('has Dolly categories, with context exactly for the context categories', () => {
    expect(TASKS.instruct.categories).toEqual([...INSTRUCT_CATEGORIES]);
    for (const r of records) {
      const withContext = ['closed_qa', 'information_extraction', 'summarization'].includes(r.category);
      expect(Boolean(r.input?.trim()), `${r.category}: ${r.instruction}`).toBe(withContext);
      const ref = textRef(r);
      expect(ref.answers).toContain(r.output);
    }
  });

  it('closed_qa answers occur in the context, and are facts about the asked entity', () => {
    for (const r of byCat('closed_qa')) {
      const short = textRef(r).answers[1]!;
      expect(textRef(r).metric).toBe('exact');
      expect(r.input).toContain(short);
      expect(valuesNamedIn(r.instruction)).toContain(short);
    }
  });

  it('open_qa answers are facts of the world about the asked entity', () => {
    for (const r of byCat('open_qa')) expect(valuesNamedIn(r.instruction), r.instruction).toContain(textRef(r).answers[1]);
  });

  it('information_extraction answers are copied from the context', () => {
    const LABELS = /\b(Job|Town|Pet|Favourite color|Hobby|River|Known for|Diet|Habitat): /g;
    for (const r of byCat('information_extraction')) {
      const pieces = r.output
        .replace(LABELS, '')
        .split(/[.,]\s*|\s+and\s+/)
        .map((s) => s.trim())
        .filter(Boolean);
      for (const piece of pieces) expect(lc(r.input!), r.output).toContain(lc(piece));
    }
  });

  it('summaries only state facts from the passage', () => {
    for (const r of byCat('summarization')) {
      const facts = valuesNamedIn(r.input!);
      const stated = facts.filter((v) => r.output.includes(v));
      expect(stated.length, r.output).toBeGreaterThanOrEqual(3);
      for (const v of stated) expect(r.input).toContain(v);
    }
  });

  it('brainstorming lists only entities that satisfy the asked relation', () => {
    const people = world.people;
    const animals = world.animals;
    const relations: [RegExp, (m: string) => string[]][] = [
      [/people who live in (\w+)\.$/, (t) => people.filter((p) => p.town === t).map((p) => p.name)],
      [/jobs that people in (\w+) have\.$/, (t) => people.filter((p) => p.town === t).map((p) => p.job)],
      [/pets that people in (\w+) keep\.$/, (t) => people.filter((p) => p.town === t).map((p) => p.pet)],
      [/animals that live in ([\w ]+)\.$/, (h) => animals.filter((a) => a.habitat === h).map((a) => `the ${a.name}`)],
      [/animals that eat ([\w ]+)\.$/, (d) => animals.filter((a) => a.diet === d).map((a) => `the ${a.name}`)],
      [/towns on the river (\w+)\.$/, (r) => world.towns.filter((t) => t.river === r).map((t) => t.name)],
      [/people who work as (\w+)s\.$/, (j) => people.filter((p) => p.job === j).map((p) => p.name)],
    ];
    for (const r of byCat('brainstorming')) {
      const rel = relations.map(([re, f]) => [r.instruction.match(re), f] as const).find(([m]) => m);
      expect(rel, r.instruction).toBeDefined();
      const valid = rel![1](rel![0]![1]!);
      // The first item is capitalised ("The varlo, ..." / "Baker, ...").
      const items = r.output.replace(/\.$/, '').split(/, | and /);
      expect(items.length).toBeGreaterThan(0);
      items.forEach((it, i) => {
        const ok = valid.includes(it) || (i === 0 && valid.some((v) => v.charAt(0).toUpperCase() + v.slice(1) === it));
        expect(ok, `${r.instruction} -> ${it}`).toBe(true);
      });
      const want = r.instruction.match(/ (two|three) people/);
      if (want) expect(items.length).toBe(want[1] === 'two' ? 2 : 3);
    }
  });

  it('uses exact match for short answers and F1 for long ones', () => {
    for (const c of ['general_qa', 'summarization', 'brainstorming', 'creative_writing']) {
      for (const r of byCat(c)) expect(textRef(r).metric).toBe('f1');
    }
    for (const r of byCat('open_qa')) expect(textRef(r).metric).toBe('exact');
  });

  it('the knowledge base is deterministic per seed', () => {
    expect(JSON.stringify(generateWorld(5))).toBe(JSON.stringify(generateWorld(5)));
    expect(JSON.stringify(generateWorld(5))).not.toBe(JSON.stringify(generateWorld(6)));
  });
});

describe('pretraining corpus', () => {
  const docs = pretrainCorpus(0, 600_000);
  const text = docs.join('\n');

  it('is deterministic, about the requested size, and seed-dependent', () => {
    expect(pretrainCorpus(0, 600_000)).toEqual(docs);
    expect(text.length).toBeGreaterThanOrEqual(600_000);
    expect(text.length).toBeLessThan(610_000);
    expect(pretrainCorpus(1, 50_000).slice(0, 20)).not.toEqual(docs.slice(0, 20));
  });

  it('contains no task instruction (any split) verbatim', () => {
    for (const name of NAMES) {
      for (const r of all(loadTask(name, 0))) expect(text.includes(r.instruction), r.instruction).toBe(false);
    }
    // Code answers use other function names than the code task.
    for (const r of all(loadTask('code', 0))) expect(text.includes(r.output)).toBe(false);
  });

  it('mixes its four parts in about the configured shares', () => {
    const alpaca = docs.filter((d) => d.includes('### Instruction:'));
    const code = docs.filter((d) => d.startsWith('// '));
    const share = (xs: string[]) => xs.reduce((s, d) => s + d.length, 0) / text.length;
    expect(share(alpaca)).toBeGreaterThan(CORPUS_SHARES.instruct - 0.03);
    expect(share(alpaca)).toBeLessThan(CORPUS_SHARES.instruct + 0.03);
    expect(share(code)).toBeGreaterThan(CORPUS_SHARES.code - 0.05);
    expect(text).toMatch(/\d+ plus \d+ is \d+\./);
    // Facts reach the arith task's range: running values up to 40, groups of up to 20.
    expect(text).toMatch(/\b3\d \+ 1[0-2] = 4\d\./);
    expect(text).toMatch(/\b[2-6] times 1[3-9] is \d+\./);
    expect(text).toMatch(/[Tt]he answer is \d+\./);
    expect(text).toMatch(/\/\/ returns \w+ multiplied by \d+\nfunction \w+\(\w+\) \{\n {2}return \w+ \* \d+;\n\}/);
  });

  it('covers every fact of the instruct world in prose', () => {
    const world = generateWorld(0);
    for (const p of world.people) {
      expect(text).toContain(p.name);
      expect(text).toMatch(new RegExp(`${p.name} (is an? ${p.job} who lives in|works as an? ${p.job} in|lives in ${p.town} and works as)`));
    }
    for (const t of world.towns) {
      expect(
        text.includes(`The river ${t.river} flows through ${t.name}.`) || text.includes(`${t.name} lies on the river ${t.river}.`),
      ).toBe(true);
      expect(text).toMatch(new RegExp(`${t.name} is (known|famous) for its ${t.knownFor}\\.`));
    }
    for (const an of world.animals) expect(text).toContain(`The ${an.name}`);
    // The prose about a person carries the facts the task asks about.
    const ada = world.people[0]!;
    const about = docs.filter((d) => d.includes(`${ada.name} `)).join(' ');
    for (const v of [ada.job, ada.town, ada.pet, ada.color, ada.hobby]) expect(about).toContain(v);
  });

  it('uses the same world as the instruct task of the same seed', () => {
    const w = generateWorld(0);
    const open = loadTask('instruct', 0).test.filter((r) => r.category === 'open_qa');
    // Every open_qa test question is about an entity the corpus describes.
    for (const r of open)
      expect([...w.people, ...w.towns, ...w.animals].some((e) => r.instruction.includes(e.name) && text.includes(e.name))).toBe(true);
  });
});
