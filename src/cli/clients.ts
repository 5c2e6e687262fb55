// `fedhpo clients serve`: a federation's clients as a separate process, running the client tasks of a
// study (FTS's weight samples, FLoRA's local search) that reach them over NATS. They join the study's
// client-task scope, answer until stopped (Ctrl-C, SIGTERM) or --max-seconds.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Argv } from 'yargs';
import { clientTasksScope, federatedClients, LocalTaskClients } from '../actors/client-tasks-for.js';
import { isFederatedTrial } from '../actors/federated-trial-config.js';
import type { NatsCliArgs } from '../actors/transport-nats-options.js';
import { numberFlag } from './flags.js';
import { UserError } from '../engine/errors.js';
import { clientTaskIds, loadStudyConfig } from '../hpo/study-config.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';
import { UsageError } from './util.js';

export function clientsCommands(y: Argv): Argv {
  return y.command(
    'serve <config>',
    "Run a study's clients in this process for its client tasks (FTS, FLoRA), reached over --nats",
    (a) =>
      withNatsFlags(
        a
          .positional('config', { type: 'string', demandOption: true, describe: 'the study config (YAML) the clients belong to' })
          .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override: key.path=value (repeatable)' })
          .option('ids', { type: 'string', describe: 'comma-separated client ids to run here (default: every client of client_tasks)' })
          .option('max-seconds', numberFlag('max-seconds', 'stop after this long (default: until Ctrl-C)')),
      ),
    async (a) => {
      const config = await loadStudyConfig(a.config, a.set);
      const nats = await natsFromArgs(a as NatsCliArgs);
      if (!nats) throw new UserError('clients serve: give --nats (the study reaches its clients through a NATS server)');
      const given =
        a.ids === undefined
          ? undefined
          : a.ids
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean);
      // Checked before a federated study's model loads: no id would serve nothing, forever.
      if (given && !given.length) throw new UsageError('--ids: no client id given');
      if (given && new Set(given).size !== given.length) throw new UsageError(`--ids ${a.ids}: ids must be distinct`);
      const fed = isFederatedTrial(config.trial) ? await federatedClients(config) : undefined;
      const all = config.client_tasks?.clients !== undefined || !fed ? clientTaskIds(config.client_tasks) : fed.ids;
      const ids = given ?? all;
      const unknown = ids.filter((id) => !all.includes(id));
      if (unknown.length) throw new UserError(`clients serve: --ids ${unknown.join(', ')}: not clients of the study (${all.join(', ')})`);
      const clients = await LocalTaskClients.start(config, ids, {
        nats,
        log: (line) => console.error(line),
        ...(fed ? { objectiveFor: (id: string) => fed.objectiveFor(id), modelSha256: fed.modelSha256 } : {}),
      });
      console.error(`fedhpo: clients ${ids.join(', ')} serving client tasks of scope ${clientTasksScope(config).study}`);
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
      try {
        await sleep(a.maxSeconds !== undefined ? a.maxSeconds * 1000 : 2 ** 31 - 1, undefined, { signal: stop.signal });
      } catch {
        // stopped by a signal
      }
      const answered = clients.actors.map((c) => `${c.id}: ${c.tasks}`).join(', ');
      await clients.close();
      await fed?.close();
      console.error(`fedhpo: clients stopped (tasks answered: ${answered})`);
    },
  );
}
