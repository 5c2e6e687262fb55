// Writes a StudyData as a real study directory: the journal events the scheduler would have written
// (study.started with a study config, trials.asked, then per trial started / round / finished), so
// tests of the analysis, plots and report read exactly what `fedhpo study run` leaves behind.
import { Journal } from '../../src/hpo/journal.js';
import { SCORE, type StudyData } from '../../src/hpo/study-data.js';

export async function writeStudyDir(dir: string, study: StudyData): Promise<void> {
  const journal = await Journal.create(dir);
  const maxFidelity = Math.max(1, ...study.trials.map((t) => t.fidelity));
  await journal.append({
    kind: 'study.started',
    study_id: study.name ?? 'test',
    version: 'test',
    config: {
      ...(study.name !== undefined ? { name: study.name } : {}),
      seed: 0,
      space: Object.fromEntries([...study.space].map(([k, p]) => [k, { ...p }])),
      objectives: study.objectives.map((o) => ({ ...o })),
      fidelity: { rounds: maxFidelity },
      budget: { trials: Math.max(1, study.trials.length) },
      strategy: { name: study.strategy, options: {} },
      trial: { kind: 'synthetic' },
    },
  });
  if (study.trials.length)
    await journal.append({
      kind: 'trials.asked',
      source: 'strategy',
      strategy_state: null,
      trials: study.trials.map((t) => ({
        id: t.id,
        config: { ...t.config },
        fidelity: t.fidelity,
        ...(t.parent ? { parent: t.parent } : {}),
      })),
    });
  const primary = study.objectives[0]!.name;
  for (const t of study.trials) {
    await journal.append({ kind: 'trial.started', id: t.id, attempt: 1, delivery: 1, worker: 'test' });
    // One curve point per round that has the primary metric or a score.
    const rounds = new Map<number, Record<string, number>>();
    for (const p of t.curve ?? []) rounds.set(p.round, { ...rounds.get(p.round), [primary]: p.value });
    for (const p of t.scoreCurve ?? []) rounds.set(p.round, { ...rounds.get(p.round), [SCORE]: p.value });
    const curve = [...rounds].sort((a, b) => a[0] - b[0]).map(([round, metrics]) => ({ round, metrics }));
    for (const p of curve) await journal.append({ kind: 'trial.round', id: t.id, attempt: 1, ...p });
    if (t.status === 'running') continue;
    await journal.append({
      kind: 'trial.finished',
      id: t.id,
      attempt: 1,
      status: t.status,
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      ...(t.values ? { values: [...t.values] } : {}),
      metrics: { ...t.metrics },
      curve,
      rounds: t.rounds,
      costs: {},
    });
  }
  await journal.close();
}
