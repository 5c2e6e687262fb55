// Hook: scheduler overhead per trial as a fraction of trial time (issue 10 target: under 1 %). It
// needs the study machinery (SchedulerActor, journal, trial runner), which is not on this branch:
// until the study engineer replaces this with a timed study run (its wall time minus the trials'
// own time, per trial, over the mean trial time), the bench prints null.
export async function schedulerOverheadPerTrial(): Promise<number | null> {
  return null;
}
