// Scheduler overhead per trial as a fraction of trial time (issue 10 target: under 1 %): a timed
// in-process study of real federated trials (the FederatedTrialRunner on a tiny random model and the
// arith task): (study wall time - the time trials compute) / trials, over the mean trial time. A
// trial computes inside the runner's run() except while it waits for the scheduler's answer to a
// round (judged by the pruner; its journal line follows in a group commit), which is overhead. The
// overhead is everything the study does around its trials: journal writes and the fsyncs waited for,
// strategy asks, scheduler messages, summary/best.json rewrites, the best/ export, opening and closing
// the study, the runner's close() (releasing the base model) included. `breakdown` says where it goes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStudy } from '../src/actors/study-runner.js';
import { parseStudyConfig } from '../src/hpo/study-config.js';
import { trialRunnerFor } from '../src/actors/trial-runner-for.js';
import type { TrialRunner } from '../src/hpo/trial-runner.js';
import { parseLlamaConfig } from '../src/model/config.js';
import { initWeights, saveCheckpoint } from '../src/model/model.js';

export interface SchedulerOverhead {
  /** (study wall - time inside trials) / trials / mean trial time. */
  fraction: number;
  /**
   * `fraction` without the runner's close(): releasing the base model (terminating its engine worker)
   * is the runner's work, the counterpart of loading it, which the first trial's run() counts as trial time.
   */
  schedulerFraction: number;
  trials: number;
  meanTrialSeconds: number;
  overheadSecondsPerTrial: number;
  studySeconds: number;
  /** Where the overhead goes, in seconds over the whole study (trials run one at a time). */
  breakdown: {
    /** From runStudy's call to the first trial's start: checking the config, creating the study (journal, lock, plugins). */
    open: number;
    /** Between one trial's end and the next one's start, summed: journaling the result, asking, launching. */
    betweenTrials: number;
    /** The trials' waits for the scheduler's answer to each round, summed. */
    roundAnswers: number;
    /** From the last trial's end to runStudy's return: the final journal lines, outputs, best/, closing. */
    close: number;
    /** Of `close`: the trial runner's close() (it releases the base model and its engine worker). */
    runnerClose: number;
  };
}

/** A 2-layer d32 model with the byte tokenizer: trials of about a second. */
const TINY = parseLlamaConfig({
  vocab_size: 260,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 512,
});

export async function schedulerOverheadPerTrial(trials = 8): Promise<SchedulerOverhead> {
  const root = await mkdtemp(join(tmpdir(), 'fedhpo-overhead-'));
  try {
    const modelDir = join(root, 'model');
    await saveCheckpoint(modelDir, TINY, initWeights(TINY, 7));
    const config = parseStudyConfig(
      {
        name: 'overhead',
        seed: 0,
        space: { 'train.lr': { type: 'float', low: 1e-3, high: 1e-1, log: true }, 'lora.r': { type: 'categorical', choices: [2, 4] } },
        objectives: [{ name: 'val_loss', direction: 'minimize' }],
        fidelity: { rounds: 3 },
        budget: { trials },
        strategy: 'random',
        parallel: 1,
        trial: {
          model: modelDir,
          data: { task: 'arith' },
          clients: { sample_rate: 0.67 },
          lora: { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
          train: { local_steps: 4, batch_size: 4, seq_len: 256, lr: 0.01 },
          eval: { test_limit: 8, batch_size: 8, max_new_tokens: 8, valid_limit: 8 },
        },
      },
      'overhead study',
    );
    let inTrials = 0;
    let roundAnswers = 0;
    let runnerClose = 0;
    /** [start, end] of each trial's run(), in order (parallel 1: they do not overlap). */
    const runs: [number, number][] = [];
    const timed = (inner: TrialRunner): TrialRunner => ({
      name: inner.name,
      run: async (req) => {
        const t0 = performance.now();
        let waiting = 0;
        const onRound: typeof req.onRound = async (round, metrics) => {
          const w0 = performance.now();
          try {
            return await req.onRound(round, metrics);
          } finally {
            waiting += performance.now() - w0;
          }
        };
        try {
          return await inner.run({ ...req, onRound });
        } finally {
          const t1 = performance.now();
          runs.push([t0, t1]);
          inTrials += t1 - t0 - waiting;
          roundAnswers += waiting;
        }
      },
      exportAdapter: (c, d) => inner.exportAdapter(c, d),
      close: async () => {
        const c0 = performance.now();
        await inner.close?.();
        runnerClose += performance.now() - c0;
      },
    });
    const t0 = performance.now();
    await runStudy({ dir: join(root, 'study'), config, runnerFor: (c) => timed(trialRunnerFor(c)) });
    const t1 = performance.now();
    const studyMs = t1 - t0;
    const perTrial = (studyMs - inTrials) / trials;
    const mean = inTrials / trials;
    const between = runs.slice(1).reduce((sum, [start], i) => sum + start - runs[i]![1], 0);
    return {
      fraction: perTrial / mean,
      schedulerFraction: (perTrial - runnerClose / trials) / mean,
      trials,
      meanTrialSeconds: mean / 1000,
      overheadSecondsPerTrial: perTrial / 1000,
      studySeconds: studyMs / 1000,
      breakdown: {
        open: (runs[0]![0] - t0) / 1000,
        betweenTrials: between / 1000,
        roundAnswers: roundAnswers / 1000,
        close: (t1 - runs.at(-1)![1]) / 1000,
        runnerClose: runnerClose / 1000,
      },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
