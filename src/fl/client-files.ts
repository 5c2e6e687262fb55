// A federated client's own data files (what `fedhpo fl client --data/--valid` reads): JSONL or JSON
// records as `fedhpo train` takes them; without a validation file the last 10% of the training file
// is held out, in file order. The records stay in the client's process: only their counts, deltas
// and validation losses leave it.
import { describeSkipped, type Example, loadExamples } from '../data/records.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { type ClientDataSource, exampleClientData } from './client-data.js';

export const DEFAULT_VALID_FRACTION = 0.1;

export interface ClientFiles {
  data: string;
  valid?: string;
}

/** Reads and checks a client's files (DataError naming the file when nothing in it is usable). */
export async function loadClientFiles(
  tok: Tokenizer,
  id: string,
  files: ClientFiles,
  log: (line: string) => void = () => {},
): Promise<ClientDataSource> {
  const read = async (file: string): Promise<Example[]> => {
    const parsed = await loadExamples(file);
    for (const line of describeSkipped(parsed).slice(0, 10)) log(`skipped ${line}`);
    if (parsed.skipped.length > 10) log(`... and ${parsed.skipped.length - 10} more skipped records in ${file}`);
    return parsed.examples;
  };
  let train = await read(files.data);
  let validation: Example[];
  if (files.valid !== undefined) validation = await read(files.valid);
  else {
    const n = Math.floor(train.length * DEFAULT_VALID_FRACTION);
    validation = train.slice(train.length - n);
    train = train.slice(0, train.length - n);
  }
  return exampleClientData(tok, id, train, validation);
}
