// `fedhpo fl ...`: `run` is one federated LoRA trial from a config file. Without --nats everything
// runs in this process on the in-process transport; with --nats it stays one process but every
// message crosses the given nats-server (each actor on its own connection, as separate processes
// would be). `server`, `client` and `clients` run the same trial as separate processes (fl-distributed.ts).
import type { Argv } from 'yargs';
import type { ConnectTransport } from '../actors/federation.js';
import { NatsTransport } from '../actors/transport-nats.js';
import type { NatsCliArgs } from '../actors/transport-nats-options.js';
import { flDistributedCommands } from './fl-distributed.js';
import { configFromArgs, runFlTrial, withConfigFlags, withOutputFlags } from './fl-run.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';

async function natsConnector(a: NatsCliArgs): Promise<ConnectTransport | undefined> {
  const connection = await natsFromArgs(a);
  if (!connection) return undefined;
  return (name, hooks) => NatsTransport.connect({ connection, name: `fedhpo-${name}`, ...hooks });
}

export function flCommands(y: Argv): Argv {
  return flDistributedCommands(
    y.command(
      'run',
      'Run one federated LoRA trial (server and clients as actors, in this process or through --nats)',
      (a) => withOutputFlags(withConfigFlags(withNatsFlags(a))),
      async (a) => {
        const config = await configFromArgs(a);
        const connect = await natsConnector(a);
        await runFlTrial(a, config, {
          ...(connect ? { connect } : {}),
          how: connect ? `through NATS ${String(a.nats)}` : 'in-process transport',
        });
      },
    ),
  ).demandCommand(1, 'name an fl command (see fedhpo fl --help)');
}
