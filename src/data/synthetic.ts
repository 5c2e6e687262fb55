// A tiny seeded sentence grammar: a learnable plain-text corpus for the demo and tests, until the
// built-in benchmark tasks exist. Same seed, same corpus.
import { Rng } from '../engine/rng.js';

const SUBJECTS = ['the cat', 'a dog', 'the bird', 'my friend', 'the teacher', 'a farmer'];
const VERBS = ['sees', 'likes', 'follows', 'helps', 'finds', 'calls'];
const OBJECTS = ['the ball', 'a red box', 'the river', 'an old book', 'the garden', 'a small boat'];
const PLACES = ['in the morning', 'at night', 'near the house', 'after school', 'on monday'];

export function grammarSentences(count: number, seed: number): string[] {
  const rng = new Rng(seed);
  const pick = (xs: string[]): string => xs[rng.int(xs.length)]!;
  return Array.from({ length: count }, () => `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(PLACES)}.`);
}
