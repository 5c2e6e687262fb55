// A generated fictional world (people, towns, rivers, animals) shared by the "instruct" task and the
// pretraining corpus: the same seed gives the same world, so facts the base model reads in
// encyclopedia-style prose are the ones the task asks about. Renderers here produce the fact
// sentences in a few phrasings.
import { Rng } from '../../engine/rng.js';
import { cap, pick, sample } from './common.js';

export interface Person {
  name: string;
  /** 'he' or 'she' */
  he: 'he' | 'she';
  job: string;
  town: string;
  pet: string;
  color: string;
  /** An activity phrase: "fishing", "playing chess". */
  hobby: string;
}

export type TownSize = 'small' | 'medium-sized' | 'large';
export interface Town {
  name: string;
  river: string;
  size: TownSize;
  region: string;
  knownFor: string;
}

export interface Animal {
  /** Lower-case species name, used as "the varlo". */
  name: string;
  cls: string;
  diet: string;
  habitat: string;
  color: string;
}

export interface World {
  people: Person[];
  towns: Town[];
  animals: Animal[];
  rivers: string[];
}

export const WORLD_SIZES = { people: 150, towns: 30, animals: 32, rivers: 10 };

const FIRST_NAMES: readonly [string, 'he' | 'she'][] = [
  ['Ada', 'she'],
  ['Bram', 'he'],
  ['Cora', 'she'],
  ['Dov', 'he'],
  ['Elin', 'she'],
  ['Fenn', 'he'],
  ['Greta', 'she'],
  ['Hal', 'he'],
  ['Ines', 'she'],
  ['Jory', 'he'],
  ['Kit', 'she'],
  ['Lark', 'he'],
  ['Mira', 'she'],
  ['Nils', 'he'],
  ['Odette', 'she'],
  ['Pim', 'he'],
  ['Rhea', 'she'],
  ['Soren', 'he'],
  ['Tova', 'she'],
  ['Ulric', 'he'],
  ['Wren', 'she'],
  ['Yannick', 'he'],
  ['Yara', 'she'],
  ['Zeb', 'he'],
  ['Alma', 'she'],
  ['Bo', 'he'],
  ['Cass', 'she'],
  ['Emrys', 'he'],
  ['Fia', 'she'],
  ['Gil', 'he'],
  ['Hester', 'she'],
  ['Ivo', 'he'],
  ['Juno', 'she'],
  ['Kael', 'he'],
  ['Lise', 'she'],
  ['Mott', 'he'],
  ['Nell', 'she'],
  ['Orrin', 'he'],
  ['Pella', 'she'],
  ['Rolf', 'he'],
];
const SURNAMES = [
  'Finch',
  'Marsh',
  'Thorne',
  'Bell',
  'Crane',
  'Dale',
  'Ember',
  'Frost',
  'Gale',
  'Hollis',
  'Ives',
  'Kestrel',
  'Lowe',
  'Moss',
  'Nettle',
  'Oakes',
  'Pike',
  'Quarry',
  'Reed',
  'Sable',
  'Tarrow',
  'Vane',
  'Wick',
  'Yew',
  'Ashby',
  'Bramble',
  'Cobb',
  'Drake',
  'Fernley',
  'Hart',
];
export const JOBS = [
  'baker',
  'teacher',
  'farmer',
  'doctor',
  'painter',
  'fisher',
  'carpenter',
  'nurse',
  'tailor',
  'potter',
  'miller',
  'singer',
  'builder',
  'gardener',
  'librarian',
  'sailor',
];
export const PETS = ['cat', 'dog', 'rabbit', 'parrot', 'goldfish', 'hamster', 'tortoise', 'goat', 'owl'];
export const COLORS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'white', 'black', 'grey', 'pink'];
export const HOBBIES = [
  'fishing',
  'singing',
  'playing chess',
  'painting',
  'running',
  'cooking',
  'reading',
  'gardening',
  'dancing',
  'knitting',
];
const TOWN_HEADS = ['Mar', 'Bel', 'Ash', 'Dun', 'Hol', 'Lin', 'Tor', 'Vel', 'Cal', 'Den', 'Gar', 'Nor', 'Pen', 'Sel', 'Wen', 'Oak'];
const TOWN_TAILS = ['row', 'ton', 'ford', 'wick', 'by', 'mere', 'stead', 'holm', 'dale', 'bury'];
const RIVERS = ['Tamber', 'Eskel', 'Lunnet', 'Oskra', 'Dovel', 'Brenna', 'Calder', 'Falla', 'Urra', 'Nidda', 'Sorrel', 'Wenna'];
export const SIZES: readonly TownSize[] = ['small', 'medium-sized', 'large'];
export const REGIONS = ['north', 'south', 'east', 'west'];
export const KNOWN_FOR = [
  'apples',
  'bridges',
  'cheese',
  'boats',
  'wool',
  'honey',
  'pottery',
  'bells',
  'windmills',
  'markets',
  'gardens',
  'clocks',
];
const ANIMAL_ONSETS = ['v', 'qu', 'dr', 'br', 'gl', 'sk', 'm', 't', 'f', 'pl', 'sn', 'cr', 'z', 'h', 'thr', 'w'];
const ANIMAL_CORES = ['arlo', 'innet', 'amble', 'isk', 'ollop', 'urrel', 'ebbin', 'ank', 'ivet', 'oon', 'axle', 'umpet'];
export const CLASSES = ['bird', 'mammal', 'fish', 'reptile', 'insect', 'amphibian'];
export const PLANT_DIETS = ['seeds', 'grass', 'leaves', 'berries'];
export const MEAT_DIETS = ['insects', 'fish', 'small animals'];
const HABITATS_BY_CLASS: Record<string, string[]> = {
  bird: ['forests', 'mountains', 'meadows', 'marshes'],
  mammal: ['forests', 'mountains', 'meadows', 'deserts', 'caves'],
  fish: ['rivers', 'lakes', 'marshes'],
  reptile: ['deserts', 'forests', 'marshes'],
  insect: ['meadows', 'forests', 'caves', 'deserts'],
  amphibian: ['marshes', 'rivers', 'lakes', 'forests'],
};
const DIETS_BY_CLASS: Record<string, string[]> = {
  bird: ['seeds', 'berries', 'insects', 'fish'],
  mammal: ['grass', 'leaves', 'berries', 'small animals', 'insects'],
  fish: ['insects', 'leaves', 'small animals'],
  reptile: ['insects', 'small animals', 'leaves'],
  insect: ['leaves', 'seeds', 'grass', 'berries'],
  amphibian: ['insects', 'small animals'],
};
export const ANIMAL_COLORS = ['brown', 'grey', 'green', 'red', 'black', 'white', 'yellow', 'blue'];

/** "a" or "an" + word. */
export const art = (w: string): string => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);

const worldCache = new Map<number, World>();

/** The world of `seed` (cached; treat as read-only). */
export function generateWorld(seed: number): World {
  const hit = worldCache.get(seed);
  if (hit) return hit;
  const rng = new Rng(seed).fork('kb:world');
  const taken = new Set<string>(SURNAMES.map((s) => s.toLowerCase()));
  for (const [f] of FIRST_NAMES) taken.add(f.toLowerCase());

  const rivers = sample(rng.fork('rivers'), RIVERS, WORLD_SIZES.rivers);
  rivers.forEach((r) => {
    taken.add(r.toLowerCase());
  });

  const tr = rng.fork('towns');
  const towns: Town[] = [];
  while (towns.length < WORLD_SIZES.towns) {
    const name = pick(tr, TOWN_HEADS) + pick(tr, TOWN_TAILS);
    if (taken.has(name.toLowerCase())) continue;
    taken.add(name.toLowerCase());
    // Every river gets a town first, then rivers repeat.
    const river = towns.length < rivers.length ? rivers[towns.length]! : pick(tr, rivers);
    towns.push({ name, river, size: pick(tr, SIZES), region: pick(tr, REGIONS), knownFor: pick(tr, KNOWN_FOR) });
  }

  const ar = rng.fork('animals');
  const animals: Animal[] = [];
  while (animals.length < WORLD_SIZES.animals) {
    const name = pick(ar, ANIMAL_ONSETS) + pick(ar, ANIMAL_CORES);
    if (taken.has(name)) continue;
    taken.add(name);
    const cls = CLASSES[animals.length % CLASSES.length]!;
    animals.push({
      name,
      cls,
      diet: pick(ar, DIETS_BY_CLASS[cls]!),
      habitat: pick(ar, HABITATS_BY_CLASS[cls]!),
      color: pick(ar, ANIMAL_COLORS),
    });
  }
  ar.shuffle(animals);

  const pr = rng.fork('people');
  const people: Person[] = [];
  const names = new Set<string>();
  while (people.length < WORLD_SIZES.people) {
    const [first, he] = pick(pr, FIRST_NAMES);
    const name = `${first} ${pick(pr, SURNAMES)}`;
    if (names.has(name)) continue;
    names.add(name);
    // Every town gets at least three residents.
    const town = people.length < 3 * towns.length ? towns[people.length % towns.length]!.name : pick(pr, towns).name;
    people.push({ name, he, job: pick(pr, JOBS), town, pet: pick(pr, PETS), color: pick(pr, COLORS), hobby: pick(pr, HOBBIES) });
  }
  pr.shuffle(people);

  const world = { people, towns, animals, rivers };
  worldCache.set(seed, world);
  return world;
}

// ---- Pronouns and lookups

export const his = (p: Person): string => (p.he === 'he' ? 'his' : 'her');
export const He = (p: Person): string => cap(p.he);
export const His = (p: Person): string => cap(his(p));

export const residents = (w: World, town: string): Person[] => w.people.filter((p) => p.town === town);
export const townOf = (w: World, p: Person): Town => w.towns.find((t) => t.name === p.town)!;
export const isPlantEater = (an: Animal): boolean => PLANT_DIETS.includes(an.diet);

// ---- Fact sentences (each in a few phrasings). The first sentence introduces the entity by name.

export function personSentences(rng: Rng, p: Person): string[] {
  const N = p.name;
  const intro = pick(rng, [
    `${N} is ${art(p.job)} who lives in ${p.town}.`,
    `${N} works as ${art(p.job)} in ${p.town}.`,
    `${N} lives in ${p.town} and works as ${art(p.job)}.`,
  ]);
  const rest = [
    pick(rng, [`${His(p)} pet is ${art(p.pet)}.`, `${N} has a pet ${p.pet}.`, `${He(p)} keeps ${art(p.pet)} as a pet.`]),
    pick(rng, [
      `${His(p)} favourite color is ${p.color}.`,
      `${N} likes the color ${p.color} best.`,
      `${His(p)} favourite color is ${p.color}.`,
    ]),
    pick(rng, [
      `In ${his(p)} free time, ${p.he} enjoys ${p.hobby}.`,
      `${N} enjoys ${p.hobby}.`,
      `${He(p)} spends ${his(p)} evenings ${p.hobby}.`,
    ]),
  ];
  return [intro, ...rng.shuffle(rest)];
}

export function townSentences(rng: Rng, t: Town): string[] {
  const T = t.name;
  const intro = pick(rng, [
    `${T} is ${art(t.size)} town in the ${t.region}.`,
    `${T} is ${art(t.size)} town in the ${t.region} of the land.`,
  ]);
  const rest = [
    pick(rng, [`The river ${t.river} flows through ${T}.`, `${T} lies on the river ${t.river}.`]),
    pick(rng, [`${T} is known for its ${t.knownFor}.`, `${T} is famous for its ${t.knownFor}.`]),
  ];
  return [intro, ...rng.shuffle(rest)];
}

export function animalSentences(rng: Rng, an: Animal): string[] {
  const A = `The ${an.name}`;
  const intro = pick(rng, [`${A} is ${art(an.cls)}.`, `${A} is a kind of ${an.cls}.`]);
  const rest = [
    pick(rng, [`It lives in ${an.habitat}.`, `${A} lives in ${an.habitat}.`]),
    pick(rng, [`It eats ${an.diet}.`, `${A} feeds on ${an.diet}.`]),
    pick(rng, [`${A} is mostly ${an.color}.`, `It is mostly ${an.color}.`]),
  ];
  return [intro, ...rng.shuffle(rest)];
}

export const describePerson = (rng: Rng, p: Person): string => personSentences(rng, p).join(' ');
export const describeTown = (rng: Rng, t: Town): string => townSentences(rng, t).join(' ');
export const describeAnimal = (rng: Rng, an: Animal): string => animalSentences(rng, an).join(' ');
