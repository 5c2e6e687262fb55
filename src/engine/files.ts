// Reading a user's file safely: only regular files (a FIFO would block forever, /dev/zero would
// never end), bounded by a size limit, and read exactly as large as fstat says it is; and checking an
// output path before the work that will write it.
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from './errors.js';

export interface ReadLimits {
  /** Refuse files larger than this many bytes. */
  maxBytes: number;
}

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MB`;

/**
 * An open regular file whose size was checked against the limits, for reading it in pieces (a
 * safetensors header is checked before any tensor is read, so a bad header costs no allocation).
 */
export interface RegularFile {
  readonly path: string;
  /** Size in bytes as fstat gave it when opened. */
  readonly size: number;
  /** Fill `target` with the bytes from `position` on; a UserError naming the file if it ends early. */
  readInto(target: Uint8Array, position: number): Promise<void>;
}

/**
 * Opens a regular file, checks it against the limits and runs `use` on it, closing it afterwards.
 * Errors are UserErrors naming the file (missing, not a regular file, too large, shrank).
 */
export async function withRegularFile<T>(file: string, limits: ReadLimits, use: (f: RegularFile) => Promise<T>): Promise<T> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (no effect on regular files).
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
    if (st.size > limits.maxBytes) throw new UserError(`${file}: ${mb(st.size)} is over the limit of ${mb(limits.maxBytes)}`);
    const readInto = async (target: Uint8Array, position: number): Promise<void> => {
      let off = 0;
      while (off < target.byteLength) {
        const { bytesRead } = await handle.read(target, off, target.byteLength - off, position + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      if (off !== target.byteLength) throw new UserError(`${file}: changed while being read (ends ${target.byteLength - off} bytes early)`);
    };
    return await use({ path: file, size: st.size, readInto });
  } finally {
    await handle.close();
  }
}

/** The bytes of a regular file, or a UserError naming the file (missing, not a regular file, too large). */
export async function readRegularFile(file: string, limits: ReadLimits): Promise<Buffer> {
  return withRegularFile(file, limits, async (f) => {
    const buf = Buffer.alloc(f.size);
    await f.readInto(buf, 0);
    return buf;
  });
}

/** A regular file's text (UTF-8), bounded as readRegularFile. */
export async function readRegularText(file: string, limits: ReadLimits): Promise<string> {
  return (await readRegularFile(file, limits)).toString('utf8');
}

/**
 * Checks, before any work starts, that `path` can be written as an output of the given kind: it is
 * absent or of that kind (a directory, or a regular file), and its nearest existing ancestor is a
 * directory. So a run that would fail only when saving (after hours of training) fails at once,
 * with a UserError naming `label` (the flag or key it came from) and the path.
 */
export async function checkOutputPath(path: string, kind: 'directory' | 'file', label: string): Promise<void> {
  const st = await statOrNull(path);
  if (st) {
    if (kind === 'directory' && !st.isDirectory()) throw new UserError(`${label} ${path}: exists and is not a directory`);
    if (kind === 'file' && !st.isFile()) throw new UserError(`${label} ${path}: exists and is not a regular file`);
    return;
  }
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const up = await statOrNull(dir);
    if (up) {
      if (!up.isDirectory()) throw new UserError(`${label} ${path}: ${dir} is not a directory`);
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // ENOTDIR: a file in the way above `path`; the walk up names it.
    if (code === 'ENOTDIR') return null;
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
}
