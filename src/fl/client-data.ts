// The clients' data of a federated run, kept abstract (a ClientData list) so a user's own files plug
// in beside the built-in tasks. A built-in task's train and validation splits are cut per client
// the same way (iid, or one client per category: `taskClients` logic), and its test split is
// grouped into the same shares, so per-client test scores (worst / median / best) can be reported.
import { encodeExample, type Encoded, IGNORE_INDEX } from '../data/batching.js';
import type { Example } from '../data/records.js';
import { iidSplit, metaSplit } from '../data/splitters.js';
import { getTask, loadTask } from '../data/tasks/index.js';
import { promptOf } from '../data/tasks/prompt.js';
import type { TaskRecord } from '../data/tasks/types.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Metric } from '../data/user-records.js';
import { UserError } from '../engine/errors.js';

/** One client's records: what it trains on and what it scores the global adapter on. */
export interface ClientRecords {
  id: string;
  train: TaskRecord[];
  validation: TaskRecord[];
}

/** One client's data as its actor uses it: encoded once with the model's tokenizer. */
export interface ClientData {
  id: string;
  train: Encoded[];
  validation: Encoded[];
}

/** A task's clients and its test split grouped by the same shares (test record index -> client id). */
export interface FederatedTask {
  clients: ClientRecords[];
  test: TaskRecord[];
  /** For each test record, the client whose share it belongs to. */
  testShare: string[];
  /** How the test split is scored: 'loss' is token accuracy (no generation); default the records' own scores. */
  metric?: Metric;
  /** "file:line: reason" of the records of a user's files that were left out. */
  skipped?: string[];
}

const clientId = (i: number): string => `c${i}`;

/** The built-in task's clients (train and validation split alike) and its test split with shares. */
export function federatedTask(name: string, seed = 0): FederatedTask {
  const info = getTask(name);
  const data = loadTask(name, seed);
  if (info.splitter === 'iid') {
    const n = info.clients;
    const train = iidSplit(data.train, n, seed).clients;
    const validation = iidSplit(data.validation, n, seed).clients;
    const testParts = iidSplit(
      data.test.map((_, i) => i),
      n,
      seed,
    ).clients;
    const testShare = new Array<string>(data.test.length);
    testParts.forEach((idx, c) => {
      for (const i of idx) testShare[i] = clientId(c);
    });
    return { clients: train.map((t, c) => ({ id: clientId(c), train: t, validation: validation[c]! })), test: data.test, testShare };
  }
  const train = metaSplit(data.train, (r) => r.category);
  const validation = metaSplit(data.validation, (r) => r.category);
  if (train.labels.join('\u0000') !== validation.labels.join('\u0000'))
    throw new UserError(`task ${name}: the validation split does not hold every category of the training split`);
  const byCategory = new Map(train.labels.map((l, c) => [l, clientId(c)]));
  return {
    clients: train.clients.map((t, c) => ({ id: clientId(c), train: t, validation: validation.clients[c]! })),
    test: data.test,
    testShare: data.test.map((r) => byCategory.get(r.category) ?? 'other'),
  };
}

/** The `global` scenario's single client: every client's training and validation records pooled. */
export function pooledClient(clients: readonly ClientRecords[], id = 'global'): ClientRecords {
  return { id, train: clients.flatMap((c) => c.train), validation: clients.flatMap((c) => c.validation) };
}

function encodeRecord(tok: Tokenizer, r: TaskRecord, seqLen: number): Encoded {
  return encodeExample(tok, { prompt: promptOf(r), target: r.output, meta: {} }, seqLen);
}

/** Encodes a client's records once; `validLimit` keeps the first N validation records. */
export function encodeClient(tok: Tokenizer, c: ClientRecords, seqLen: number, validLimit?: number): ClientData {
  if (!c.train.length) throw new UserError(`client ${c.id}: no training records`);
  const validation = validLimit === undefined ? c.validation : c.validation.slice(0, validLimit);
  return {
    id: c.id,
    train: c.train.map((r) => encodeRecord(tok, r, seqLen)),
    validation: validation.map((r) => encodeRecord(tok, r, seqLen)),
  };
}

/**
 * A client's data as its actor asks for it: encoded for the sequence length the server's messages
 * name (a client process has no config of its own), with its sample counts for the hello.
 */
export interface ClientDataSource {
  readonly id: string;
  readonly trainSamples: number;
  readonly validSamples: number;
  /** The data encoded for `seqLen`; UserError when it cannot be used at that length. */
  encoded(seqLen: number): ClientData;
}

/** Data encoded already (a simulated client: the run's seq_len is the config's). */
export function encodedClientData(d: ClientData): ClientDataSource {
  return { id: d.id, trainSamples: d.train.length, validSamples: d.validation.length, encoded: () => d };
}

/** A client's own examples (read from its files), encoded once per sequence length asked for. */
export function exampleClientData(tok: Tokenizer, id: string, train: readonly Example[], validation: readonly Example[]): ClientDataSource {
  if (!train.length) throw new UserError(`client ${id}: no training records`);
  const cache = new Map<number, ClientData>();
  return {
    id,
    trainSamples: train.length,
    validSamples: validation.length,
    encoded(seqLen) {
      let d = cache.get(seqLen);
      if (!d) {
        d = {
          id,
          train: train.map((e) => encodeExample(tok, e, seqLen)),
          validation: validation.map((e) => encodeExample(tok, e, seqLen)),
        };
        // A prompt as long as seqLen leaves no answer token to learn from.
        if (d.train.every((e) => e.labels.every((l) => l === IGNORE_INDEX)))
          throw new UserError(`client ${id}: no training example has an answer token within seq_len ${seqLen} (prompts are longer)`);
        cache.set(seqLen, d);
      }
      return d;
    },
  };
}

/**
 * What of a client's data has no answer token left after the cut to the sequence length (a prompt
 * as long as the window): such records train nothing and a validation made only of them has no
 * loss. A description ("3 of 40 training records, ...") or undefined when every record has one.
 */
export function answerless(c: ClientData): string | undefined {
  const none = (es: Encoded[]): number => es.filter((e) => e.labels.every((l) => l === IGNORE_INDEX)).length;
  const parts = [
    [none(c.train), c.train.length, 'training'],
    [none(c.validation), c.validation.length, 'validation'],
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, of, what]) => `${n} of ${of} ${what} records`);
  return said.length ? said.join(', ') : undefined;
}
