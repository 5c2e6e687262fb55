// The study journal, DIR/journal.jsonl: append-only, one event per line, written in the order the
// events were numbered. Its only writer is the scheduler. Lines are group-committed: each write()
// queues a line, one drain at a time appends every queued line and fsyncs once, so lines queued
// during an fsync share the next one. On disk there is therefore always a prefix of the events: a
// process killed at any point leaves events 1..k, then at most one torn last line (no newline yet),
// which reading drops and repair truncates. Which events the scheduler may act on before they are
// on disk (a round's answer) and which it waits for (a result) is the scheduler's choice: see
// study.ts. Anything unreadable before the last line is damage, and reading refuses it, naming the line.
import { type FileHandle, mkdir, open, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import { readRegularFile } from '../engine/files.js';
import { nestedDeeperThan, previewJson } from '../engine/json.js';
import { type JournalEvent, JournalEventSchema, type NewJournalEvent } from './journal-events.js';

export const JOURNAL_FILE = 'journal.jsonl';
/** A journal is read whole and decoded to one string (at most ~512 Mi UTF-16 units in V8). */
const MAX_JOURNAL_BYTES = 512 * 2 ** 20;
/** Events nest a few levels (a study config inside study.started); far deeper is damage, refused before the schema recurses into it. */
const MAX_EVENT_DEPTH = 64;

export class JournalError extends UserError {
  override name = 'JournalError';
}

export interface JournalContents {
  readonly events: JournalEvent[];
  /** The torn last line that was dropped (1-based line number and its bytes), if any. */
  readonly torn?: { readonly line: number; readonly bytes: number };
}

/** Parses journal bytes: complete lines become events; an unterminated last line is reported as torn. */
export function parseJournal(bytes: Uint8Array, file: string): JournalContents & { readonly completeBytes: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const completeBytes = buf.lastIndexOf(0x0a) + 1;
  const lines = buf.subarray(0, completeBytes).toString('utf8').split('\n').slice(0, -1);
  const events: JournalEvent[] = lines.map((text, i) => parseLine(text, i + 1, file));
  if (events.length && events[0]!.kind !== 'study.started') throw new JournalError(`${file} line 1: a journal starts with study.started`);
  const tornBytes = buf.byteLength - completeBytes;
  return { events, completeBytes, ...(tornBytes ? { torn: { line: lines.length + 1, bytes: tornBytes } } : {}) };
}

function parseLine(text: string, line: number, file: string): JournalEvent {
  const where = `${file} line ${line}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new JournalError(`${where}: corrupt (not JSON: ${(e as Error).message}); the journal is damaged before its last line`);
  }
  if (nestedDeeperThan(raw, MAX_EVENT_DEPTH))
    throw new JournalError(`${where}: not a journal event (nests arrays/objects more than ${MAX_EVENT_DEPTH} levels deep)`);
  const r = JournalEventSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new JournalError(
      `${where}: not a journal event (${issue.path.join('.') || 'event'}: ${issue.message}): ${previewJson(raw, 120)}`,
    );
  }
  if (r.data.seq !== line) throw new JournalError(`${where}: event number ${r.data.seq} out of order (want ${line})`);
  return r.data;
}

/** DIR/journal.jsonl, or a JournalError saying DIR holds no study (DIR missing, a file, or without a journal). */
export async function journalFileOf(dir: string): Promise<string> {
  const file = join(dir, JOURNAL_FILE);
  try {
    await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new JournalError(`${dir}: no study here (${JOURNAL_FILE} is missing)`);
  }
  return file;
}

/** Reads DIR/journal.jsonl; with `repair`, a torn last line is also cut off the file. */
export async function readJournal(dir: string, opts: { repair?: boolean } = {}): Promise<JournalContents> {
  const file = await journalFileOf(dir);
  // Only a regular file of bounded size: a FIFO or a link to /dev/zero would never end.
  const bytes = await readRegularFile(file, { maxBytes: MAX_JOURNAL_BYTES });
  const { events, completeBytes, torn } = parseJournal(bytes, file);
  if (!events.length) throw new JournalError(`${file}: empty journal (the study never started)`);
  if (torn && opts.repair) await truncate(file, completeBytes);
  return torn ? { events, torn } : { events };
}

interface Pending {
  readonly line: string;
  readonly done: (error?: unknown) => void;
}

export class Journal {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** The last line's `durable`: lines reach the disk in order, so it settles after every earlier one. */
  private lastWrite: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private seq: number,
    /** A new journal's directory, fsynced with the first drain. */
    private unsyncedDir?: string,
  ) {}

  /** A new journal in `dir` (created if needed); refuses a directory that already holds one. */
  static async create(dir: string): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, JOURNAL_FILE);
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new JournalError(`${dir} already holds a study (continue it with: fedhpo study resume ${dir})`);
      throw e;
    }
    // The new file's directory entry must survive a crash too: synced with the first lines (not before: one fsync less on the way to the first trial).
    return new Journal(file, fh, 0, dir);
  }

  /** Opens an existing journal for appending after `events` (read with repair first). */
  static async reopen(dir: string, events: readonly JournalEvent[]): Promise<Journal> {
    const file = join(dir, JOURNAL_FILE);
    return new Journal(file, await open(file, 'a'), events.length);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Numbers, timestamps and queues `event` for the journal at once (the order of write() calls is the
   * order on disk); `durable` resolves once its line, and so every line before it, is on disk. Writes
   * made while an fsync runs share the next one. Throws at once after a failed write (the file's end is
   * unknown); a write that fails later rejects `durable` and every later flushed().
   */
  write(event: NewJournalEvent): { readonly event: JournalEvent; readonly durable: Promise<void> } {
    if (this.failure) throw this.failure;
    const full = { seq: ++this.seq, t: new Date().toISOString(), ...event } as JournalEvent;
    const durable = new Promise<void>((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(full)}\n`, done: (e) => (e === undefined ? resolve() : reject(e)) });
    });
    // A caller may not wait for this line (a group-committed event): its failure surfaces in flushed() instead.
    durable.catch(() => {});
    this.lastWrite = durable;
    this.kick();
    return { event: full, durable };
  }

  /** write(), resolving with the numbered event once it is on disk. */
  async append(event: NewJournalEvent): Promise<JournalEvent> {
    const { event: full, durable } = this.write(event);
    await durable;
    return full;
  }

  /** Resolves once every event written so far is on disk; rejects if any write failed. */
  async flushed(): Promise<void> {
    await this.lastWrite;
    if (this.failure) throw this.failure;
  }

  /**
   * Starts a drain unless one runs; one that ends with lines queued behind its last check starts the next.
   * The drain starts on the next turn of the event loop, so the lines written in one turn (a result, the
   * next trial's ask and start, the study's end) share one write and one fsync.
   */
  private kick(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.flushing = undefined;
        if (this.queue.length) this.kick();
      });
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.fh.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      try {
        if (this.failure) throw this.failure;
        await this.fh.appendFile(batch.map((p) => p.line).join(''));
        const dir = this.unsyncedDir;
        await Promise.all([this.fh.sync(), dir === undefined ? undefined : syncDir(dir)]);
        this.unsyncedDir = undefined;
        for (const p of batch) p.done();
      } catch (e) {
        // After a failed write the file's end is unknown: nothing more may be appended in this process.
        this.failure ??= new JournalError(`${this.file}: write failed: ${(e as Error).message}`);
        for (const p of batch) p.done(this.failure);
      }
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
