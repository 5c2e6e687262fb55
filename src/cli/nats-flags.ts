// The --nats* flags shared by commands that can reach a NATS server (study run/resume, worker); their
// meaning and checks are natsOptionsFromCli's.
import type { Argv } from 'yargs';
import { type NatsCliArgs, type NatsConnectOptions, natsConnectionOptions, natsOptionsFromCli } from '../actors/transport-nats-options.js';

export function withNatsFlags<T>(y: Argv<T>) {
  return y
    .option('nats', { type: 'string', describe: 'NATS server URL(s), comma-separated (nats://host:4222)' })
    .option('nats-token', { type: 'string', describe: 'token (or FEDHPO_NATS_TOKEN)' })
    .option('nats-user', { type: 'string', describe: 'user name (password: --nats-password or FEDHPO_NATS_PASSWORD)' })
    .option('nats-password', { type: 'string' })
    .option('nats-nkey', { type: 'string', describe: 'file holding an nkey user seed' })
    .option('nats-creds', { type: 'string', describe: 'a .creds file' })
    .option('nats-tls-ca', { type: 'string', describe: 'PEM CA bundle' })
    .option('nats-tls-cert', { type: 'string', describe: 'PEM client certificate' })
    .option('nats-tls-key', { type: 'string', describe: 'PEM client key' });
}

/**
 * The --nats* flags as connection options, undefined without --nats. The secret and TLS files they
 * name are read and checked here, before the command loads a model or data: a bad --nats-creds is
 * refused at once, naming the flag, rather than when the connection is made.
 */
export async function natsFromArgs(a: NatsCliArgs): Promise<NatsConnectOptions | undefined> {
  const opts = natsOptionsFromCli(
    {
      nats: a.nats,
      natsToken: a.natsToken,
      natsUser: a.natsUser,
      natsPassword: a.natsPassword,
      natsNkey: a.natsNkey,
      natsCreds: a.natsCreds,
      natsTlsCa: a.natsTlsCa,
      natsTlsCert: a.natsTlsCert,
      natsTlsKey: a.natsTlsKey,
    },
    process.env,
  );
  if (opts) await natsConnectionOptions(opts);
  return opts;
}
