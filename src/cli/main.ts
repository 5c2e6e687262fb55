#!/usr/bin/env node
// fedhpo command line: thin — parse, call a library function, print.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { demoCommand } from './demo.js';
import { modelCommands } from './model.js';
import { trainCommand } from './train.js';
import { UsageError } from './util.js';
import { ConfigError } from '../model/config.js';
import { CheckpointError } from '../model/safetensors.js';
import { DataError } from '../data/records.js';

const KNOWN = [UsageError, ConfigError, CheckpointError, DataError];

let cli = yargs(hideBin(process.argv))
  .scriptName('fedhpo')
  .usage('$0 <command> [options]\n\nFederated hyperparameter optimization for LoRA fine-tuning of language models.')
  .command('model', 'Model checkpoints: init, nll', (y) => modelCommands(y));
cli = trainCommand(cli);
cli = demoCommand(cli);
await cli
  .demandCommand(1, 'name a command (see --help)')
  .strict()
  .help()
  .fail((msg, err, y) => {
    if (err) {
      const known = KNOWN.some((k) => err instanceof k);
      console.error(`fedhpo: ${known ? err.message : (err.stack ?? err.message)}`);
    } else {
      console.error(`${y.help()}\n\nfedhpo: ${msg}`);
    }
    process.exit(2);
  })
  .parseAsync();
