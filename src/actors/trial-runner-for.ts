// The one place that chooses a study's TrialRunner from its config. `trial.kind: synthetic` is the test
// objective (see synthetic-runner.ts); `kind: federated`, or no kind, makes every trial a real
// federation of the FL config document given as `trial` (src/actors/federated-runner.ts). The
// scheduler and trial workers both call this, so a worker builds exactly the runner the study's config
// describes.
import { z } from 'zod';
import { FederatedTrialRunner } from './federated-runner.js';
import { checkFederatedStudy, FEDERATED_KIND, isFederatedTrial } from './federated-trial-config.js';
import { NatsTransport } from './transport-nats.js';
import type { NatsConnectOptions } from './transport-nats-options.js';
import { UserError } from '../engine/errors.js';
import { parseWithSchema } from '../fl/pretrain-config.js';
import { type StudyConfig, studySpace } from '../hpo/study-config.js';
import { SyntheticTrialRunner, SyntheticTrialSchema } from '../hpo/synthetic-runner.js';
import type { TrialRunner } from '../hpo/trial-runner.js';

export interface TrialRunnerOptions {
  /** Log lines of federated trials' servers and clients (rejections, retries). */
  readonly log?: (line: string) => void;
  /** The nats-server where a study's remote clients (`remote_clients`: fl client processes) are reached. */
  readonly nats?: NatsConnectOptions;
}

export function trialRunnerFor(config: StudyConfig, where = 'study config', opts: TrialRunnerOptions = {}): TrialRunner {
  const kind = config.trial.kind;
  if (kind === 'synthetic') {
    const { trial } = parseWithSchema(z.object({ trial: SyntheticTrialSchema }), { trial: config.trial }, where);
    return new SyntheticTrialRunner(studySpace(config), config.seed, trial);
  }
  if (isFederatedTrial(config.trial)) {
    // Checked once here, so a misspelt key stops the study at once instead of failing every trial.
    const fl = checkFederatedStudy(config, where);
    const remote = config.remote_clients;
    if (remote) {
      const nats = opts.nats;
      if (!nats)
        throw new UserError(`${where}: remote_clients: the trials' clients are fl client processes, reached through NATS: give --nats URL`);
      if (fl.scenario !== 'fed')
        throw new UserError(`${where}: remote_clients: scenario ${fl.scenario} simulates its clients; remote clients need scenario fed`);
      return new FederatedTrialRunner({
        ...(opts.log ? { log: opts.log } : {}),
        remoteClients: {
          ...(remote.clients ? { ids: remote.clients } : {}),
          connect: (name, hooks) => NatsTransport.connect({ connection: nats, name: `fedhpo-${name}`, ...hooks }),
        },
      });
    }
    return new FederatedTrialRunner(opts.log ? { log: opts.log } : {});
  }
  throw new UserError(
    `${where}: trial.kind ${JSON.stringify(kind)} is unknown: want ${FEDERATED_KIND} (the default: an FL config as in fedhpo fl run) or synthetic (a test objective)`,
  );
}
