// Reading a user's file safely: only regular files (a FIFO would block forever, /dev/zero would
// never end), bounded by a size limit, and read exactly as large as fstat says it is.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { UserError } from './errors.js';

export interface ReadLimits {
  /** Refuse files larger than this many bytes. */
  maxBytes: number;
}

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MB`;

/** The bytes of a regular file, or a UserError naming the file (missing, not a regular file, too large). */
export async function readRegularFile(file: string, limits: ReadLimits): Promise<Buffer> {
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
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await handle.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== st.size) throw new UserError(`${file}: changed while being read (${off} of ${st.size} bytes)`);
    return buf;
  } finally {
    await handle.close();
  }
}

/** A regular file's text (UTF-8), bounded as readRegularFile. */
export async function readRegularText(file: string, limits: ReadLimits): Promise<string> {
  return (await readRegularFile(file, limits)).toString('utf8');
}
