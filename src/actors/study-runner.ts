// Runs a study end to end: starts it (or resumes it from its journal), picks where trials run (this
// process, or trial workers over NATS JetStream), drives it with a SchedulerActor, and returns how it
// ended. A study with `remote_clients` runs its trials in this process, their clients being `fl
// client` processes reached through `nats`; when it finishes, they are dismissed (unless `keep`). The CLI's `study run` and `study resume` are thin shells over this.
import type { JournalEvent } from '../hpo/journal-events.js';
import { Study, type StudyMode } from '../hpo/study.js';
import { parseStudyConfig, type StudyConfig } from '../hpo/study-config.js';
import { readJournal } from '../hpo/journal.js';
import { dismissStudyClients } from './client-host.js';
import { checkFederatedStudy } from './federated-trial-config.js';
import { NatsTransport } from './transport-nats.js';
import type { StudyState } from '../hpo/study-state.js';
import { writeStudyOutputs } from '../hpo/study-outputs.js';
import { trialRunnerFor } from './trial-runner-for.js';
import type { TrialRunner } from '../hpo/trial-runner.js';
import type { ClientTaskRunner } from '../hpo/client-task.js';
import { clientTasksFor } from './client-tasks-for.js';
import { InProcessExecutor } from './in-process-executor.js';
import { runScheduler, type StudyRunResult } from './scheduler-actor.js';
import type { SchedulerPort, TrialExecutor } from './trial-executor.js';
import type { NatsConnectOptions } from './transport-nats-options.js';
import { startWorkQueue } from './work-queue-executor.js';

export interface StudyRunOptions {
  readonly dir: string;
  /** A new study; without it the study in `dir` is resumed. */
  readonly config?: StudyConfig;
  /**
   * Run trials on workers over NATS JetStream instead of in this process; for a study with
   * `remote_clients`, where its trials' clients (fl client processes) are (the trials then run here).
   */
  readonly nats?: NatsConnectOptions;
  /** Trials at once (overrides the config's `parallel`). */
  readonly parallel?: number;
  /** With `nats`: trial workers to run inside this process as well (others may join from anywhere). */
  readonly localWorkers?: number;
  /** How a config becomes a TrialRunner (default: trialRunnerFor). */
  readonly runnerFor?: (config: StudyConfig) => TrialRunner;
  readonly onEvent?: (event: JournalEvent, state: StudyState) => void;
  /** Called once the study is open (new or resumed), before any trial starts. */
  readonly onOpen?: (study: Study) => void;
  readonly log?: (line: string) => void;
  /** Where client tasks of FTS / FLoRA run (default: the study config's client_tasks, over --nats when given). */
  readonly clientTasks?: ClientTaskRunner;
  /** Sees every message a client of this process publishes for client tasks (tests: privacy checks). */
  readonly onClientSend?: (clientId: string, subject: string, bytes: Uint8Array) => void;
  /** Aborting stops the study gracefully (resume continues it). */
  readonly signal?: AbortSignal;
}

export interface StudyRunOutcome extends StudyRunResult {
  readonly state: StudyRunResult['state'];
  readonly dir: string;
}

export async function runStudy(opts: StudyRunOptions): Promise<StudyRunOutcome> {
  const remote = (opts.config ?? (await journaledConfig(opts.dir)))?.remote_clients;
  const mode: StudyMode = opts.nats && !remote ? 'workers' : 'in-process';
  const studyOpts = {
    mode,
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  };
  const nats = opts.nats;
  const runnerFor = opts.runnerFor ?? ((config: StudyConfig) => trialRunnerFor(config, undefined, nats ? { nats } : {}));
  // A new study's trial config is checked before its directory is made: a typo leaves nothing behind.
  let runner: TrialRunner | undefined = opts.config ? runnerFor(opts.config) : undefined;
  // Once: the scheduler may close it early (at the end, while the last journal lines are written).
  let runnerClosed: Promise<void> | undefined;
  const closeRunner = (): Promise<void> => (runnerClosed ??= runner?.close?.() ?? Promise.resolve());
  let study: Study;
  try {
    study = opts.config ? await Study.create(opts.dir, opts.config, studyOpts) : await Study.resume(opts.dir, studyOpts);
  } catch (e) {
    await closeRunner();
    throw e;
  }
  let queue: Awaited<ReturnType<typeof startWorkQueue>> | undefined;
  let ownClientTasks: Awaited<ReturnType<typeof clientTasksFor>> | undefined;
  try {
    runner ??= runnerFor(study.config);
    if (study.usesClientTasks && !study.state.finished) {
      if (opts.clientTasks) study.useClientTasks(opts.clientTasks);
      else {
        ownClientTasks = await clientTasksFor(study.config, {
          ...(opts.nats ? { nats: opts.nats } : {}),
          ...(opts.onClientSend ? { onClientSend: opts.onClientSend } : {}),
          ...(opts.log ? { log: opts.log } : {}),
        });
        study.useClientTasks(ownClientTasks);
      }
    }
    opts.onOpen?.(study);
    if (study.state.finished) {
      await writeStudyOutputs(study.dir, study.state, runner);
      await study.close();
      return { state: 'finished', reason: study.state.finished.reason, dir: opts.dir };
    }
    let executor: (port: SchedulerPort) => TrialExecutor;
    if (opts.nats && mode === 'workers') {
      queue = await startWorkQueue(study, {
        connection: opts.nats,
        localWorkers: opts.localWorkers ?? 0,
        runnerFor,
        log: opts.log,
      });
      executor = queue.executor;
    } else {
      const r = runner;
      executor = (port) => new InProcessExecutor(r, port);
    }
    const handle = runScheduler(study, { executor, runner, releaseRunner: closeRunner });
    const onAbort = (): void => handle.stop(String(opts.signal?.reason ?? 'stopped'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await handle.done;
      const remoteNow = study.config.remote_clients;
      if (result.state === 'finished' && remoteNow && nats) {
        const scope = checkFederatedStudy(study.config, 'study config').study;
        if (remoteNow.keep) opts.log?.(`kept the fl clients of study ${scope} (fedhpo fl dismiss --study ${scope} --nats URL ends them)`);
        else await dismissClients(scope, nats, opts.log);
      }
      return { ...result, dir: opts.dir };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  } catch (e) {
    await study.close();
    throw e;
  } finally {
    await queue?.close();
    await ownClientTasks?.close();
    await closeRunner();
  }
}

/** A study directory's journaled config (undefined when it cannot be read: Study.resume then says why). */
async function journaledConfig(dir: string): Promise<StudyConfig | undefined> {
  try {
    const first = (await readJournal(dir)).events[0];
    return first?.kind === 'study.started' ? parseStudyConfig(first.config, dir) : undefined;
  } catch {
    return undefined;
  }
}

/** The end of a study whose trials ran over fl client processes: tell them to exit (as `fl dismiss` does). */
async function dismissClients(scope: string, nats: NatsConnectOptions, log?: (line: string) => void): Promise<void> {
  const transport = await NatsTransport.connect({ connection: nats, name: 'fedhpo-dismiss' });
  try {
    await dismissStudyClients(transport, scope, 'the study finished');
  } finally {
    await transport.close();
  }
  log?.(`dismissed the fl clients of study ${scope}`);
}
