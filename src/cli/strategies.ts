// `fedhpo strategies`: every built-in search strategy and pruner, one line each (--json: with options).
import type { Argv } from 'yargs';
import type { z } from 'zod';
import { PRUNERS } from '../hpo/pruners/index.js';
import { STRATEGIES } from '../hpo/strategies/index.js';

interface Row {
  kind: 'strategy' | 'pruner';
  name: string;
  description: string;
  options: { name: string; description: string }[];
}

const optionRows = (schema: z.ZodObject) =>
  Object.entries(schema.shape).map(([name, s]) => ({ name, description: (s as z.ZodType).description ?? '' }));

export function strategyRows(): Row[] {
  return [
    ...Object.entries(STRATEGIES).map(([name, s]) => ({
      kind: 'strategy' as const,
      name,
      description: s.description,
      options: optionRows(s.options),
    })),
    ...Object.entries(PRUNERS).map(([name, p]) => ({
      kind: 'pruner' as const,
      name,
      description: p.description,
      options: optionRows(p.options),
    })),
  ];
}

export function strategiesCommand(y: Argv): Argv {
  return y.command(
    'strategies',
    'List the search strategies and pruners (a module path such as ./my-strategy.js works too)',
    (a) => a.option('json', { type: 'boolean', default: false, describe: 'print JSON rows with each option' }),
    async (a) => {
      const rows = strategyRows();
      if (a.json) return console.log(JSON.stringify(rows));
      const width = Math.max(...rows.map((r) => r.name.length)) + 2;
      for (const kind of ['strategy', 'pruner'] as const) {
        console.log(kind === 'strategy' ? 'Strategies (--strategy NAME or ./module.js):' : '\nPruners (--pruner NAME or ./module.js):');
        for (const r of rows.filter((x) => x.kind === kind)) console.log(`  ${r.name.padEnd(width)}${r.description}`);
      }
    },
  );
}
