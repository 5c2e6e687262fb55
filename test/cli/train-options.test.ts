// `fedhpo train` without training flags is LORA_RECIPE, value for value, and task names are the
// registry's own (not Object.prototype's).
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { finetuneOptions, trainOptions } from '../../src/cli/train.js';
import { UsageError } from '../../src/cli/util.js';
import { LORA_RECIPE, SGD_MOMENTUM } from '../../src/fl/recipes.js';

const parse = (...args: string[]) => finetuneOptions(trainOptions(yargs(['--model', 'm', '--out', 'o', ...args])).parseSync());

describe('fedhpo train options', () => {
  it('defaults to every value of the recipe', () => {
    const o = parse('--task', 'arith');
    const { model: _m, data, valid, outDir, ...training } = o;
    expect(training).toEqual(LORA_RECIPE);
    expect(data).toEqual({ task: 'arith', split: 'train' });
    expect(valid).toEqual({ task: 'arith', split: 'validation' });
    expect(outDir).toBe('o');
  });

  it('--optimizer sgd keeps the recipe weight decay and takes SGD_MOMENTUM', () => {
    expect(parse('--data', 'x.jsonl', '--optimizer', 'sgd').optimizer).toEqual({
      kind: 'sgd',
      momentum: SGD_MOMENTUM,
      weightDecay: LORA_RECIPE.optimizer.weightDecay,
    });
  });

  it('--peft-method selects a method with its settings (LoRA stays the recipe)', () => {
    expect(parse('--task', 'arith', '--peft-method', 'prefix', '--num-virtual-tokens', '4', '--prefix-projection').peft).toEqual({
      method: 'prefix',
      numVirtualTokens: 4,
      promptInit: 'vocab',
      encoderHiddenSize: 64,
      prefixProjection: true,
    });
    expect(parse('--task', 'arith', '--peft-method', 'lora').peft).toBeUndefined();
  });

  it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty'])('--task %s is an unknown task', (name) => {
    expect(() => parse('--task', name)).toThrow(UsageError);
    expect(() => parse('--task', name)).toThrow(`--task: unknown task '${name}' (known: arith, code, instruct)`);
  });
});
