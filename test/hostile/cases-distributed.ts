// Bad-input cases of the commands that landed after the suite was written: fl server / client /
// clients / dismiss and clients serve (a --nats URL that cannot work is refused before connecting,
// 127.0.0.1:1 refuses at once, so nothing waits for a server), bench record / replay / export over
// corrupt, torn and foreign tables, eval --data on users' files, and FL / study configs whose
// `data: {clients, valid, test}` names a split directory that is missing, garbled or out of date.
import type { HostileCase } from './case.js';

export function distributedCases(at: (...p: string[]) => string): HostileCase[] {
  const nowhere = ['--nats', 'nats://127.0.0.1:1'];
  const serverTo = (out: string, config: string, ...more: string[]) => [
    'fl',
    'server',
    '--config',
    at(config),
    '--out',
    at(out),
    ...nowhere,
    ...more,
  ];
  const server = (config: string, ...more: string[]) => serverTo('never', config, ...more);
  const client = (...more: string[]) => ['fl', 'client', '--id', 'c0', '--data', at('data.jsonl'), '--model', at('model'), ...more];
  const serve = (config: string, ...more: string[]) => ['clients', 'serve', at(config), ...more];
  const replay = (table: string, ...more: string[]) => ['bench', 'replay', at(table), '--strategy', 'random', '--seeds', '2', ...more];
  const exportOf = (table: string, ...more: string[]) => ['bench', 'export', at(table), ...more];
  const record = (config: string, out: string, ...more: string[]) => ['bench', 'record', at(config), '--out', at(out), ...more];
  const evalData = (data: string, ...more: string[]) => ['eval', '--model', at('model'), '--data', at(data), ...more];
  const flFiles = (name: string) => ['fl', 'run', '--config', at(`fl-files-${name}.yaml`), '--out', at('never')];
  const notRegular = (file: string) => [at(file), 'not a regular file'];
  return [
    // fl server
    ['fl server: no --nats', ['fl', 'server', '--config', at('fl.yaml'), '--out', at('never')], ['fl server: --nats URL is required']],
    [
      'fl server: --nats http://',
      ['fl', 'server', '--config', at('fl.yaml'), '--out', at('never'), '--nats', 'http://x:1'],
      ['--nats http://x:1', 'scheme http:'],
    ],
    ['fl server: malformed config', server('fl-malformed.yaml'), [at('fl-malformed.yaml'), 'invalid YAML']],
    ['fl server: --clients ,', server('fl.yaml', '--clients', ','), ['--clients: no client id given']],
    ['fl server: --clients c0,c0', server('fl.yaml', '--clients', 'c0,c0'), ['--clients c0,c0', 'distinct']],
    ['fl server: --out is an existing file', serverTo('out-file', 'fl.yaml'), [`--out ${at('out-file')}`, 'not a directory']],
    [
      'fl server: --nats-creds -> /dev/zero',
      server('fl.yaml', '--nats-creds', at('data-zero.jsonl')),
      ['--nats-creds', ...notRegular('data-zero.jsonl')],
    ],
    ['fl server: split.json disagrees', server('fl-files-size.yaml'), [at('split-size', 'client_0.jsonl'), 'split.json says']],
    ['fl server: unreachable server', server('fl.yaml'), ['NATS at nats://127.0.0.1:1', 'cannot connect']],
    // fl client
    ['fl client: no --nats', client(), ['fl client: --nats URL is required']],
    ['fl client: --id with a subject wildcard', ['fl', 'client', '--id', 'c0.*', '--data', at('data.jsonl'), ...nowhere], ['--id "c0.*"']],
    [
      'fl client: malformed config',
      ['fl', 'client', '--id', 'c0', '--data', at('data.jsonl'), '--config', at('fl-malformed.yaml'), ...nowhere],
      [at('fl-malformed.yaml'), 'invalid YAML'],
    ],
    [
      'fl client: directory as config',
      ['fl', 'client', '--id', 'c0', '--data', at('data.jsonl'), '--config', at('out-dir'), ...nowhere],
      notRegular('out-dir'),
    ],
    [
      'fl client: model safetensors -> /dev/zero',
      ['fl', 'client', '--id', 'c0', '--data', at('data.jsonl'), '--model', at('model-zero'), ...nowhere],
      notRegular('model-zero/model.safetensors'),
    ],
    [
      'fl client: --nats-nkey not a seed',
      client(...nowhere, '--nats-nkey', at('out-file')),
      [`--nats-nkey ${at('out-file')}`, 'not an nkey seed'],
    ],
    [
      'fl client: --nats-tls-ca is a FIFO',
      client(...nowhere, '--nats-tls-ca', at('data-fifo.jsonl')),
      ['--nats-tls-ca', ...notRegular('data-fifo.jsonl')],
    ],
    [
      'fl client: FIFO data, no server',
      ['fl', 'client', '--id', 'c0', '--data', at('data-fifo.jsonl'), '--model', at('model'), ...nowhere],
      ['fl client c0: --data', ...notRegular('data-fifo.jsonl'), 'cannot connect'],
    ],
    [
      'fl client: directory as --valid, no server',
      ['fl', 'client', '--id', 'c0', '--data', at('data.jsonl'), '--valid', at('data-dir.jsonl'), '--model', at('model'), ...nowhere],
      ['--valid', ...notRegular('data-dir.jsonl')],
    ],
    ['fl client: unreachable server', client(...nowhere), ['NATS at nats://127.0.0.1:1', 'cannot connect']],
    // fl dismiss
    ['fl dismiss: no --nats', ['fl', 'dismiss', '--study', 's'], ['fl dismiss: --nats URL is required']],
    ['fl dismiss: --study a*', ['fl', 'dismiss', '--study', 'a*', ...nowhere], ['--study "a*"', "'*'"]],
    // fl clients
    [
      'fl clients: malformed config',
      ['fl', 'clients', '--config', at('fl-malformed.yaml'), '--out', at('never')],
      [at('fl-malformed.yaml')],
    ],
    [
      'fl clients: --out is an existing file',
      ['fl', 'clients', '--config', at('fl.yaml'), '--out', at('out-file')],
      [`--out ${at('out-file')}`, 'not a directory'],
    ],
    [
      "fl clients: --out holds the user's client file",
      ['fl', 'clients', '--config', at('fl.yaml'), '--out', at('out-clients')],
      [`--out ${at('out-clients')}`, 'c1.valid.jsonl is there'],
    ],
    [
      'fl clients: garbled split.json',
      ['fl', 'clients', '--config', at('fl-files-garbled.yaml'), '--out', at('never')],
      [at('split-garbled', 'split.json'), 'invalid JSON'],
    ],
    // clients serve
    ['clients serve: no --nats', serve('study.yaml'), ['clients serve: give --nats']],
    ['clients serve: --max-seconds 0', serve('study.yaml', ...nowhere, '--max-seconds', '0'), ['--max-seconds', 'got 0']],
    ['clients serve: --ids ,', serve('study.yaml', ...nowhere, '--ids', ','), ['--ids: no client id given']],
    ['clients serve: --ids c0,c0', serve('study.yaml', ...nowhere, '--ids', 'c0,c0'), ['--ids c0,c0', 'distinct']],
    ['clients serve: --ids unknown', serve('study.yaml', ...nowhere, '--ids', 'c0,zz'), ['--ids zz', 'not clients of the study']],
    [
      'clients serve: split.json disagrees',
      serve('study-files-size.yaml', ...nowhere),
      [at('split-size', 'client_0.jsonl'), 'split.json says'],
    ],
    // bench record
    ['bench record: continuous space', record('bench-continuous.yaml', 'never.jsonl'), ['space.train.lr', 'grid']],
    ['bench record: --score-rounds abc', record('bench.yaml', 'never.jsonl', '--score-rounds', 'abc'), ['--score-rounds abc']],
    ['bench record: --score-rounds 99', record('bench.yaml', 'never.jsonl', '--score-rounds', '99'), ['score rounds: 99']],
    [
      'bench record: table of another recipe',
      record('bench.yaml', 'table-other-recipe.jsonl'),
      [at('table-other-recipe.jsonl'), 'another recipe'],
    ],
    ['bench record: garbled table', record('bench.yaml', 'table-garbled.jsonl'), [`${at('table-garbled.jsonl')} line 3`, 'not JSON']],
    ['bench record: --out is a directory', record('bench.yaml', 'out-dir'), [at('out-dir'), 'not a regular file']],
    ['bench record: --out is a FIFO', record('bench.yaml', 'data-fifo.jsonl'), notRegular('data-fifo.jsonl')],
    ['bench record: --out -> /dev/zero', record('bench.yaml', 'data-zero.jsonl'), notRegular('data-zero.jsonl')],
    ["bench record: --out is a user's one-line file", record('bench.yaml', 'out-no-newline'), [at('out-no-newline'), 'not a bench table']],
    ['bench record: --out is an existing file', record('bench.yaml', 'out-file'), [`${at('out-file')} line 1`, 'not JSON']],
    // bench replay / export
    ['bench replay: --min-rounds past the table', replay('table.jsonl', '--min-rounds', '5'), ['min round 5', '1..2']],
    ['bench replay: header cut short', replay('table-header-cut.jsonl'), [at('table-header-cut.jsonl'), 'no header line']],
    ['bench replay: rows of another space', replay('table-other-space.jsonl'), [`${at('table-other-space.jsonl')} line 2`, 'train.lr']],
    ['bench replay: FIFO table', replay('data-fifo.jsonl'), notRegular('data-fifo.jsonl')],
    ['bench replay: missing table', replay('nope.jsonl'), [at('nope.jsonl'), 'no such bench table']],
    ['bench replay: --seeds 0', ['bench', 'replay', at('table.jsonl'), '--strategy', 'random', '--seeds', '0'], ['--seeds', 'got 0']],
    ['bench replay: --budget abc', replay('table.jsonl', '--budget', 'abc'), ['--budget abc']],
    ['bench replay: --strategy ,', ['bench', 'replay', at('table.jsonl'), '--strategy', ','], ['--strategy: no strategy given']],
    [
      'bench replay: strategy module is a FIFO',
      ['bench', 'replay', at('table.jsonl'), '--strategy', at('data-fifo.jsonl')],
      notRegular('data-fifo.jsonl'),
    ],
    ['bench replay: client-task strategy', ['bench', 'replay', at('table.jsonl'), '--strategy', 'fts'], ['strategy fts', 'client task']],
    ['bench replay: --plot .txt', replay('table.jsonl', '--plot', at('never.txt')), [`--plot ${at('never.txt')}`, '.svg or .png']],
    [
      'bench replay: --plot is a FIFO',
      replay('table.jsonl', '--plot', at('plot-fifo.svg')),
      [`--plot ${at('plot-fifo.svg')}`, 'not a regular file'],
    ],
    ['bench export: garbled table', exportOf('table-garbled.jsonl'), [`${at('table-garbled.jsonl')} line 3`, 'not JSON']],
    [
      'bench export: header of another format',
      exportOf('table-wrong-format.jsonl'),
      [`${at('table-wrong-format.jsonl')} line 1`, 'format'],
    ],
    ['bench export: val_loss a string', exportOf('table-row-nan.jsonl'), [`${at('table-row-nan.jsonl')} line 2`, 'val_loss']],
    ['bench export: rows of another space', exportOf('table-other-space.jsonl'), [`${at('table-other-space.jsonl')} line 2`, 'header']],
    ['bench export: table -> /dev/zero', exportOf('data-zero.jsonl'), notRegular('data-zero.jsonl')],
    [
      'bench export: --output is a directory',
      exportOf('table.jsonl', '--output', at('out-dir')),
      [`--output ${at('out-dir')}`, 'not a regular file'],
    ],
    [
      'bench export: --output is a FIFO',
      exportOf('table.jsonl', '--output', at('data-fifo.jsonl')),
      [`--output ${at('data-fifo.jsonl')}`, 'not a regular file'],
    ],
    // eval --data
    ['eval --data: FIFO', evalData('data-fifo.jsonl'), notRegular('data-fifo.jsonl')],
    ['eval --data: directory', evalData('data-dir.jsonl'), notRegular('data-dir.jsonl')],
    ['eval --data: --metric pass@1 on text', evalData('data.jsonl', '--metric', 'pass@1'), [at('data.jsonl'), 'metric pass@1']],
    ['eval --data: --by a field no record has', evalData('gsm-test.jsonl', '--by', 'nofield'), [at('gsm-test.jsonl'), "'nofield'"]],
    ['eval --data: --by __proto__', evalData('gsm-test.jsonl', '--by', '__proto__'), [at('gsm-test.jsonl'), "'__proto__'"]],
    ['eval --task: --by', ['eval', '--model', at('model'), '--task', 'arith', '--by', 'category'], ['--metric and --by go with --data']],
    // FL configs over users' files
    ['fl run files: no split.json', flFiles('no-split'), [at('split-no-json'), 'not a split directory']],
    ['fl run files: garbled split.json', flFiles('garbled'), [at('split-garbled', 'split.json'), 'invalid JSON']],
    ['fl run files: split.json size a string', flFiles('wrong-type'), [at('split-wrong-type', 'split.json'), 'clients.0.size']],
    ['fl run files: split.json disagrees with a file', flFiles('size'), [at('split-size', 'client_0.jsonl'), 'split.json says']],
    ['fl run files: a client file gone', flFiles('missing'), [at('split-missing-file', 'client_1.jsonl'), 'no such file']],
    ['fl run files: split.json is a FIFO', flFiles('split-fifo'), ['data.clients', ...notRegular('split-json-fifo/split.json')]],
    ['fl run files: split.json names /dev/zero', flFiles('escape'), ['data.clients', ...notRegular('data-zero.jsonl')]],
    ['fl run files: FIFO in the list', flFiles('list-fifo'), ['data.clients', ...notRegular('data-fifo.jsonl')]],
    [
      'fl run files: a file as the split dir',
      flFiles('file-as-dir'),
      ['data.clients', at('data.jsonl'), 'is a file, not a split directory'],
    ],
    ['fl run files: valid -> /dev/zero', flFiles('valid-zero'), ['data.valid', ...notRegular('data-zero.jsonl')]],
    ['fl run files: directory as test', flFiles('test-dir'), ['data.test', ...notRegular('data-dir.jsonl')]],
    ['fl run files: test of another format', flFiles('test-format'), ['data.test', at('gsm-test.jsonl'), 'gsm8k-format']],
    ['fl run files: metric pass@1 on text', flFiles('metric'), [at('data.jsonl'), 'metric pass@1']],
    ['fl run files: task and clients', flFiles('and-task'), [at('fl-files-and-task.yaml'), 'data.task and data.clients']],
    [
      'study run files: split.json disagrees',
      ['study', 'run', at('study-files-size.yaml'), '--out', at('never')],
      [`${at('study-files-size.yaml')}: trial.data.clients: ${at('split-size', 'client_0.jsonl')}`, 'split.json says'],
    ],
    [
      'study run files: garbled split.json',
      ['study', 'run', at('study-files-garbled.yaml'), '--out', at('never')],
      [`${at('study-files-garbled.yaml')}: trial.data.clients`, at('split-garbled', 'split.json'), 'invalid JSON'],
    ],
  ];
}
