// Bad-input cases of the model, train, eval and data commands: [name, args, needles]; every needle
// must appear in the one stderr line (the file or flag, and the problem).
import type { HostileCase } from './case.js';

export function modelDataCases(at: (...p: string[]) => string): HostileCase[] {
  const nll = (model: string, tokens = at('tokens.json'), ...more: string[]) => [
    'model',
    'nll',
    '--model',
    model,
    '--tokens',
    tokens,
    ...more,
  ];
  // One bad flag over good inputs (every other flag at its default).
  const trainOut = (...more: string[]) => ['train', '--model', at('model'), '--data', at('data.jsonl'), '--out', at('never'), ...more];
  const train = (...more: string[]) => ['train', '--model', at('model'), '--seq-len', '64', ...more];
  const trainData = (data: string) => train('--data', at(data), '--out', at('never'));
  const evalArgs = (...more: string[]) => ['eval', '--model', at('model'), '--task', 'arith', ...more];
  const splitOf = (input: string, ...more: string[]) => ['data', 'split', '--in', input, '--splitter', 'iid', '--clients', '2', ...more];
  const split = (...more: string[]) => splitOf(at('data.jsonl'), ...more);
  const m = (name: string) => at(name, 'model.safetensors');
  return [
    // model init: configs
    [
      'model init: malformed JSON',
      ['model', 'init', '--config', at('cfg-malformed.json'), '--out', at('never')],
      [at('cfg-malformed.json'), 'invalid JSON'],
    ],
    [
      'model init: wrong type',
      ['model', 'init', '--config', at('cfg-wrong-type.json'), '--out', at('never')],
      [at('cfg-wrong-type.json'), 'hidden_size'],
    ],
    [
      'model init: vocab 2^40',
      ['model', 'init', '--config', at('cfg-huge.json'), '--out', at('never')],
      [at('cfg-huge.json'), "'vocab_size' is 1099511627776, over the limit"],
    ],
    [
      'model init: deep nesting',
      ['model', 'init', '--config', at('cfg-deep.json'), '--out', at('never')],
      [at('cfg-deep.json'), 'vocab_size'],
    ],
    ['model init: __proto__ key', ['model', 'init', '--config', at('cfg-proto.json'), '--out', at('never')], [at('cfg-proto.json')]],
    ['model init: an array', ['model', 'init', '--config', at('cfg-array.json'), '--out', at('never')], [at('cfg-array.json')]],
    [
      'model init: rope_scaling yarn',
      ['model', 'init', '--config', at('cfg-rope-yarn.json'), '--out', at('never')],
      [at('cfg-rope-yarn.json'), '\'rope_scaling.rope_type\' is "yarn"', 'not supported'],
    ],
    [
      'model init: model_type mistral',
      ['model', 'init', '--config', at('cfg-mistral.json'), '--out', at('never')],
      [at('cfg-mistral.json'), "'model_type'", '"mistral"'],
    ],
    ['model init: missing file', ['model', 'init', '--config', at('nope.json'), '--out', at('never')], [at('nope.json'), 'no such file']],
    [
      'model init: directory as config',
      ['model', 'init', '--config', at('out-dir'), '--out', at('never')],
      [at('out-dir'), 'not a regular file'],
    ],
    [
      'model init: FIFO config',
      ['model', 'init', '--config', at('tokens-fifo.json'), '--out', at('never')],
      [at('tokens-fifo.json'), 'not a regular file'],
    ],
    [
      'model init: --out is a file',
      ['model', 'init', '--config', at('cfg.json'), '--out', at('out-file')],
      [`--out ${at('out-file')}`, 'not a directory'],
    ],
    ['model init: --seed NaN', ['model', 'init', '--config', at('cfg.json'), '--out', at('never'), '--seed', 'NaN'], ['--seed', "'NaN'"]],
    // model nll: checkpoints
    ['model nll: truncated safetensors', nll(at('model-truncated')), [m('model-truncated')]],
    ['model nll: safetensors cut in its header', nll(at('model-header-cut')), [m('model-header-cut')]],
    ['model nll: safetensors header length 2^60', nll(at('model-header-huge')), [m('model-header-huge')]],
    ['model nll: config/tensor mismatch', nll(at('model-mismatch')), [m('model-mismatch')]],
    ['model nll: NaN weight', nll(at('model-nan')), [m('model-nan'), 'NaN']],
    ['model nll: Inf weight', nll(at('model-inf')), [m('model-inf'), 'Infinity']],
    ['model nll: FIFO safetensors', nll(at('model-fifo')), [m('model-fifo'), 'not a regular file']],
    ['model nll: safetensors -> /dev/zero', nll(at('model-zero')), [m('model-zero'), 'not a regular file']],
    ['model nll: directory as safetensors', nll(at('model-dir')), [m('model-dir'), 'not a regular file']],
    ['model nll: config.json -> /dev/zero', nll(at('model-config-zero')), [at('model-config-zero', 'config.json'), 'not a regular file']],
    ['model nll: deep config.json', nll(at('model-config-deep')), [at('model-config-deep', 'config.json')]],
    ['model nll: 1e9 layers', nll(at('model-config-layers')), [at('model-config-layers', 'config.json'), 'num_hidden_layers']],
    [
      'model nll: qwen2 sliding window',
      nll(at('model-config-sliding')),
      [at('model-config-sliding', 'config.json'), "'use_sliding_window' is true", 'layer 1'],
    ],
    ['model nll: missing model dir', nll(at('no-model')), [at('no-model')]],
    ['model nll: a file as model dir', nll(at('out-file')), [at('out-file')]],
    // model nll: tokens and adapters
    ['model nll: malformed tokens', nll(at('model'), at('tokens-malformed.json')), [at('tokens-malformed.json')]],
    ['model nll: deep tokens', nll(at('model'), at('tokens-deep.json')), [at('tokens-deep.json')]],
    ['model nll: token 1e308', nll(at('model'), at('tokens-huge.json')), [at('tokens-huge.json'), '1e+308']],
    ['model nll: tokens keyed __proto__', nll(at('model'), at('tokens-proto.json')), [at('tokens-proto.json')]],
    ['model nll: FIFO tokens', nll(at('model'), at('tokens-fifo.json')), [at('tokens-fifo.json'), 'not a regular file']],
    ['model nll: tokens -> /dev/zero', nll(at('model'), at('tokens-zero.json')), [at('tokens-zero.json'), 'not a regular file']],
    ['model nll: directory as tokens', nll(at('model'), at('tokens-dir.json')), [at('tokens-dir.json'), 'not a regular file']],
    [
      'model nll: malformed adapter config',
      nll(at('model'), at('tokens.json'), '--adapter', at('adapter-malformed')),
      [at('adapter-malformed', 'adapter_config.json')],
    ],
    [
      'model nll: adapter r 1e9',
      nll(at('model'), at('tokens.json'), '--adapter', at('adapter-huge-r')),
      [at('adapter-huge-r', 'adapter_config.json')],
    ],
    [
      'model nll: adapter target toString',
      nll(at('model'), at('tokens.json'), '--adapter', at('adapter-wrong-target')),
      [at('adapter-wrong-target', 'adapter_config.json'), 'toString'],
    ],
    [
      'model nll: truncated adapter',
      nll(at('model'), at('tokens.json'), '--adapter', at('adapter-truncated')),
      [at('adapter-truncated', 'adapter_model.safetensors')],
    ],
    ['model nll: --threads -1', nll(at('model'), at('tokens.json'), '--threads', '-1'), ['--threads', '-1']],
    ['model nll: --batch-size abc', nll(at('model'), at('tokens.json'), '--batch-size', 'abc'), ['--batch-size', "'abc'"]],
    // train
    ['train: --lr Infinity', trainOut('--lr', 'Infinity'), ['--lr', "'Infinity'"]],
    ['train: --lr NaN', trainOut('--lr', 'NaN'), ['--lr', "'NaN'"]],
    ['train: --threads abc', trainOut('--threads', 'abc'), ['--threads', "'abc'"]],
    ['train: --lora-r 1e9', trainOut('--lora-r', '1000000000'), ['--lora-r', '1000000000']],
    ['train: --steps -5', trainOut('--steps', '-5'), ['--steps', '-5']],
    ['train: --batch-size toString', trainOut('--batch-size', 'toString'), ['--batch-size', "'toString'"]],
    ['train: --lora-dropout 1', trainOut('--lora-dropout', '1'), ['--lora-dropout', 'got 1']],
    ['train: --seq-len 1e9', trainOut('--seq-len', '1000000000'), ['--seq-len 1000000000', 'max_position_embeddings 128']],
    [
      'train: --task __proto__',
      ['train', '--model', at('model'), '--task', '__proto__', '--out', at('never')],
      ["--task: unknown task '__proto__'"],
    ],
    ['train: --out is an existing file', train('--data', at('data.jsonl'), '--out', at('out-file')), [at('out-file'), 'not a directory']],
    [
      'train: --out under a file',
      train('--data', at('data.jsonl'), '--out', at('out-file', 'adapter')),
      [at('out-file', 'adapter'), 'not a directory'],
    ],
    ['train: malformed JSON array data', trainData('data-malformed.json'), [at('data-malformed.json'), 'invalid JSON']],
    ['train: only over-deep records', trainData('data-deep.jsonl'), [at('data-deep.jsonl'), 'no valid']],
    ['train: GSM8K records without answer', trainData('data-no-answer.jsonl'), [at('data-no-answer.jsonl'), "missing field 'answer'"]],
    ['train: FIFO data', trainData('data-fifo.jsonl'), [at('data-fifo.jsonl'), 'not a regular file']],
    ['train: data -> /dev/zero', trainData('data-zero.jsonl'), [at('data-zero.jsonl'), 'not a regular file']],
    ['train: directory as data', trainData('data-dir.jsonl'), [at('data-dir.jsonl'), 'not a regular file']],
    ['train: missing data', trainData('nope.jsonl'), [at('nope.jsonl'), 'no such file']],
    [
      'train: NaN weights',
      ['train', '--model', at('model-nan'), '--data', at('data.jsonl'), '--out', at('never'), '--seq-len', '64'],
      [m('model-nan'), 'NaN'],
    ],
    // eval
    ['eval: --seed abc', evalArgs('--seed', 'abc'), ['--seed', "'abc'"]],
    ['eval: --task toString', ['eval', '--model', at('model'), '--task', 'toString'], ["--task: unknown task 'toString'"]],
    ['eval: --task constructor', ['eval', '--model', at('model'), '--task', 'constructor'], ["--task: unknown task 'constructor'"]],
    ['eval: --limit -1', evalArgs('--limit', '-1'), ['--limit', '-1']],
    ['eval: --max-new-tokens Infinity', evalArgs('--max-new-tokens', 'Infinity'), ['--max-new-tokens', "'Infinity'"]],
    ['eval: truncated model', ['eval', '--model', at('model-truncated'), '--task', 'arith', '--limit', '2'], [m('model-truncated')]],
    ['eval: malformed adapter', evalArgs('--adapter', at('adapter-malformed')), [at('adapter-malformed', 'adapter_config.json')]],
    // data list / inspect / export
    ['data list: unknown argument', ['data', 'list', '--bogus'], ['Unknown argument', 'bogus']],
    ['data inspect: __proto__', ['data', 'inspect', '__proto__'], ["unknown task '__proto__'"]],
    ['data inspect: --samples -1', ['data', 'inspect', 'arith', '--samples', '-1'], ['--samples', '-1']],
    ['data export: hasOwnProperty', ['data', 'export', 'hasOwnProperty', '--out', at('never.jsonl')], ["unknown task 'hasOwnProperty'"]],
    ['data export: --seed 1e400', ['data', 'export', 'arith', '--out', at('never.jsonl'), '--seed', '1e400'], ['--seed']],
    [
      'data export: --out is a directory',
      ['data', 'export', 'arith', '--out', at('out-dir')],
      [`--out ${at('out-dir')}`, 'not a regular file'],
    ],
    // data split
    [
      'data split: --clients NaN',
      ['data', 'split', '--in', at('data.jsonl'), '--splitter', 'iid', '--clients', 'NaN', '--out', at('never')],
      ['--clients', "'NaN'"],
    ],
    [
      'data split: --clients 1e9',
      ['data', 'split', '--in', at('data.jsonl'), '--splitter', 'iid', '--clients', '1000000000', '--out', at('never')],
      ['--clients', '1000000000'],
    ],
    [
      'data split: --alpha -1',
      ['data', 'split', '--in', at('data.jsonl'), '--splitter', 'dirichlet', '--clients', '2', '--alpha', '-1', '--out', at('never')],
      ['--alpha', '-1'],
    ],
    ['data split: --out is a file', split('--out', at('out-file')), [`--out ${at('out-file')}`, 'not a directory']],
    [
      'data split: --out holds a client file it did not write',
      split('--out', at('out-foreign')),
      [at('out-foreign'), 'client_0.jsonl is there and no earlier split wrote it'],
    ],
    [
      'data split: GSM8K without answer',
      splitOf(at('data-no-answer.jsonl'), '--out', at('never')),
      [at('data-no-answer.jsonl'), "missing field 'answer'"],
    ],
    ['data split: FIFO input', splitOf(at('data-fifo.jsonl'), '--out', at('never')), [at('data-fifo.jsonl'), 'not a regular file']],
    ['data split: input -> /dev/zero', splitOf(at('data-zero.jsonl'), '--out', at('never')), [at('data-zero.jsonl'), 'not a regular file']],
    ['data split: records keyed __proto__', splitOf(at('data-proto.jsonl'), '--out', at('never')), [at('data-proto.jsonl')]],
  ];
}
