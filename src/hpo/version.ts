// The installed fedhpo version (package.json), for journals and recorded tables.
import { readFile } from 'node:fs/promises';

/** `fedhpo 0.1.0` (or `fedhpo` when package.json cannot be read). */
export async function fedhpoVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `fedhpo ${pkg.version ?? '?'}`;
  } catch {
    return 'fedhpo';
  }
}
