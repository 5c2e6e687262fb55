// loadStudyData(dir): the one place that maps a study directory onto StudyData, so the plots and
// the report never read journals themselves. It reads DIR/journal.jsonl, one JSON event a line:
//
//   {"type":"study","name":"lr-sweep","strategy":"random",
//    "space":{"train.lr":{"type":"float","low":0.0001,"high":0.1,"log":true}, ...},
//    "objectives":[{"name":"val_loss","direction":"minimize"},{"name":"score","direction":"maximize"}]}
//   {"type":"trial","trial":{<a TrialRecord: id, config, fidelity, status, values, curve, metrics, rounds, ...>}}
//
// - one `study` event (the header; `name` optional), anywhere before or among the trials;
// - a `trial` event per finished trial; a later event for the same id replaces the earlier one
//   (a trial that was re-run, or written when it started and again when it ended);
// - events of any other type are skipped, so the journal can also carry asks, rounds, heartbeats;
// - an unreadable last line is skipped (a write torn by a crash); any other is an error naming it.
// A trial may also carry `scoreCurve` (the score per round, StudyTrial). Numbers that JSON cannot
// hold (NaN of a diverged trial) are written as null.
import { z } from 'zod';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';
import { parseSpace } from './space.js';
import type { StudyData, StudyTrial } from './study-data.js';

export const JOURNAL_FILE = 'journal.jsonl';

/** Journals hold every trial's curve; a few thousand trials stay far below this. */
const MAX_JOURNAL_BYTES = 512 << 20;

export class StudyDataError extends UserError {
  override name = 'StudyDataError';
}

const finite = z.number().finite();
/** JSON has no NaN or Infinity: a diverged trial's value is written as null and read back as NaN. */
const measured = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);
const roundValues = z.array(z.object({ round: z.number().int().nonnegative(), value: measured }));
const json: z.ZodType<import('../engine/json.js').JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]),
);

const TrialSchema = z.object({
  id: z.number().int().nonnegative(),
  config: z.record(z.string(), z.union([finite, z.string(), z.boolean()])),
  fidelity: z.number().int().nonnegative(),
  parent: z.object({ id: z.number().int().nonnegative(), round: z.number().int().nonnegative() }).optional(),
  status: z.enum(['running', 'complete', 'failed', 'diverged', 'pruned']),
  values: z.array(measured).optional(),
  curve: roundValues.optional(),
  scoreCurve: roundValues.optional(),
  metrics: z.record(z.string(), measured).optional(),
  reason: z.string().optional(),
  rounds: z.number().nonnegative(),
  meta: json.optional(),
});

const HeaderSchema = z.object({
  type: z.literal('study'),
  name: z.string().optional(),
  strategy: z.string().min(1),
  space: z.record(z.string(), z.unknown()),
  objectives: z.array(z.object({ name: z.string().min(1), direction: z.enum(['minimize', 'maximize']) })).min(1),
});

const TrialEventSchema = z.object({ type: z.literal('trial'), trial: TrialSchema });

function issueText(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

/** Parses journal text (see the file comment); `file` names it in errors. */
export function parseStudyJournal(text: string, file = JOURNAL_FILE): StudyData {
  const lines = text.split('\n');
  while (lines.length && lines.at(-1)!.trim() === '') lines.pop();
  let header: z.infer<typeof HeaderSchema> | undefined;
  const trials = new Map<number, StudyTrial>();
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const where = `${file}:${i + 1}`;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (e) {
      if (i === lines.length - 1) break; // torn last write
      throw new StudyDataError(`${where}: not JSON: ${(e as Error).message}`);
    }
    const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    if (type === 'study') {
      if (header) throw new StudyDataError(`${where}: a second study header`);
      const h = HeaderSchema.safeParse(event);
      if (!h.success) throw new StudyDataError(`${where}: study header: ${issueText(h.error)}`);
      header = h.data;
    } else if (type === 'trial') {
      const t = TrialEventSchema.safeParse(event);
      if (!t.success) throw new StudyDataError(`${where}: trial: ${issueText(t.error)}`);
      trials.set(t.data.trial.id, t.data.trial);
    }
  }
  if (!header) throw new StudyDataError(`${file}: no study header ({"type":"study", ...}) in the journal`);
  let space: StudyData['space'];
  try {
    // parseSpace checks its `where` prefix as part of the dotted name, so the file goes in front afterwards.
    space = parseSpace(header.space);
  } catch (e) {
    throw new StudyDataError(`${file}: ${(e as Error).message}`);
  }
  return {
    ...(header.name !== undefined ? { name: header.name } : {}),
    strategy: header.strategy,
    space,
    objectives: header.objectives,
    trials: [...trials.values()].sort((a, b) => a.id - b.id),
  };
}

/** The study in DIR, from DIR/journal.jsonl. */
export async function loadStudyData(dir: string): Promise<StudyData> {
  const file = `${dir.replace(/\/+$/, '')}/${JOURNAL_FILE}`;
  const text = await readRegularText(file, { maxBytes: MAX_JOURNAL_BYTES }).catch((e: unknown) => {
    if (e instanceof UserError && /no such file/.test(e.message))
      throw new StudyDataError(`${dir}: no ${JOURNAL_FILE} (is this a study directory?)`);
    throw e;
  });
  return parseStudyJournal(text, file);
}

/** A study as journal text in the shape loadStudyData reads: for examples, tests, and whoever writes journals. */
export function formatStudyJournal(study: StudyData): string {
  const header = {
    type: 'study',
    ...(study.name !== undefined ? { name: study.name } : {}),
    strategy: study.strategy,
    space: Object.fromEntries(study.space),
    objectives: study.objectives,
  };
  const events = [header, ...study.trials.map((trial) => ({ type: 'trial', trial }))];
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}
