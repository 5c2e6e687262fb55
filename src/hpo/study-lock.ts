// One scheduler per study directory: the journal has one writer (and one recorder per bench table). A lock file holds the owner's pid
// and host; a lock whose process is gone (kill -9) is stale and taken over.
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';

const LOCK_FILE = 'scheduler.lock';

export class StudyLock {
  private constructor(private readonly file: string) {}

  static async acquire(dir: string): Promise<StudyLock> {
    return StudyLock.acquireFile(join(dir, LOCK_FILE), `${dir}: the study`);
  }

  /** Takes the lock file `file` (any single-writer file: a study, a bench table being recorded); `what` names it in errors. */
  static async acquireFile(file: string, what: string): Promise<StudyLock> {
    const me = JSON.stringify({ pid: process.pid, host: hostname() });
    for (let tries = 0; tries < 3; tries++) {
      try {
        const fh = await open(file, 'wx');
        await fh.writeFile(me);
        await fh.close();
        return new StudyLock(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = await readOwner(file);
      if (owner && owner.host === hostname() && owner.pid !== process.pid && alive(owner.pid))
        throw new UserError(`${what} is being run by process ${owner.pid} (stop it first, or wait for it)`);
      if (owner && owner.host !== hostname())
        throw new UserError(`${what} is locked by process ${owner.pid} on ${owner.host} (remove ${file} if that process is gone)`);
      await rm(file, { force: true }); // stale: its process is gone
    }
    throw new UserError(`${what}: cannot take the lock ${file}`);
  }

  async release(): Promise<void> {
    await rm(this.file, { force: true });
  }
}

async function readOwner(file: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof v.pid === 'number' && typeof v.host === 'string' ? { pid: v.pid, host: v.host } : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
