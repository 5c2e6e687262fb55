// A federated trial in one of the reference paper's scenarios (Table 1), at equal local steps per
// client per round: `fed` (the task's N clients), `global` (one client holding every client's
// data), `local` (N one-client federations, each client alone on its own data). Every resulting
// adapter is scored on the same test split; `local` reports the mean over clients and each client.
// With `remoteClients`, only the server runs here (fed only): the clients are `fl client` processes
// holding their own data; the server uses the test split alone.
import { UserError } from '../engine/errors.js';
import { answerless, type ClientRecords, encodeClient, type FederatedTask, pooledClient } from '../fl/client-data.js';
import { federatedData } from '../fl/client-files.js';
import { checkConfigFitsModel, dataName, type FlConfig, type Scenario } from '../fl/fl-config.js';
import { scoreTestSplit, spreadOf, type TestScore } from '../fl/test-score.js';
import type { LoadedModel } from '../model/source.js';
import type { RoundRecord } from './federation-state.js';
import type { ServerEvent } from './server-actor.js';
import { type ConnectTransport, type FederationResult, runFederation, runFederationServer } from './federation.js';

export interface TrialDeps {
  model: LoadedModel;
  /** Default: the config's data (a built-in task or the user's files). */
  task?: FederatedTask;
  connect?: ConnectTransport;
  /** After each completed round of each federation (`run` is 'fed', 'global' or the client of a local run). */
  onRound?: (run: string, record: RoundRecord) => void;
  /** Every event of each federation's server (joins, client errors, rejected messages ...). */
  onServerEvent?: (run: string, e: ServerEvent) => void;
  log?: (line: string) => void;
  /** Clients in other processes (their ids; `dismiss`: tell them to exit at the end) instead of simulated ones. */
  remoteClients?: { ids: readonly string[]; dismiss: boolean };
  /** Told what the run leaves out: records of the user's files ("skipped file:line: reason"), answers cut by train.seq_len. */
  warn?: (line: string) => void;
}

/** One federation of the trial with its test score. */
export interface TrialRun {
  name: string;
  result: FederationResult;
  test: TestScore;
}

export interface RoundSummary {
  round: number;
  /** Mean over the runs (one, except `local`) of the round's validation loss. */
  valLoss: number | null;
  trainLoss: number | null;
  uploadBytes: number;
  downloadBytes: number;
  seconds: number;
}

export interface Totals {
  uploadBytes: number;
  downloadBytes: number;
  /** MatMul FLOPs of local training. */
  trainFlops: number;
  trainTokens: number;
  computeSeconds: number;
  /** FLOPs of scoring the test split. */
  testFlops: number;
  seconds: number;
}

export interface TrialReport {
  scenario: Scenario;
  task: string;
  seed: number;
  rounds: RoundSummary[];
  /** fed/global: the global adapter's score, per client share; local: the mean of the clients' own adapters, per client. */
  test: { score: number; samples: number; perClient: Record<string, number>; worst: number; median: number; best: number };
  totals: Totals;
  rejected: Record<string, number>;
  runs: TrialRun[];
}

interface PlannedRun {
  name: string;
  clients: ClientRecords[];
  trial: string;
}

function plan(scenario: Scenario, task: FederatedTask, trial: string): PlannedRun[] {
  if (scenario === 'fed') return [{ name: 'fed', clients: task.clients, trial }];
  if (scenario === 'global') return [{ name: 'global', clients: [pooledClient(task.clients)], trial: `${trial}-global` }];
  return task.clients.map((c) => ({ name: c.id, clients: [c], trial: `${trial}-local-${c.id}` }));
}

export async function runTrial(config: FlConfig, deps: TrialDeps): Promise<TrialReport> {
  const started = performance.now();
  if (config.offsite)
    throw new UserError(
      'offsite: `fl run` runs LoRA federations; offsite-tuning runs as a study trial or with `npm run bench:offsite -- --config <file>`',
    );
  const task = deps.task ?? (await federatedData(config.data));
  for (const line of task.skipped ?? []) deps.warn?.(`skipped ${line}`);
  const { model, tokenizer } = deps.model;
  checkConfigFitsModel(config, model.cfg);
  // eval.valid_limit applies per client of the task, so `global` validates on the union of the same records.
  const limit = config.eval.valid_limit;
  const clientsOfTask = task.clients.map((c) => (limit === undefined ? c : { ...c, validation: c.validation.slice(0, limit) }));
  const runs: TrialRun[] = [];
  const remote = deps.remoteClients;
  if (remote && config.scenario !== 'fed')
    throw new UserError(`scenario ${config.scenario} simulates its clients; with clients in their own processes use scenario fed`);
  for (const p of plan(config.scenario, { ...task, clients: clientsOfTask }, config.trial)) {
    // Clients in other processes hold (and encode) their own data.
    const clients = remote ? [] : p.clients.map((c) => encodeClient(tokenizer, c, config.train.seq_len));
    for (const c of clients) {
      const cut = answerless(c);
      if (cut) deps.warn?.(`client ${c.id}: ${cut} with no answer token within train.seq_len ${config.train.seq_len} (raise it)`);
    }
    const common = {
      model: deps.model,
      ...(deps.connect ? { connect: deps.connect } : {}),
      ...(deps.log ? { log: deps.log } : {}),
      onEvent: (e: ServerEvent) => {
        if (e.type === 'round-done') deps.onRound?.(p.name, e.record);
        deps.onServerEvent?.(p.name, e);
      },
    };
    const cfg = { ...config, trial: p.trial };
    const result = remote
      ? await runFederationServer(cfg, { ...common, clientIds: remote.ids, dismissClients: remote.dismiss })
      : await runFederation(cfg, { ...common, clients });
    const test = await scoreTestSplit(model, tokenizer, result.adapter, task.test, task.testShare, {
      limit: config.eval.test_limit,
      batchSize: config.eval.batch_size,
      maxNewTokens: config.eval.max_new_tokens,
      seqLen: config.train.seq_len,
      metric: task.metric,
    });
    deps.log?.(`[trial] ${p.name}: test score ${test.score.toFixed(4)} on ${test.samples} records`);
    runs.push({ name: p.name, result, test });
  }
  return {
    scenario: config.scenario,
    task: dataName(config.data),
    seed: config.seed,
    rounds: summariseRounds(runs),
    test: testOf(config.scenario, runs),
    totals: totalsOf(runs, (performance.now() - started) / 1000),
    rejected: sumRecords(runs.map((r) => r.result.rejected)),
    runs,
  };
}

function testOf(scenario: Scenario, runs: TrialRun[]): TrialReport['test'] {
  if (scenario !== 'local') {
    const t = runs[0]!.test;
    return { score: t.score, samples: t.samples, perClient: t.perClient, worst: t.worst, median: t.median, best: t.best };
  }
  const perClient = Object.fromEntries(runs.map((r) => [r.name, r.test.score]));
  const scores = Object.values(perClient);
  return { score: scores.reduce((a, b) => a + b, 0) / scores.length, samples: runs[0]!.test.samples, perClient, ...spreadOf(scores) };
}

function summariseRounds(runs: TrialRun[]): RoundSummary[] {
  const byRound = new Map<number, RoundRecord[]>();
  for (const r of runs) for (const rec of r.result.history) byRound.set(rec.round, [...(byRound.get(rec.round) ?? []), rec]);
  return [...byRound.keys()]
    .sort((a, b) => a - b)
    .map((round) => {
      const recs = byRound.get(round)!;
      const mean = (xs: (number | null)[]): number | null => {
        const v = xs.filter((x): x is number => x !== null);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      };
      let up = 0;
      let down = 0;
      for (const rec of recs)
        for (const c of Object.values(rec.clients)) {
          up += c.uploadBytes;
          down += c.downloadBytes;
        }
      return {
        round,
        valLoss: mean(recs.map((r) => r.valLoss)),
        trainLoss: mean(recs.map((r) => r.trainLoss)),
        uploadBytes: up,
        downloadBytes: down,
        seconds: recs.reduce((s, r) => s + r.seconds, 0),
      };
    });
}

function totalsOf(runs: TrialRun[], seconds: number): Totals {
  const t: Totals = { uploadBytes: 0, downloadBytes: 0, trainFlops: 0, trainTokens: 0, computeSeconds: 0, testFlops: 0, seconds };
  for (const r of runs) {
    t.testFlops += r.test.flops;
    for (const rec of r.result.history)
      for (const c of Object.values(rec.clients)) {
        t.uploadBytes += c.uploadBytes;
        t.downloadBytes += c.downloadBytes;
        t.trainFlops += c.trained?.metrics.flops ?? 0;
        t.trainTokens += c.trained?.metrics.tokens ?? 0;
        t.computeSeconds += c.trained?.metrics.compute_s ?? 0;
      }
  }
  return t;
}

function sumRecords(rs: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}
