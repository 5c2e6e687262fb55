// Built-in task "instruct", like Fed-Dolly: instruction/response pairs in Dolly's 8 categories (one
// meta client each), built over the generated world of kb.ts so that every answer is checkable.
// closed_qa, information_extraction and summarization carry their source text in `input`; the other
// categories rely on facts the base model can learn from the pretraining corpus (same seed, same
// world). Short factual answers are scored by exact match, longer ones (lists, summaries, stories)
// by token F1.
import { Rng } from '../../engine/rng.js';
import { andList, buildMetaTask, cap, pick, sample } from './common.js';
import {
  type Animal,
  type Person,
  type Town,
  type World,
  CLASSES,
  He,
  His,
  REGIONS,
  art,
  describeAnimal,
  describePerson,
  describeTown,
  generateWorld,
  his,
  isPlantEater,
  residents,
  townOf,
} from './kb.js';
import type { TaskData, TaskInfo, TaskRecord } from './types.js';

export const INSTRUCT_CATEGORIES = [
  'open_qa',
  'general_qa',
  'classification',
  'closed_qa',
  'information_extraction',
  'summarization',
  'brainstorming',
  'creative_writing',
] as const;
export type InstructCategory = (typeof INSTRUCT_CATEGORIES)[number];

const CATEGORY_WEIGHTS: Record<InstructCategory, number> = {
  open_qa: 1.3,
  general_qa: 0.9,
  classification: 1.0,
  closed_qa: 1.3,
  information_extraction: 0.9,
  summarization: 0.8,
  brainstorming: 0.9,
  creative_writing: 0.9,
};

export const INSTRUCT_SIZES = { train: 1200, validation: 160, test: 160 };

const him = (p: Person): string => (p.he === 'he' ? 'him' : 'her');

type Entity = { kind: 'person'; v: Person } | { kind: 'town'; v: Town } | { kind: 'animal'; v: Animal };

function anyEntity(rng: Rng, w: World): Entity {
  const r = rng.next();
  if (r < 0.6) return { kind: 'person', v: pick(rng, w.people) };
  if (r < 0.8) return { kind: 'town', v: pick(rng, w.towns) };
  return { kind: 'animal', v: pick(rng, w.animals) };
}

function describe(rng: Rng, e: Entity): string {
  return e.kind === 'person' ? describePerson(rng, e.v) : e.kind === 'town' ? describeTown(rng, e.v) : describeAnimal(rng, e.v);
}

/** A different entity of the same kind (a distractor). */
function sameKind(rng: Rng, w: World, e: Entity): Entity {
  for (;;) {
    const o: Entity =
      e.kind === 'person'
        ? { kind: 'person', v: pick(rng, w.people) }
        : e.kind === 'town'
          ? { kind: 'town', v: pick(rng, w.towns) }
          : { kind: 'animal', v: pick(rng, w.animals) };
    if (o.v.name !== e.v.name) return o;
  }
}

/** A question about one fact: lower-case phrasings, the full answer sentence and the short answer. */
interface Fact {
  questions: string[];
  answer: string;
  short: string;
}

function facts(e: Entity): Fact[] {
  if (e.kind === 'person') {
    const p = e.v;
    const N = p.name;
    return [
      { questions: [`what is ${N}'s job?`, `what does ${N} do for work?`], answer: `${N} is ${art(p.job)}.`, short: p.job },
      { questions: [`where does ${N} live?`, `in which town does ${N} live?`], answer: `${N} lives in ${p.town}.`, short: p.town },
      { questions: [`what pet does ${N} have?`, `what kind of pet does ${N} keep?`], answer: `${N} has ${art(p.pet)}.`, short: p.pet },
      {
        questions: [`what is ${N}'s favourite color?`, `which color does ${N} like best?`],
        answer: `${N}'s favourite color is ${p.color}.`,
        short: p.color,
      },
      { questions: [`what does ${N} enjoy doing?`, `what is ${N}'s hobby?`], answer: `${N} enjoys ${p.hobby}.`, short: p.hobby },
    ];
  }
  if (e.kind === 'town') {
    const t = e.v;
    const T = t.name;
    return [
      {
        questions: [`which river flows through ${T}?`, `on which river does ${T} lie?`],
        answer: `The river ${t.river} flows through ${T}.`,
        short: t.river,
      },
      {
        questions: [`in which part of the land is ${T}?`, `is ${T} in the north, south, east or west?`],
        answer: `${T} is in the ${t.region}.`,
        short: t.region,
      },
      {
        questions: [`what is ${T} known for?`, `what is ${T} famous for?`],
        answer: `${T} is known for its ${t.knownFor}.`,
        short: t.knownFor,
      },
      { questions: [`how big is ${T}?`, `what size of town is ${T}?`], answer: `${T} is ${art(t.size)} town.`, short: t.size },
    ];
  }
  const an = e.v;
  const A = `the ${an.name}`;
  return [
    { questions: [`what kind of animal is ${A}?`, `what class of animal is ${A}?`], answer: `${cap(A)} is ${art(an.cls)}.`, short: an.cls },
    { questions: [`what does ${A} eat?`, `what food does ${A} eat?`], answer: `${cap(A)} eats ${an.diet}.`, short: an.diet },
    {
      questions: [`where does ${A} live?`, `in what kind of place does ${A} live?`],
      answer: `${cap(A)} lives in ${an.habitat}.`,
      short: an.habitat,
    },
    { questions: [`what color is ${A}?`, `what is the color of ${A}?`], answer: `${cap(A)} is mostly ${an.color}.`, short: an.color },
  ];
}

/** Exact match against the full answer sentence or the bare short answer. */
const exact = (answer: string, short: string): TaskRecord['reference'] => ({
  kind: 'text',
  answers: answer === short ? [answer] : [answer, short],
  metric: 'exact',
});
const f1 = (...answers: string[]): TaskRecord['reference'] => ({ kind: 'text', answers, metric: 'f1' });

function openQa(rng: Rng, w: World): TaskRecord {
  const e = anyEntity(rng, w);
  const f = pick(rng, facts(e));
  return { instruction: cap(pick(rng, f.questions)), output: f.answer, category: 'open_qa', reference: exact(f.answer, f.short) };
}

function closedQa(rng: Rng, w: World): TaskRecord {
  const e = anyEntity(rng, w);
  const f = pick(rng, facts(e));
  const paras = [describe(rng, e)];
  if (rng.next() < 0.5) paras.push(describe(rng, sameKind(rng, w, e)));
  const prefix = pick(rng, ['Based on the text', 'According to the text', 'Using only the passage']);
  return {
    instruction: `${prefix}, ${pick(rng, f.questions)}`,
    input: rng.shuffle(paras).join(' '),
    output: f.answer,
    category: 'closed_qa',
    reference: exact(f.answer, f.short),
  };
}

/** The canonical all-facts description (general_qa answers). */
function canonical(e: Entity): string {
  if (e.kind === 'person') {
    const p = e.v;
    return `${p.name} is ${art(p.job)} who lives in ${p.town}. ${His(p)} pet is ${art(p.pet)}, ${his(p)} favourite color is ${p.color} and ${p.he} enjoys ${p.hobby}.`;
  }
  if (e.kind === 'town') {
    const t = e.v;
    return `${t.name} is ${art(t.size)} town in the ${t.region}. The river ${t.river} flows through ${t.name}, and it is known for its ${t.knownFor}.`;
  }
  const an = e.v;
  return `The ${an.name} is ${art(an.cls)} that lives in ${an.habitat}. It eats ${an.diet} and is mostly ${an.color}.`;
}

function generalQa(rng: Rng, w: World): TaskRecord {
  const e = anyEntity(rng, w);
  const n = e.v.name;
  const questions =
    e.kind === 'person'
      ? [`Tell me about ${n}.`, `Who is ${n}?`, `What do you know about ${n}?`]
      : e.kind === 'town'
        ? [`Tell me about ${n}.`, `What is ${n} like?`, `What do you know about the town of ${n}?`]
        : [`Tell me about the ${n}.`, `What is the ${n}?`, `Describe the ${n}.`];
  const out = canonical(e);
  return { instruction: pick(rng, questions), output: out, category: 'general_qa', reference: f1(out) };
}

function classification(rng: Rng, w: World): TaskRecord {
  const r = rng.next();
  if (r < 0.4) {
    const an = pick(rng, w.animals);
    const opts = rng.shuffle([
      an.cls,
      ...sample(
        rng,
        CLASSES.filter((c) => c !== an.cls),
        2,
      ),
    ]);
    const out = `The ${an.name} is ${art(an.cls)}.`;
    return {
      instruction: `Is the ${an.name} ${art(opts[0]!)}, ${art(opts[1]!)} or ${art(opts[2]!)}?`,
      output: out,
      category: 'classification',
      reference: exact(out, an.cls),
    };
  }
  if (r < 0.6) {
    const an = pick(rng, w.animals);
    const label = isPlantEater(an) ? 'plant eater' : 'meat eater';
    const [x, y] = rng.shuffle(['plant eater', 'meat eater']);
    const out = `The ${an.name} is a ${label}.`;
    return { instruction: `Is the ${an.name} a ${x} or a ${y}?`, output: out, category: 'classification', reference: exact(out, label) };
  }
  if (r < 0.75) {
    const t = pick(rng, w.towns);
    const other = pick(
      rng,
      REGIONS.filter((g) => g !== t.region),
    );
    const [x, y] = rng.shuffle([t.region, other]);
    const out = `${t.name} is in the ${t.region}.`;
    return {
      instruction: `Is ${t.name} in the ${x} or in the ${y}?`,
      output: out,
      category: 'classification',
      reference: exact(out, t.region),
    };
  }
  const items = rng
    .shuffle([
      ...sample(rng, w.people, 1).map((p) => ({ label: p.name, say: `${p.name} is a person.` })),
      ...sample(rng, w.towns, 1).map((t) => ({ label: t.name, say: `${t.name} is a town.` })),
      ...sample(rng, w.animals, 1).map((an) => ({ label: `the ${an.name}`, say: `The ${an.name} is an animal.` })),
      ...(rng.next() < 0.5
        ? []
        : [anyEntity(rng, w)].map((e) => ({
            label: e.kind === 'animal' ? `the ${e.v.name}` : e.v.name,
            say: e.kind === 'animal' ? `The ${e.v.name} is an animal.` : `${e.v.name} is a ${e.kind}.`,
          }))),
    ])
    .filter((it, i, xs) => xs.findIndex((o) => o.label === it.label) === i);
  const out = items.map((it) => it.say).join(' ');
  return {
    instruction: `Classify each of the following as a person, a town or an animal: ${items.map((it) => it.label).join(', ')}.`,
    output: out,
    category: 'classification',
    reference: f1(out),
  };
}

const PERSON_FIELDS: readonly [string, (p: Person) => string][] = [
  ['job', (p) => p.job],
  ['town', (p) => p.town],
  ['pet', (p) => p.pet],
  ['favourite color', (p) => p.color],
  ['hobby', (p) => p.hobby],
];

function informationExtraction(rng: Rng, w: World): TaskRecord {
  const r = rng.next();
  const cat = 'information_extraction';
  if (r < 0.35) {
    const p = pick(rng, w.people);
    const [f1x, f2x] = sample(rng, PERSON_FIELDS, 2) as [(typeof PERSON_FIELDS)[number], (typeof PERSON_FIELDS)[number]];
    const out = `${cap(f1x[0])}: ${f1x[1](p)}. ${cap(f2x[0])}: ${f2x[1](p)}.`;
    return {
      instruction: `Extract ${p.name}'s ${f1x[0]} and ${f2x[0]} from the text.`,
      input: describePerson(rng, p),
      output: out,
      category: cat,
      reference: f1(out),
    };
  }
  if (r < 0.55) {
    const p = pick(rng, w.people);
    const [what, get] = pick(rng, [
      [`the name of the town where ${p.name} lives`, (q: Person) => q.town],
      [`the pet that ${p.name} keeps`, (q: Person) => q.pet],
      [`${p.name}'s job`, (q: Person) => q.job],
    ] as const);
    const v = get(p);
    const paras = rng.shuffle([
      describePerson(rng, p),
      ...(rng.next() < 0.4 ? [describePerson(rng, sameKind(rng, w, { kind: 'person', v: p }).v as Person)] : []),
    ]);
    return { instruction: `From the text, extract ${what}.`, input: paras.join(' '), output: v, category: cat, reference: exact(v, v) };
  }
  if (r < 0.75) {
    const ps = sample(rng, w.people, 2 + rng.int(2));
    const names = andList(ps.map((p) => p.name));
    const out = `${names}.`;
    return {
      instruction: pick(rng, [
        'List the names of the people mentioned in the text.',
        'Which people are mentioned in the text?',
        'Extract the names of all people in the text.',
      ]),
      input: ps.map((p) => describePerson(rng, p)).join(' '),
      output: out,
      category: cat,
      reference: f1(out),
    };
  }
  if (r < 0.9) {
    const t = pick(rng, w.towns);
    const out = `River: ${t.river}. Known for: ${t.knownFor}.`;
    return {
      instruction: `Extract the river of ${t.name} and what the town is known for.`,
      input: describeTown(rng, t),
      output: out,
      category: cat,
      reference: f1(out),
    };
  }
  const an = pick(rng, w.animals);
  const out = `Diet: ${an.diet}. Habitat: ${an.habitat}.`;
  return {
    instruction: `Extract what the ${an.name} eats and where it lives.`,
    input: describeAnimal(rng, an),
    output: out,
    category: cat,
    reference: f1(out),
  };
}

function summarization(rng: Rng, w: World): TaskRecord {
  const e = anyEntity(rng, w);
  let passage: string[];
  let summary: string;
  if (e.kind === 'person') {
    const p = e.v;
    const t = townOf(w, p);
    passage = [
      describePerson(rng, p),
      ...sample(
        rng,
        [
          `Every morning ${p.he} walks along the river ${t.river}.`,
          `Many people in ${p.town} know ${him(p)}.`,
          `${He(p)} has lived in ${p.town} for many years.`,
          `${His(p)} friends say ${p.he} is kind and patient.`,
        ],
        2,
      ),
    ];
    summary = `${p.name} is ${art(p.job)} in ${p.town} who has ${art(p.pet)}, likes ${p.color} and enjoys ${p.hobby}.`;
  } else if (e.kind === 'town') {
    const t = e.v;
    const folk = residents(w, t.name)
      .slice(0, 3)
      .map((p) => p.name);
    passage = [
      describeTown(rng, t),
      ...sample(
        rng,
        [
          `People who live in ${t.name} include ${andList(folk)}.`,
          `Visitors often come to ${t.name} in the summer.`,
          `The streets of ${t.name} are quiet at night.`,
        ],
        2,
      ),
    ];
    summary = `${t.name} is ${art(t.size)} town in the ${t.region} on the river ${t.river}, known for its ${t.knownFor}.`;
  } else {
    const an = e.v;
    passage = [
      describeAnimal(rng, an),
      ...sample(
        rng,
        [
          `People sometimes see the ${an.name} early in the morning.`,
          `The ${an.name} is shy and hard to find.`,
          `Children like to draw pictures of the ${an.name}.`,
        ],
        2,
      ),
    ];
    summary = `The ${an.name} is ${art(an.cls)} that lives in ${an.habitat} and eats ${an.diet}.`;
  }
  const subject = e.kind === 'animal' ? `the ${e.v.name}` : e.v.name;
  return {
    instruction: pick(rng, [
      'Summarize the text in one sentence.',
      'Give a one-sentence summary of the passage.',
      'Summarize this passage briefly.',
      `Summarize what the text says about ${subject}.`,
    ]),
    input: passage.join(' '),
    output: summary,
    category: 'summarization',
    reference: f1(summary),
  };
}

const listOut = (items: string[]): string => `${cap(andList(items))}.`;

function brainstorming(rng: Rng, w: World): TaskRecord {
  const verb = pick(rng, ['List', 'Name', 'Give me']);
  const r = rng.next();
  let instruction: string;
  let items: string[];
  let all: string[] | undefined;
  if (r < 0.3) {
    const t = pick(rng, w.towns);
    const folk = residents(w, t.name).map((p) => p.name);
    const k = pick(rng, [2, 3]);
    instruction = `${verb} ${k === 2 ? 'two' : 'three'} people who live in ${t.name}.`;
    items = folk.slice(0, k);
    all = folk;
  } else if (r < 0.45) {
    const t = pick(rng, w.towns);
    instruction = `${verb} some jobs that people in ${t.name} have.`;
    items = [...new Set(residents(w, t.name).map((p) => p.job))].slice(0, 4);
  } else if (r < 0.55) {
    const t = pick(rng, w.towns);
    instruction = `${verb} some pets that people in ${t.name} keep.`;
    items = [...new Set(residents(w, t.name).map((p) => p.pet))].slice(0, 4);
  } else if (r < 0.7) {
    const hab = pick(rng, [...new Set(w.animals.map((an) => an.habitat))]);
    instruction = `${verb} some animals that live in ${hab}.`;
    all = w.animals.filter((an) => an.habitat === hab).map((an) => `the ${an.name}`);
    items = all.slice(0, 4);
  } else if (r < 0.8) {
    const diet = pick(rng, [...new Set(w.animals.map((an) => an.diet))]);
    instruction = `${verb} some animals that eat ${diet}.`;
    all = w.animals.filter((an) => an.diet === diet).map((an) => `the ${an.name}`);
    items = all.slice(0, 4);
  } else if (r < 0.9) {
    const river = pick(rng, w.rivers);
    instruction = `${verb} some towns on the river ${river}.`;
    all = w.towns.filter((t) => t.river === river).map((t) => t.name);
    items = all.slice(0, 4);
  } else {
    const job = pick(rng, [...new Set(w.people.map((p) => p.job))]);
    instruction = `${verb} some people who work as ${job}s.`;
    all = w.people.filter((p) => p.job === job).map((p) => p.name);
    items = all.slice(0, 4);
  }
  const out = listOut(items);
  const answers = all && all.length > items.length ? [out, listOut(all)] : [out];
  return { instruction, output: out, category: 'brainstorming', reference: f1(...answers) };
}

function creativeWriting(rng: Rng, w: World): TaskRecord {
  const e = anyEntity(rng, w);
  let instruction: string;
  let out: string;
  if (e.kind === 'person') {
    const p = e.v;
    if (rng.next() < 0.5) {
      instruction = pick(rng, [`Write a short story about ${p.name}.`, `Tell a short story about a day in the life of ${p.name}.`]);
      out =
        `${p.name} woke up early in ${p.town}. ${He(p)} fed ${his(p)} ${p.pet} and went to work as ${art(p.job)}. ` +
        `In the evening ${p.he} enjoyed ${p.hobby}, wearing ${his(p)} favourite ${p.color} scarf. It was a good day.`;
    } else {
      instruction = pick(rng, [`Write a diary entry as ${p.name}.`, `Write a short diary entry in the voice of ${p.name}.`]);
      out =
        `Dear diary, today I worked as ${art(p.job)} in ${p.town}. My ${p.pet} kept me company. ` +
        `I wore my ${p.color} coat, and tonight I will enjoy ${p.hobby}.`;
    }
  } else if (e.kind === 'town') {
    const t = e.v;
    instruction = pick(rng, [`Write a short poem about ${t.name}.`, `Write a four-line poem about the town of ${t.name}.`]);
    out = `In ${t.name} by the ${t.river},\nfamous for its ${t.knownFor},\n${art(t.size)} town in the ${t.region},\nwhere all the windows shine.`;
  } else {
    const an = e.v;
    instruction = pick(rng, [`Write a short story about a ${an.name}.`, `Write a children's story about the ${an.name}.`]);
    out =
      `Once there was a ${an.name} that lived in ${an.habitat}. Every day it looked for ${an.diet} to eat. ` +
      `Its ${an.color} body helped it hide, and it was never hungry for long.`;
  }
  return { instruction, output: out, category: 'creative_writing', reference: f1(out) };
}

const GENERATORS: Record<InstructCategory, (rng: Rng, w: World) => TaskRecord> = {
  open_qa: openQa,
  general_qa: generalQa,
  classification,
  closed_qa: closedQa,
  information_extraction: informationExtraction,
  summarization,
  brainstorming,
  creative_writing: creativeWriting,
};

/** One record of `category` about the world of `world`. */
export function instructRecord(rng: Rng, world: World, category: InstructCategory): TaskRecord {
  return GENERATORS[category](rng, world);
}

export function generateInstruct(seed: number): TaskData {
  const world = generateWorld(seed);
  const rng = new Rng(seed).fork('task:instruct');
  const gens = Object.fromEntries(INSTRUCT_CATEGORIES.map((c) => [c, (r: Rng) => instructRecord(r, world, c)]));
  return buildMetaTask(rng, gens, CATEGORY_WEIGHTS, INSTRUCT_SIZES, 'instruct');
}

export const INSTRUCT_TASK: TaskInfo = {
  name: 'instruct',
  description: "Instruction/response pairs in Dolly's 8 categories over a generated world of people, towns and animals",
  like: 'Fed-Dolly (per-category meta split)',
  clients: INSTRUCT_CATEGORIES.length,
  splitter: 'meta',
  categories: [...INSTRUCT_CATEGORIES],
  score: 'helm',
  generate: generateInstruct,
};
