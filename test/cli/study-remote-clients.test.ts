// `fedhpo study run --nats URL --remote-clients`: a study whose trials run over three long-lived
// `fedhpo fl client` processes (each holding its own data files) through a real nats-server. Every
// trial completes with val_loss and score, the clients serve every trial and are dismissed when the
// study finishes, and the per-round validation losses and scores equal those of the same study with
// simulated clients in one process (same seed). A study stopped with SIGINT resumes over the same
// clients, kept (--keep-clients) until `fl dismiss`. A client with another base model fails the study's
// trials at once instead of each waiting for its join timeout.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWeights, saveCheckpoint } from '../../src/model/model.js';
import { TINY, tinyModelDir, tinyTrialDoc } from '../actors/fl-fixtures.js';
import { type CliProcess, spawnFedhpo } from '../helpers/cli-process.js';
import { NatsServer } from '../helpers/nats-server.js';
import { replayStudy, writeStudyYaml } from '../helpers/study-fixtures.js';
import { fedhpo, fedhpoWithin } from './run-cli.js';

let dir: Awaited<ReturnType<typeof tinyModelDir>>;
let nats: NatsServer;
let studyFile: string;

const trialDoc = (study: string) =>
  tinyTrialDoc(dir.modelDir, { study, round: { deadline_s: 240, quorum: 1, retries: 1, join_timeout_s: 240 } });

beforeAll(async () => {
  dir = await tinyModelDir();
  nats = await NatsServer.start({});
  // The clients' own files: what `fl clients` writes for the trial's task (valid_limit applied).
  const fl = join(dir.root, 'fl.yaml');
  await writeFile(fl, JSON.stringify({ ...trialDoc('remote'), rounds: 2 }));
  const split = await fedhpo('fl', 'clients', '--config', fl, '--out', join(dir.root, 'clients'));
  expect(split.code, split.stderr).toBe(0);
  studyFile = await writeStudyYaml(dir.root, {
    name: 'remote clients',
    seed: 5,
    space: {
      'train.lr': { type: 'float', low: 1e-3, high: 3e-2, log: true },
      'lora.r': { type: 'categorical', choices: [2, 4] },
    },
    objectives: [{ name: 'val_loss', direction: 'minimize' }],
    fidelity: { rounds: 2 },
    budget: { trials: 3 },
    strategy: 'random',
    trial: trialDoc('remote'),
  });
}, 120_000);
afterAll(async () => {
  await nats?.dispose();
  await dir?.dispose();
});

function client(id: string, study: string, model = dir.modelDir): CliProcess {
  const files = join(dir.root, 'clients');
  return spawnFedhpo([
    'fl',
    'client',
    '--id',
    id,
    '--study',
    study,
    '--nats',
    nats.url,
    '--model',
    model,
    '--data',
    join(files, `${id}.train.jsonl`),
    '--valid',
    join(files, `${id}.valid.jsonl`),
  ]);
}

describe('study run over fl client processes', () => {
  it('runs every trial over 3 long-lived clients, dismisses them at the end, and equals the in-process study', async () => {
    const remoteOut = join(dir.root, 'study-remote');
    const localOut = join(dir.root, 'study-local');
    const ids = ['c0', 'c1', 'c2'];
    const clients = ids.map((id) => client(id, 'remote'));
    await Promise.all(clients.map((c) => c.waitFor(/serving study remote/, 120_000)));
    const [remote, local] = await Promise.all([
      fedhpoWithin(
        600_000,
        'study',
        'run',
        studyFile,
        '--out',
        remoteOut,
        '--nats',
        nats.url,
        '--remote-clients',
        ids.join(','),
        '--workers',
        '2',
      ),
      fedhpoWithin(600_000, 'study', 'run', studyFile, '--out', localOut, '--workers', '2'),
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(local.code, local.stderr).toBe(0);
    expect(remote.stderr).toContain('dismissed the fl clients of study remote');
    const ends = await Promise.all(clients.map((c) => c.exited));
    const [rs, ls] = await Promise.all([replayStudy(remoteOut), replayStudy(localOut)]);
    expect(rs.config.remote_clients).toEqual({ clients: ids, keep: false });
    expect(rs.trials.map((t) => t.status)).toEqual(['complete', 'complete', 'complete']);
    for (const t of rs.trials) {
      expect(Number.isFinite(t.metrics!.val_loss)).toBe(true);
      expect(t.metrics!.score).toBeGreaterThanOrEqual(0);
      expect(t.curve.map((p) => p.round)).toEqual([1, 2]);
    }
    // Parity: the same configs, and per round the same validation losses; the same test scores.
    expect(rs.trials.map((t) => t.config)).toEqual(ls.trials.map((t) => t.config));
    const losses = (s: typeof rs) => s.trials.map((t) => t.curve.map((p) => p.metrics.val_loss));
    expect(losses(rs)).toEqual(losses(ls));
    expect(rs.trials.map((t) => t.metrics!.score)).toEqual(ls.trials.map((t) => t.metrics!.score));
    // Each client served every trial (a join per round call) and left when dismissed.
    for (const [i, end] of ends.entries()) {
      const out = clients[i]!.output();
      expect(end.code, out).toBe(0);
      expect(out).toContain('dismissed by the server (the study finished)');
      const trials = new Set([...out.matchAll(/joining trial remote\/(t\d+)/g)].map((m) => m[1]));
      expect(trials.size, out).toBe(3);
    }
    // The study's outputs as usual.
    for (const f of ['journal.jsonl', 'summary.json', 'best.json', 'best/adapter_model.safetensors', 'report.html'])
      expect(existsSync(join(remoteOut, f)), f).toBe(true);
    expect(JSON.parse(await readFile(join(remoteOut, 'best.json'), 'utf8')).study).toBe('remote');
  }, 900_000);

  it('stopped with SIGINT and resumed with --nats, the study goes on over the same kept clients; fl dismiss ends them', async () => {
    const out = join(dir.root, 'study-resume');
    const file = await writeStudyYaml(dir.root, { ...(await studyDoc()), trial: trialDoc('resume') }, 'resume.yaml');
    const clients = ['c0', 'c1', 'c2'].map((id) => client(id, 'resume'));
    await Promise.all(clients.map((c) => c.waitFor(/serving study resume/, 120_000)));
    const run = spawnFedhpo(['study', 'run', file, '--out', out, '--nats', nats.url, '--remote-clients', '', '--keep-clients']);
    await run.waitFor(/^trial 0 complete/, 300_000);
    run.kill('SIGINT');
    expect((await run.exited).code, run.output()).toBe(130);
    const resumed = await fedhpoWithin(600_000, 'study', 'resume', out, '--nats', nats.url);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('kept the fl clients of study resume');
    const state = await replayStudy(out);
    expect(state.config.remote_clients).toEqual({ keep: true });
    expect(state.trials.map((t) => t.status)).toEqual(['complete', 'complete', 'complete']);
    expect(clients.map((c) => c.proc.exitCode)).toEqual([null, null, null]);
    const dismiss = await fedhpo('fl', 'dismiss', '--study', 'resume', '--nats', nats.url);
    expect(dismiss.code, dismiss.stderr).toBe(0);
    for (const end of await Promise.all(clients.map((c) => c.exited))) expect(end.code).toBe(0);
  }, 900_000);

  it('a client with another base model fails the trials at once; without --nats the study is refused', async () => {
    const otherModel = join(dir.root, 'other-model');
    await saveCheckpoint(otherModel, TINY, initWeights(TINY, 8));
    const file = await writeStudyYaml(dir.root, { ...(await studyDoc()), trial: trialDoc('mismatch') }, 'mismatch.yaml');
    const other = client('c0', 'mismatch', otherModel);
    await other.waitFor(/serving study mismatch/, 120_000);
    const started = performance.now();
    const run = await fedhpoWithin(
      300_000,
      'study',
      'run',
      file,
      '--out',
      join(dir.root, 'study-mismatch'),
      '--nats',
      nats.url,
      '--remote-clients',
      'c0',
    );
    expect(run.code, run.stderr).toBe(0);
    expect((performance.now() - started) / 1000).toBeLessThan(200); // not 3 x the 240 s join timeout
    const state = await replayStudy(join(dir.root, 'study-mismatch'));
    expect(state.trials.map((t) => t.status)).toEqual(['failed', 'failed', 'failed']);
    for (const t of state.trials) expect(t.reason).toContain("the study's base model is not its clients'");
    const end = await other.exited;
    expect(end.code).toBe(2);
    expect(other.output()).toContain('refused by the server');
    const noNats = await fedhpo('study', 'run', studyFile, '--out', join(dir.root, 'no-nats'), '--remote-clients', '');
    expect(noNats.code, noNats.stderr).toBe(2);
    expect(noNats.stderr).toContain('give --nats URL');
    expect(existsSync(join(dir.root, 'no-nats'))).toBe(false);
  }, 400_000);
});

async function studyDoc(): Promise<Record<string, unknown>> {
  const { parse } = await import('yaml');
  return parse(await readFile(studyFile, 'utf8'));
}
