// What a directory tree holds, file by file, without following links or opening FIFOs: so a case
// can show that no input and no earlier output changed (or appeared inside an input directory).
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** relative path -> sha256 of a regular file, the target of a link, or the kind of anything else. */
export async function hashTree(root: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (path: string): Promise<void> => {
    const rel = relative(root, path);
    if (rel && skip(rel)) return;
    const st = await lstat(path);
    if (st.isSymbolicLink()) out.set(rel, `link:${await readlink(path)}`);
    else if (st.isFile())
      out.set(
        rel,
        createHash('sha256')
          .update(await readFile(path))
          .digest('hex'),
      );
    else if (st.isDirectory()) {
      out.set(rel, 'dir');
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
    } else out.set(rel, st.isFIFO() ? 'fifo' : 'other');
  };
  await visit(root);
  return out;
}
