// Small data files in published formats, written by the tests that need a user's own data:
// GSM8K ({question, answer} ending in "#### N"), Dolly ({instruction, context, response, category})
// and HumanEval-style JavaScript ({task_id, prompt, canonical_solution, test, entry_point}, the test
// using node:assert as MultiPL-E's humaneval-js does). Records are generated from a seed-free rule,
// so every run writes the same files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function gsm8kRecords(n: number): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => {
    const a = 3 + (i % 7);
    const b = 2 + ((i * 5) % 9);
    return {
      question: `Sam has ${a} pens and buys ${b} more. How many pens does Sam have now?`,
      answer: `Sam has ${a} + ${b} = <<${a}+${b}=${a + b}>>${a + b} pens.\n#### ${a + b}`,
    };
  });
}

const DOLLY_CATEGORIES = ['open_qa', 'classification', 'brainstorming'] as const;

export function dollyRecords(n: number): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => {
    const category = DOLLY_CATEGORIES[i % DOLLY_CATEGORIES.length]!;
    const k = i + 1;
    if (category === 'open_qa')
      return { instruction: `What is the colour of lamp ${k}?`, context: '', response: k % 2 ? 'red' : 'blue', category };
    if (category === 'classification')
      return { instruction: `Is ${k} odd or even?`, context: `The number is ${k}.`, response: k % 2 ? 'odd' : 'even', category };
    return { instruction: `Name three things to pack for trip ${k}.`, context: '', response: 'a map, a hat and some water', category };
  });
}

/** HumanEval-style JS: a small function per record, with a canonical solution and assert-based tests. */
export function humanevalJsRecords(n: number): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i + 2;
    const entry = `add_${k}`;
    return {
      task_id: `JavaScript/${i}`,
      prompt: `// Return x plus ${k}.\n// >>> ${entry}(1)\n// ${1 + k}\nfunction ${entry}(x) {\n`,
      canonical_solution: `  return x + ${k};\n}\n`,
      test: `const assert = require('node:assert');\n\nfunction test() {\n  let candidate = ${entry};\n  assert.deepEqual(candidate(1), ${1 + k});\n  assert.deepEqual(candidate(-${k}), 0);\n}\n\ntest();\n`,
      entry_point: entry,
    };
  });
}

export const toJsonl = (records: readonly object[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');

export interface UserDataFiles {
  train: string;
  valid: string;
  test: string;
}

/** Writes `<dir>/<format>/{train,valid,test}.jsonl` for one format. */
export async function writeUserData(
  dir: string,
  format: 'gsm8k' | 'dolly' | 'humaneval-js',
  sizes = { train: 24, valid: 6, test: 6 },
): Promise<UserDataFiles> {
  const make = format === 'gsm8k' ? gsm8kRecords : format === 'dolly' ? dollyRecords : humanevalJsRecords;
  const all = make(sizes.train + sizes.valid + sizes.test);
  const root = join(dir, format);
  await mkdir(root, { recursive: true });
  const files = { train: join(root, 'train.jsonl'), valid: join(root, 'valid.jsonl'), test: join(root, 'test.jsonl') };
  await writeFile(files.train, toJsonl(all.slice(0, sizes.train)));
  await writeFile(files.valid, toJsonl(all.slice(sizes.train, sizes.train + sizes.valid)));
  await writeFile(files.test, toJsonl(all.slice(sizes.train + sizes.valid)));
  return files;
}
