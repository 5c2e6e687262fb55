#!/usr/bin/env node
// fedhpo command line: thin — parse, call a library function, print.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchCommands } from './bench.js';
import { clientsCommands } from './clients.js';
import { dataCommands } from './data.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { flCommands } from './fl.js';
import { modelCommands } from './model.js';
import { plotCommands, reportCommand } from './plot.js';
import { pretrainCommand } from './pretrain.js';
import { strategiesCommand } from './strategies.js';
import { studyCommands } from './study.js';
import { trainCommand } from './train.js';
import { workerCommand } from './worker.js';
import { refuseRepeatedFlags } from './flags.js';
import { failureMessage, isUserFacing } from './util.js';

const base = yargs(hideBin(process.argv))
  .scriptName('fedhpo')
  .usage('$0 <command> [options]\n\nFederated hyperparameter optimization for LoRA fine-tuning of language models.')
  .command('model', 'Model checkpoints: init, nll', (y) => modelCommands(y))
  .command('data', 'Data: built-in tasks (list, inspect, export) and federated splits', (y) => dataCommands(y))
  .command('plot', 'Plots of studies: landscape, history, curves (PNG/SVG)', (y) => plotCommands(y))
  .command('study', 'Studies: run, resume, status, best, export', (y) => studyCommands(y))
  .command('clients', "A study's clients as a separate process (client tasks of FTS, FLoRA over NATS)", (y) => clientsCommands(y))
  .command('fl', 'Federated LoRA fine-tuning: run a trial (fed, global or local), or as separate server and client processes', (y) =>
    flCommands(y),
  )
  .command('bench', 'Tabular benchmark: record a grid once, replay strategies against it, export it', (y) => benchCommands(y));
const cli = [trainCommand, evalCommand, pretrainCommand, demoCommand, strategiesCommand, workerCommand, reportCommand].reduce(
  (y, add) => add(y),
  base,
);
/** The array flags of the running command: yargs' getOptions() (untyped in @types/yargs) holds its options then. */
const declaredArrays = (): string[] => (cli as unknown as { getOptions(): { array: string[] } }).getOptions().array;

await cli
  // async: a middleware's error reaches .fail only as a rejection.
  .middleware(async (argv) => refuseRepeatedFlags(argv, declaredArrays()))
  .demandCommand(1, 'name a command (see --help)')
  .strict()
  .help()
  .fail((msg, err) => {
    // One line either way (the command's --help has the rest).
    console.error(err ? failureMessage(err) : `fedhpo: ${msg.replace(/\s*\n\s*/g, ' ')} (see --help)`);
    // A user's mistake (bad flag or input) exits 2; a bug exits 1.
    process.exit(!err || isUserFacing(err) ? 2 : 1);
  })
  .parseAsync();
