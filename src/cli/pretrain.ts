// `fedhpo pretrain`: reproduce (or vary) the shipped base model from its recipe.
import type { Argv } from 'yargs';
import { pretrain } from '../fl/pretrain.js';
import { loadPretrainConfig } from '../fl/pretrain-config.js';
import { progressFor } from './train.js';
import { numberFlag } from './flags.js';

export function pretrainCommand(y: Argv): Argv {
  return y.command(
    'pretrain',
    'Pretrain a small base model from a YAML recipe (corpus, BPE tokenizer, full-parameter training)',
    (a) =>
      a
        .option('config', { type: 'string', default: 'configs/pretrain-base.yaml', describe: 'recipe (YAML)' })
        .option('out', { type: 'string', describe: 'output directory (overrides the recipe)' })
        .option('steps', numberFlag('steps', 'optimizer steps (overrides the recipe)'))
        .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }),
    async (a) => {
      const cfg = await loadPretrainConfig(a.config);
      if (a.out) cfg.out = a.out;
      if (a.steps) cfg.train.steps = a.steps;
      const summary = await pretrain(cfg, {
        configFile: a.config,
        hooks: [progressFor(cfg.train.steps)],
        log: (l) => console.error(l),
      });
      if (a.json) console.log(JSON.stringify(summary));
      else
        console.log(
          `saved ${summary.outDir}: ${summary.params} params, ${summary.steps} steps, ${summary.trainTokens} tokens, ` +
            `train loss ${summary.firstLoss.toFixed(3)} -> ${summary.finalTrainLoss.toFixed(3)}, valid loss ${summary.validLoss.toFixed(3)}, ${summary.seconds.toFixed(0)} s`,
        );
    },
  );
}
