#!/usr/bin/env node
// fedhpo command line: thin — parse, call a library function, print.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { TokenizerFormatError } from '../data/bpe/index.js';
import { DataError } from '../data/records.js';
import { ConfigFileError } from '../fl/pretrain-config.js';
import { ConfigError } from '../model/config.js';
import { CheckpointError } from '../model/safetensors.js';
import { dataCommands } from './data.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { modelCommands } from './model.js';
import { pretrainCommand } from './pretrain.js';
import { trainCommand } from './train.js';
import { UsageError } from './util.js';

const KNOWN = [UsageError, ConfigError, CheckpointError, DataError, ConfigFileError, TokenizerFormatError];

const base = yargs(hideBin(process.argv))
  .scriptName('fedhpo')
  .usage('$0 <command> [options]\n\nFederated hyperparameter optimization for LoRA fine-tuning of language models.')
  .command('model', 'Model checkpoints: init, nll', (y) => modelCommands(y))
  .command('data', 'Data: built-in tasks (list, inspect, export) and federated splits', (y) => dataCommands(y));
const cli = [trainCommand, evalCommand, pretrainCommand, demoCommand].reduce((y, add) => add(y), base);
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
