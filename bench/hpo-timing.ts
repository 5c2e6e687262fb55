// Time of one `ask` with N observed trials, per strategy, on continuous Hartmann-6 (6 float dims).
// Each strategy first runs its own study up to N trials; the timed ask then runs on fresh instances
// restored from that state (median of `reps`), wall and CPU time. BO reaches N through N random
// start-up trials, so its first model ask fits the kernel cold; it is timed again one trial later,
// refitting from the previous optimum as it does in a running study (`warm`, the steady state).
import type { JsonValue } from '../src/engine/json.js';
import type { StrategyFactory, StudyView, TrialRecord } from '../src/hpo/strategy.js';
import { runSimulated } from '../src/hpo/tabular-run.js';
import { hartmann6Continuous } from '../src/hpo/testfns.js';

export interface AskTiming {
  readonly strategy: string;
  readonly observed: number;
  /** Median wall-clock and CPU milliseconds of one ask(view, 1). */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** BO only: the first model ask (kernel fitted without a warm start). */
  readonly coldWallMs?: number;
  readonly coldCpuMs?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function timeAsk(factory: StrategyFactory, ctx: Parameters<StrategyFactory>[0], state: JsonValue, view: StudyView, reps: number) {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = factory(ctx);
    s.restore(state);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    s.ask(view, 1);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

export function askTimings(strategies: Readonly<Record<string, StrategyFactory>>, counts: readonly number[], reps = 3): AskTiming[] {
  const problem = hartmann6Continuous();
  const rows: AskTiming[] = [];
  for (const [name, factory] of Object.entries(strategies))
    for (const n of counts) {
      const options: Record<string, JsonValue> = name === 'bo' ? { startupTrials: n } : {};
      const ctx = { space: problem.space, objectives: problem.objectives, fidelity: problem.fidelity, seed: 1, options };
      const run = runSimulated(factory, problem, { budgetRounds: Number.POSITIVE_INFINITY, seed: 1, options, maxTrials: n });
      const t = timeAsk(factory, ctx, run.strategy.state(), run.view, reps);
      if (name !== 'bo') {
        rows.push({ strategy: name, observed: run.trials.length, ...t });
        continue;
      }
      // One model ask (cold), its trial observed, then the timed warm ask.
      const [s] = run.strategy.ask(run.view, 1);
      const trial: TrialRecord = {
        id: run.trials.length,
        config: s!.config,
        fidelity: s!.fidelity,
        status: 'complete',
        values: [problem.value(s!.config, s!.fidelity)],
        rounds: s!.fidelity,
      };
      const view = { ...run.view, trials: [...run.view.trials, trial] };
      const warm = timeAsk(factory, ctx, run.strategy.state(), view, reps);
      rows.push({ strategy: name, observed: view.trials.length, ...warm, coldWallMs: t.wallMs, coldCpuMs: t.cpuMs });
    }
  return rows;
}
