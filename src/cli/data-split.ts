// `fedhpo data split`: the yargs command over dataSplit (src/data/split-file.ts).
import type { Argv } from 'yargs';
import { dataSplit, SPLITTERS, type SplitterName } from '../data/split-file.js';
import { numberFlag } from './flags.js';

/** Registers `split` (wired in as `fedhpo data split`). */
export function dataSplitCommand(y: Argv): Argv {
  return y.command(
    'split',
    'Split a JSONL/JSON data file into per-client files: iid, by a meta field, or Dirichlet label skew',
    (a) =>
      a
        .option('in', { type: 'string', demandOption: true, describe: 'JSONL or JSON-array data file' })
        .option('splitter', {
          choices: SPLITTERS,
          demandOption: true,
          describe: 'iid: uniform; meta: one client per value of --by; dirichlet: label skew',
        })
        .option('by', { type: 'string', default: 'category', describe: 'field that labels a record (meta, dirichlet; histogram for iid)' })
        .option('alpha', numberFlag('alpha', 'dirichlet concentration: large is near-uniform, small (< 1) is skewed'))
        .option('clients', numberFlag('clients', 'number of clients (meta: merge values down to N; default one per value)'))
        .option('seed', numberFlag('seed', 'random seed', 0))
        .option('out', { type: 'string', demandOption: true, describe: 'output directory for client_<i>.jsonl and split.json' })
        .option('min-size', numberFlag('min-size', 'dirichlet: fail unless every client gets at least this many records (default 1)'))
        .option('allow-empty', { type: 'boolean', default: false, describe: 'dirichlet: allow empty (or below --min-size) clients' })
        .option('json', { type: 'boolean', default: false, describe: 'print split.json instead of the table' }),
    async (a) => {
      const r = await dataSplit({
        input: a.in,
        splitter: a.splitter as SplitterName,
        by: a.by,
        alpha: a.alpha,
        clients: a.clients,
        seed: a.seed,
        out: a.out,
        minSize: a['min-size'],
        allowEmpty: a['allow-empty'],
      });
      for (const line of r.skipped.slice(0, 10)) console.error(`skipped ${line}`);
      if (r.skipped.length > 10) console.error(`... and ${r.skipped.length - 10} more skipped records in ${a.in}`);
      console.log(a.json ? JSON.stringify(r.summary, null, 2) : r.table);
    },
  );
}
