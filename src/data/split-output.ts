// Writing a split into its output directory without ever losing a user's file: the files are
// written into a staging directory inside it and renamed into place; a file is replaced or removed
// only if an earlier split wrote it (it is listed in the split.json already there), and never when
// it is the input itself (or a link to it).
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkOutputPath, readRegularText } from '../engine/files.js';
import { DataError } from './records.js';

const CLIENT_FILE = /^client_(\d+)\.jsonl$/;
export const SPLIT_SUMMARY_FILE = 'split.json';

/** The client files an earlier split listed in `out/split.json` (none if there is no such file). */
async function earlierSplitFiles(out: string): Promise<Set<string>> {
  const file = join(out, SPLIT_SUMMARY_FILE);
  let text: string;
  try {
    text = await readRegularText(file, { maxBytes: 64 * 2 ** 20 });
  } catch {
    return new Set();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new DataError(`${file}: not a split summary (invalid JSON); split into another directory, or remove it`);
  }
  const clients = (doc as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(clients)) throw new DataError(`${file}: not a split summary (no 'clients' list); split into another directory`);
  const files = new Set<string>([SPLIT_SUMMARY_FILE]);
  for (const c of clients) {
    const name = (c as { file?: unknown } | null)?.file;
    if (typeof name === 'string' && CLIENT_FILE.test(name)) files.add(name);
  }
  return files;
}

const sameFile = (a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean => a.dev === b.dev && a.ino === b.ino;

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/**
 * Checks what writing `clients` client files and split.json into `out` would replace or remove,
 * before anything is written: refuses (a DataError naming the file) to touch the input or a file no
 * earlier split wrote. Returns the earlier split's client files beyond the new ones (to remove).
 */
async function planSplitOutput(out: string, clients: number, input: string): Promise<string[]> {
  await checkOutputPath(out, 'directory', '--out');
  const names = await readdir(out).catch(() => [] as string[]);
  if (!names.length) return [];
  const ours = await earlierSplitFiles(out);
  const inputStat = await stat(input);
  const stale: string[] = [];
  for (const name of names) {
    const m = CLIENT_FILE.exec(name);
    const written = name === SPLIT_SUMMARY_FILE || (m !== null && Number(m[1]) < clients);
    const isStale = !written && m !== null && ours.has(name);
    if (!written && !isStale) continue;
    const path = join(out, name);
    const st = await statOrNull(path);
    if (st && sameFile(st, inputStat))
      throw new DataError(
        `--in ${input} is ${path}, which this split would ${written ? 'replace' : 'remove'}; split into another directory`,
      );
    if (!ours.has(name))
      throw new DataError(
        `--out ${out}: ${name} is there and no earlier split wrote it (it is not in ${SPLIT_SUMMARY_FILE}); ` +
          'split into an empty directory, or move it away',
      );
    if (isStale) stale.push(path);
  }
  return stale;
}

/**
 * Writes `files` (name -> content; split.json last) into `out` through a staging directory, after
 * planSplitOutput's checks, then removes the earlier split's surplus client files.
 */
export async function writeSplitOutput(out: string, input: string, files: [string, string][]): Promise<void> {
  const clients = files.filter(([name]) => CLIENT_FILE.test(name)).length;
  const stale = await planSplitOutput(out, clients, input);
  await mkdir(out, { recursive: true });
  const staging = await mkdtemp(join(out, '.split-staging-'));
  try {
    for (const [name, text] of files) await writeFile(join(staging, name), text);
    for (const [name] of files) await rename(join(staging, name), join(out, name));
    for (const path of stale) await rm(path);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
