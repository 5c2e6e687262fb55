// A federated client's own data files (what `fedhpo fl client --data/--valid` reads), as opposed
// to an FL config's `data.clients` (client-files.ts, every client's files read by one process).
// Records are read as src/data/user-records.ts reads them (GSM8K, Dolly, HumanEval-style JS, or
// any training records `fedhpo train` takes); without a validation file the last 10% of the
// training file is held out, in file order. The records stay in the client's process: only their
// counts, deltas and validation losses leave it.
import type { TaskRecord } from '../data/tasks/types.js';
import { promptOf } from '../data/tasks/prompt.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Example } from '../data/records.js';
import { type ClientDataSource, exampleClientData } from './client-data.js';
import { readUserFile } from './client-files.js';

export const DEFAULT_VALID_FRACTION = 0.1;

export interface ClientFiles {
  data: string;
  valid?: string;
}

const asExample = (r: TaskRecord): Example => ({ prompt: promptOf(r), target: r.output, meta: {} });

/** Reads and checks a client's files (DataError naming the file when nothing in it is usable). */
export async function loadClientFiles(
  tok: Tokenizer,
  id: string,
  files: ClientFiles,
  log: (line: string) => void = () => {},
): Promise<ClientDataSource> {
  const read = async (file: string, flag: string): Promise<Example[]> => {
    const parsed = await readUserFile(file, flag, { train: true });
    for (const s of parsed.skipped.slice(0, 10)) log(`skipped ${file}:${s.line}: ${s.reason}`);
    if (parsed.skipped.length > 10) log(`... and ${parsed.skipped.length - 10} more skipped records in ${file}`);
    return parsed.records.map(asExample);
  };
  let train = await read(files.data, '--data');
  let validation: Example[];
  if (files.valid !== undefined) validation = await read(files.valid, '--valid');
  else {
    const n = Math.floor(train.length * DEFAULT_VALID_FRACTION);
    validation = train.slice(train.length - n);
    train = train.slice(0, train.length - n);
  }
  return exampleClientData(tok, id, train, validation);
}
