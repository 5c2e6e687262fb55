// What a trial leaves in its output directory:
//   metrics.jsonl  one line per client per round ({"type":"client"...}) and one per round for the
//                  server ({"type":"round"...}): bytes, compute seconds, FLOPs, tokens, losses, RSS,
//                  selected / accepted / rejected with reasons, seconds
//   summary.json   the per-round validation loss, the test score with per-client worst/median/best,
//                  totals of bytes / FLOPs / time, rejected messages by reason, the config
//   adapter/       the final global adapter in PEFT layout (local: adapter/<client>/ for each)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlConfig } from '../fl/fl-config.js';
import type { RoundRecord } from './federation-state.js';
import type { TrialReport } from './trial.js';

/** The JSON summary of a trial (what `fl run --json` prints last and summary.json holds). */
export function trialSummary(report: TrialReport, config?: FlConfig): Record<string, unknown> {
  return {
    scenario: report.scenario,
    task: report.task,
    seed: report.seed,
    rounds: report.rounds,
    valLoss: report.rounds.map((r) => r.valLoss),
    test: report.test,
    totals: report.totals,
    rejected: report.rejected,
    ...(report.scenario === 'local' ? { local: Object.fromEntries(report.runs.map((r) => [r.name, r.test])) } : {}),
    ...(config ? { config } : {}),
  };
}

/** Metric lines of one round of one run. */
export function metricLines(run: string, rec: RoundRecord): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  let up = 0;
  let down = 0;
  for (const [client, c] of Object.entries(rec.clients)) {
    up += c.uploadBytes;
    down += c.downloadBytes;
    const m = c.trained?.metrics;
    lines.push({
      type: 'client',
      run,
      round: rec.round,
      client,
      selected: rec.selected.includes(client),
      accepted: rec.accepted.includes(client),
      upload_bytes: c.uploadBytes,
      download_bytes: c.downloadBytes,
      samples: c.trained?.samples ?? null,
      train_loss: m?.train_loss ?? null,
      compute_s: m?.compute_s ?? null,
      flops: m?.flops ?? null,
      tokens: m?.tokens ?? null,
      peak_rss_mb: m?.peak_rss_mb ?? null,
      val_loss: c.validation?.loss ?? null,
      val_tokens: c.validation?.tokens ?? null,
    });
  }
  lines.push({
    type: 'round',
    run,
    round: rec.round,
    val_loss: rec.valLoss,
    train_loss: rec.trainLoss,
    selected: rec.selected,
    accepted: rec.accepted,
    attempts: rec.attempts,
    rejected: rec.rejected,
    rejected_log: rec.rejectedLog,
    upload_bytes: up,
    download_bytes: down,
    seconds: rec.seconds,
  });
  return lines;
}

export async function writeTrialOutputs(outDir: string, report: TrialReport, config: FlConfig, baseModel: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const lines = report.runs.flatMap((r) => r.result.history.flatMap((rec) => metricLines(r.name, rec)));
  await writeFile(join(outDir, 'metrics.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(trialSummary(report, config), null, 2)}\n`);
  if (report.scenario === 'local') {
    for (const r of report.runs) await r.result.adapter.save(join(outDir, 'adapter', r.name), baseModel);
  } else {
    await report.runs[0]!.result.adapter.save(join(outDir, 'adapter'), baseModel);
  }
}
