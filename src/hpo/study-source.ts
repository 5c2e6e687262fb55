// What the analysis commands read: a study directory (its journal) or a recorded bench table (a
// .jsonl file, observed at one of its scored rounds), both as StudyData, so every plot, the report
// and the rank printouts take either.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../engine/errors.js';
import { benchRound, benchStudyData, benchTableName } from './bench-study.js';
import { readBenchTable } from './bench-table.js';
import type { StudyData } from './study-data.js';
import { loadStudyData } from './study-journal.js';

export interface AnalysisSource {
  readonly kind: 'study' | 'table';
  readonly study: StudyData;
  /** Where outputs go by default: the study directory, or beside a table a directory named after it. */
  readonly outDir: string;
  /** The round a table is observed at (undefined for a study). */
  readonly round?: number;
}

/** A study directory or a bench table file; `round` (a table's scored round, default its max) only for a table. */
export async function loadAnalysisSource(path: string, options: { round?: number } = {}): Promise<AnalysisSource> {
  const isFile = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) {
    if (options.round !== undefined)
      throw new UserError(`--round: ${path} is a study directory; --round observes a bench table (a .jsonl file) at a round`);
    return { kind: 'study', study: await loadStudyData(path), outDir: path };
  }
  const table = await readBenchTable(path);
  const round = benchRound(table, options.round);
  return { kind: 'table', study: benchStudyData(table, { round }), outDir: join(dirname(path), benchTableName(table)), round };
}
