// `fedhpo worker --nats URL`: a trial worker. Serves every open study on that server (or the ones named
// with --study), one trial at a time, until Ctrl-C or SIGTERM (a trial running then goes back to the
// queue for another worker).
import type { Argv } from 'yargs';
import { TrialWorker } from '../actors/trial-worker.js';
import { NatsTransport } from '../actors/transport-nats.js';
import type { NatsCliArgs } from '../actors/transport-nats-options.js';
import { trialRunnerFor } from '../actors/trial-runner-for.js';
import { natsFromArgs, withNatsFlags } from './nats-flags.js';
import { UsageError } from './util.js';

export function workerCommand(y: Argv): Argv {
  return y.command(
    'worker',
    'Run trials of studies queued on a NATS JetStream server (any number of workers, any machine)',
    (a) =>
      withNatsFlags(a)
        .option('study', { type: 'string', array: true, describe: 'serve only these study ids (default: every open study)' })
        .option('name', { type: 'string', describe: 'worker name in journals (default host:pid:random)' })
        .option('trials-dir', { type: 'string', describe: "where trials keep files (default: the scheduler's study directory)" }),
    async (a) => {
      const connection = await natsFromArgs(a as NatsCliArgs);
      if (!connection) throw new UsageError('worker: give the server with --nats URL');
      const transport = await NatsTransport.connect({ connection, name: 'fedhpo worker' });
      const worker = new TrialWorker({
        transport,
        runnerFor: (config) => trialRunnerFor(config),
        ...(a.study ? { studies: a.study.map(String) } : {}),
        ...(a.name ? { name: a.name } : {}),
        ...(a.trialsDir ? { trialsDir: a.trialsDir } : {}),
        log: (line) => console.error(line),
      });
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (stop.signal.aborted) process.exit(130);
        console.error(`${sig}: worker ${worker.name} stopping`);
        stop.abort(sig);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      console.error(`worker ${worker.name}: waiting for trials on ${connection.servers.join(',')}`);
      try {
        await worker.run(stop.signal);
      } finally {
        await transport.close();
      }
      console.error(`worker ${worker.name}: ran ${worker.finishedTrials} trials`);
    },
  );
}
