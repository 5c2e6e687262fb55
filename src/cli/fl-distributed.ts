// `fedhpo fl server`, `fl client`, `fl dismiss` and `fl clients`: a federated run as separate
// processes over a nats-server. The server holds the trial (rounds, aggregation, outputs as `fl run` writes them);
// each client process loads the base model and its own data files and serves the study's trials
// until the server (or `fl dismiss`) dismisses it, or SIGINT/SIGTERM. `fl clients` writes a built-in task's
// per-client files, so the same data can be given to separate client processes.
import { numberFlag } from './flags.js';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Argv } from 'yargs';
import { ClientHost, type ClientHostEnd, dismissStudyClients } from '../actors/client-host.js';
import { NatsTransport } from '../actors/transport-nats.js';
import type { NatsConnectOptions } from '../actors/transport-nats-options.js';
import { assertSubjectToken } from '../actors/transport-subjects.js';
import { UserError } from '../engine/errors.js';
import { checkOutputPath } from '../engine/files.js';
import type { ClientDataSource } from '../fl/client-data.js';
import { federatedData } from '../fl/client-files.js';
import { loadClientFiles } from '../fl/client-own-files.js';
import { loadFlConfig } from '../fl/fl-config.js';
import { modelSha256 } from '../fl/model-fingerprint.js';
import { SHIPPED_BASE_MODEL, withModel } from '../model/source.js';
import { configFromArgs, runFlTrial, withConfigFlags, withOutputFlags } from './fl-run.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';
import { UsageError } from './util.js';

/** A client with unusable data waits this long for a trial's join to tell its server, then exits anyway. */
const REPORT_WAIT_MS = 60_000;

async function requireNats(a: Parameters<typeof natsFromArgs>[0], command: string): Promise<NatsConnectOptions> {
  const nats = await natsFromArgs(a);
  if (!nats) throw new UsageError(`fl ${command}: --nats URL is required (the clients and the server meet at a nats-server)`);
  return nats;
}

function splitIds(text: string): string[] {
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s);
  for (const id of ids) assertSubjectToken('--clients: client id', id);
  if (!ids.length) throw new UsageError('--clients: no client id given');
  if (new Set(ids).size !== ids.length) throw new UsageError(`--clients ${text}: ids must be distinct`);
  return ids;
}

async function runClient(a: {
  id: string;
  data: string;
  valid: string | undefined;
  model: string | undefined;
  config: string | undefined;
  study: string | undefined;
  threads: number;
  verbose: boolean;
  nats: NatsConnectOptions;
}): Promise<ClientHostEnd> {
  assertSubjectToken('--id', a.id);
  if (a.model !== undefined && a.config !== undefined) throw new UsageError('give --model DIR or --config FILE, not both');
  const config = a.config !== undefined ? await loadFlConfig(a.config) : undefined;
  const study = a.study ?? config?.study ?? 'fl';
  assertSubjectToken('--study', study);
  const log = (line: string): void => console.error(line);
  return withModel({ dir: a.model ?? config?.model ?? SHIPPED_BASE_MODEL, threads: a.threads }, async (model) => {
    const sha = await modelSha256(model);
    let data: ClientDataSource | { error: string };
    try {
      data = await loadClientFiles(model.tokenizer, a.id, { data: a.data, ...(a.valid !== undefined ? { valid: a.valid } : {}) }, log);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      data = { error: e.message };
    }
    let host: ClientHost | undefined;
    let transport: NatsTransport;
    try {
      transport = await NatsTransport.connect({
        connection: a.nats,
        name: `fedhpo-client-${a.id}`,
        onStatus: (s) => host?.onTransportStatus(s),
        onError: (e) => log(`[client ${a.id} transport] ${e.kind}${e.subject ? ` on ${e.subject}` : ''}: ${e.message}`),
      });
    } catch (e) {
      // Unusable data and no server to tell: one line saying both (the data first, it is the user's to fix).
      if ('error' in data && e instanceof UserError) throw new UserError(`fl client ${a.id}: ${data.error}; and ${e.message}`);
      throw e;
    }
    // Said once connected: a client that cannot reach its server ends with one line, the reason.
    if ('error' in data)
      console.error(`fl client ${a.id}: cannot use its data (${data.error}); telling the server at the next trial's join`);
    else
      console.error(
        `fl client ${a.id}: ${data.trainSamples} training and ${data.validSamples} validation records; base model sha256 ${sha.slice(0, 12)}…`,
      );
    const notice = (line: string): void => console.error(`fl client ${a.id}: ${line}`);
    host = new ClientHost({ transport, study, id: a.id, model, modelSha256: sha, data, notice, ...(a.verbose ? { log } : {}) });
    const onSignal = (signal: NodeJS.Signals): void => host?.stop(`${signal} received`);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let waitTimer: NodeJS.Timeout | undefined;
    try {
      await host.start();
      console.error(`fl client ${a.id}: serving study ${study} through NATS ${a.nats.servers.join(',')}`);
      if ('error' in data) waitTimer = setTimeout(() => host?.stop(`no trial's join within ${REPORT_WAIT_MS / 1000} s`), REPORT_WAIT_MS);
      const end = await host.ended;
      // A client with bad data ends 'failed' after reporting, or 'stopped' when no server came: both are failures.
      if ('error' in data && end.kind === 'stopped') return { kind: 'failed', reason: `${data.error} (${end.reason})` };
      return end;
    } finally {
      clearTimeout(waitTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await transport.close();
    }
  });
}

export function flDistributedCommands(y: Argv): Argv {
  return y
    .command(
      'server',
      'Run one federated trial as the server, with `fl client` processes as its clients (over --nats)',
      (a) =>
        withOutputFlags(withConfigFlags(withNatsFlags(a)))
          .option('clients', { type: 'string', describe: "the clients' ids, comma-separated (default: the task's, c0..cN-1)" })
          .option('keep-clients', {
            type: 'boolean',
            default: false,
            describe: 'leave the client processes running at the end (for further trials)',
          }),
      async (a) => {
        const nats = await requireNats(a, 'server');
        const config = await configFromArgs(a);
        if (config.scenario !== 'fed')
          throw new UsageError(`fl server: scenario ${config.scenario} simulates its clients (use fl run); fl server runs scenario fed`);
        const ids = a.clients !== undefined ? splitIds(a.clients) : (await federatedData(config.data)).clients.map((c) => c.id);
        await runFlTrial(a, config, {
          connect: (name, hooks) => NatsTransport.connect({ connection: nats, name: `fedhpo-${name}`, ...hooks }),
          how: `server through NATS ${nats.servers.join(',')} for clients ${ids.join(', ')}`,
          remoteClients: { ids, dismiss: !a['keep-clients'] },
        });
      },
    )
    .command(
      'client',
      'Serve as one federated client (its own data, kept local) for the trials of a study, until dismissed',
      (a) =>
        withNatsFlags(a)
          .option('id', { type: 'string', demandOption: true, describe: 'this client id (as the server knows it: c0, c1 ...)' })
          .option('data', { type: 'string', demandOption: true, describe: "this client's training records (JSONL/JSON)" })
          .option('valid', { type: 'string', describe: 'its validation records (default: the last 10% of --data)' })
          .option('model', { type: 'string', describe: "base model directory (default: --config's model, else the shipped base)" })
          .option('config', { type: 'string', describe: "a run config, for its model and study (the server's own config)" })
          .option('study', { type: 'string', describe: "the study whose trials to serve (default: the config's, else fl)" })
          .option('threads', numberFlag('threads', 'engine threads', 2))
          .option('verbose', { type: 'boolean', default: false, describe: 'log every trial joined and message refused' }),
      async (a) => {
        const nats = await requireNats(a, 'client');
        const end = await runClient({
          id: a.id,
          data: a.data,
          valid: a.valid,
          model: a.model,
          config: a.config,
          study: a.study,
          threads: a.threads,
          verbose: a.verbose,
          nats,
        });
        if (end.kind === 'refused') throw new UserError(`fl client ${a.id}: refused by the server: ${end.reason}`);
        if (end.kind === 'failed') throw new UserError(`fl client ${a.id}: ${end.reason}`);
        console.error(`fl client ${a.id}: ${end.kind === 'dismissed' ? 'dismissed by the server' : 'stopped'} (${end.reason})`);
      },
    )
    .command(
      'dismiss',
      'Tell every fl client process serving a study to exit (after trials run with --keep-clients)',
      (a) =>
        withNatsFlags(a)
          .option('study', { type: 'string', describe: "the study (default: the config's, else fl)" })
          .option('config', { type: 'string', describe: 'a run config, for its study' })
          .option('reason', { type: 'string', default: 'dismissed', describe: 'told to the clients' }),
      async (a) => {
        const nats = await requireNats(a, 'dismiss');
        const study = a.study ?? (a.config !== undefined ? (await loadFlConfig(a.config)).study : 'fl');
        assertSubjectToken('--study', study);
        const transport = await NatsTransport.connect({ connection: nats, name: 'fedhpo-dismiss' });
        try {
          await dismissStudyClients(transport, study, a.reason);
        } finally {
          await transport.close();
        }
        console.error(`fl dismiss: told the clients of study ${study} to exit`);
      },
    )
    .command(
      'clients',
      "Write each client's data files of the config's task (<id>.train.jsonl, <id>.valid.jsonl) for fl client",
      (a) => withConfigFlags(a).option('out', { type: 'string', demandOption: true, describe: 'directory for the files' }),
      async (a) => {
        await checkOutputPath(a.out, 'directory', '--out');
        const config = await configFromArgs(a);
        const task = await federatedData(config.data);
        const limit = config.eval.valid_limit;
        const jsonl = (rs: readonly object[]): string => rs.map((r) => `${JSON.stringify(r)}\n`).join('');
        const files = task.clients.flatMap((c) => {
          const validation = limit === undefined ? c.validation : c.validation.slice(0, limit);
          return [
            { id: c.id, file: join(a.out, `${c.id}.train.jsonl`), text: jsonl(c.train), n: c.train.length },
            { id: c.id, file: join(a.out, `${c.id}.valid.jsonl`), text: jsonl(validation), n: validation.length },
          ];
        });
        // Written again with the same records (the same config) is fine; a different file there is the user's.
        for (const f of files) {
          const st = await stat(f.file).catch(() => undefined);
          if (!st) continue;
          const same = st.isFile() && st.size === Buffer.byteLength(f.text) && (await readFile(f.file, 'utf8')) === f.text;
          if (!same) throw new UsageError(`--out ${a.out}: ${basename(f.file)} is there and holds other records; give another --out`);
        }
        await mkdir(a.out, { recursive: true });
        for (let i = 0; i < files.length; i += 2) {
          const [train, valid] = [files[i]!, files[i + 1]!];
          await writeFile(train.file, train.text);
          await writeFile(valid.file, valid.text);
          console.log(`${train.id}: ${train.n} training, ${valid.n} validation records in ${join(a.out, train.id)}.{train,valid}.jsonl`);
        }
      },
    );
}
