// Bad-input cases of the run commands: pretrain, fl run, study run/resume/status/best/export,
// plot, report, worker and demo. `study-good` is a real study directory the suite makes first.
import type { HostileCase } from './case.js';

export function runCases(at: (...p: string[]) => string): HostileCase[] {
  const pretrain = (name: string) => ['pretrain', '--config', at(name)];
  const fl = (name: string, ...more: string[]) => ['fl', 'run', '--config', at(name), '--out', at('never'), ...more];
  const studyRun = (name: string, ...more: string[]) => ['study', 'run', at(name), '--out', at('never'), ...more];
  const readers = (dir: string): [string, string[]][] => [
    ['study resume', ['study', 'resume', at(dir)]],
    ['study status', ['study', 'status', at(dir)]],
    ['study best', ['study', 'best', at(dir)]],
    ['study export', ['study', 'export', at(dir)]],
    ['plot curves', ['plot', 'curves', at(dir), '--out', at('never')]],
    ['report', ['report', at(dir)]],
  ];
  const journal = (dir: string) => at(dir, 'journal.jsonl');
  return [
    // pretrain
    ['pretrain: unknown key', pretrain('pretrain-unknown.yaml'), [at('pretrain-unknown.yaml'), 'epochs']],
    ['pretrain: corpus.chars 1e15', pretrain('pretrain-huge.yaml'), [at('pretrain-huge.yaml'), 'corpus.chars']],
    ['pretrain: wrong type', pretrain('pretrain-wrong-type.yaml'), [at('pretrain-wrong-type.yaml'), 'train.steps']],
    ['pretrain: YAML alias bomb', pretrain('pretrain-alias.yaml'), [at('pretrain-alias.yaml')]],
    ['pretrain: out is an existing file', pretrain('pretrain-out-file.yaml'), [at('out-file'), 'not a directory']],
    ['pretrain: missing recipe', pretrain('nope.yaml'), [at('nope.yaml'), 'no such file']],
    ['pretrain: --steps Infinity', [...pretrain('pretrain-unknown.yaml'), '--steps', 'Infinity'], ['--steps', "'Infinity'"]],
    // fl run
    ['fl run: malformed YAML', fl('fl-malformed.yaml'), [at('fl-malformed.yaml'), 'invalid YAML']],
    ['fl run: unknown key', fl('fl-unknown.yaml'), [at('fl-unknown.yaml'), 'learning_rate']],
    ['fl run: wrong type', fl('fl-wrong-type.yaml'), [at('fl-wrong-type.yaml'), 'rounds']],
    ['fl run: rounds 1e300', fl('fl-huge.yaml'), [at('fl-huge.yaml'), 'rounds']],
    ['fl run: deep nesting', fl('fl-deep.yaml'), [at('fl-deep.yaml')]],
    ['fl run: YAML alias bomb', fl('fl-alias.yaml'), [at('fl-alias.yaml')]],
    ['fl run: __proto__ key', fl('fl-proto.yaml'), [at('fl-proto.yaml'), '__proto__']],
    ['fl run: task constructor', fl('fl-task-proto.yaml'), [at('fl-task-proto.yaml'), 'data.task']],
    ['fl run: FIFO config', fl('fl-fifo.yaml'), [at('fl-fifo.yaml'), 'not a regular file']],
    ['fl run: config -> /dev/zero', fl('fl-zero.yaml'), [at('fl-zero.yaml'), 'not a regular file']],
    ['fl run: directory as config', fl('out-dir'), [at('out-dir'), 'not a regular file']],
    ['fl run: --set train.lr=.inf', fl('fl.yaml', '--set', 'train.lr=.inf'), ['train.lr']],
    ['fl run: --set constructor.x=1', fl('fl.yaml', '--set', 'constructor.x=1'), ['constructor']],
    ['fl run: --set __proto__.rounds=2', fl('fl.yaml', '--set', '__proto__.rounds=2'), ['__proto__']],
    [
      'fl run: train.seq_len over the model',
      fl('fl.yaml', '--set', 'train.seq_len=2000'),
      ['train.seq_len 2000 ', 'max_position_embeddings 1024'],
    ],
    ['fl run: eval.batch_size 1e8', fl('fl.yaml', '--set', 'eval.batch_size=100000000'), [at('fl.yaml'), 'eval.batch_size']],
    [
      'fl run: aggregator module -> /dev/zero',
      fl('fl.yaml', '--set', `aggregator.name=${at('data-zero.jsonl')}`),
      [at('data-zero.jsonl'), 'not a regular file'],
    ],
    [
      'fl run: aggregator module is a FIFO',
      fl('fl.yaml', '--set', `aggregator.name=${at('data-fifo.jsonl')}`),
      [at('data-fifo.jsonl'), 'not a regular file'],
    ],
    [
      'fl run: --out is an existing file',
      ['fl', 'run', '--config', at('fl.yaml'), '--out', at('out-file')],
      [`--out ${at('out-file')}`, 'not a directory'],
    ],
    // study run
    ['study run: malformed YAML', studyRun('study-malformed.yaml'), [at('study-malformed.yaml')]],
    ['study run: unknown key', studyRun('study-unknown.yaml'), [at('study-unknown.yaml'), 'trails']],
    ['study run: wrong type', studyRun('study-wrong-type.yaml'), [at('study-wrong-type.yaml'), 'budget.trials']],
    ['study run: bound 1e400', studyRun('study-huge.yaml'), [at('study-huge.yaml'), 'train.lr']],
    ['study run: hyperparameter __proto__', studyRun('study-proto.yaml'), [at('study-proto.yaml'), '__proto__']],
    ['study run: YAML alias bomb', studyRun('study-alias.yaml'), [at('study-alias.yaml')]],
    ['study run: deep nesting', studyRun('study-deep.yaml'), [at('study-deep.yaml')]],
    ['study run: --workers 0', studyRun('study.yaml', '--workers', '0'), ['--workers', 'got 0']],
    ['study run: --workers abc', studyRun('study.yaml', '--workers', 'abc'), ['--workers', "'abc'"]],
    ['study run: --out is an existing file', ['study', 'run', at('study.yaml'), '--out', at('out-file')], [at('out-file')]],
    ['study run: --out is an existing study', ['study', 'run', at('study.yaml'), '--out', at('study-good')], [at('study-good')]],
    ['study run: missing config', studyRun('nope.yaml'), [at('nope.yaml'), 'no such file']],
    // Every reader (resume, status, best, export, plots, report) over the directories that once hung
    // or overflowed them; status and export over the other broken ones (they share one journal reader).
    ...(['study-zero', 'study-fifo', 'study-deep'] as const).flatMap((dir) =>
      readers(dir).map(([cmd, args]): HostileCase => [`${cmd}: ${dir}`, args, [journal(dir)]]),
    ),
    ...(['study-empty', 'study-garbage', 'study-dir-journal', 'no-study', 'out-file'] as const).flatMap((dir) =>
      readers(dir)
        .filter(([cmd]) => cmd === 'study resume' || cmd === 'study export')
        .map(
          ([cmd, args]): HostileCase => [
            `${cmd}: ${dir}`,
            args,
            [dir === 'study-garbage' || dir === 'study-dir-journal' ? journal(dir) : at(dir)],
          ],
        ),
    ),
    [
      'study export: --output is a directory',
      ['study', 'export', at('study-good'), '--output', at('out-dir')],
      [`--output ${at('out-dir')}`, 'not a regular file'],
    ],
    [
      'plot landscape: unknown hyperparameter',
      ['plot', 'landscape', at('study-good'), '--x', 'toString', '--y', 'train.lr', '--out', at('never')],
      ['toString'],
    ],
    [
      'plot landscape: --max-bins -1',
      ['plot', 'landscape', at('study-good'), '--x', 'train.lr', '--y', 'train.lr', '--max-bins', '-1'],
      ['--max-bins', '-1'],
    ],
    ['plot history: --out is a file', ['plot', 'history', at('study-good'), '--out', at('out-file')], [at('out-file')]],
    [
      'plot history: --metric __proto__',
      ['plot', 'history', at('study-good'), '--metric', '__proto__', '--out', at('never')],
      ['__proto__'],
    ],
    // worker and demo
    ['worker: no server', ['worker'], ['--nats']],
    [
      'worker: creds -> /dev/zero',
      ['worker', '--nats', 'nats://127.0.0.1:1', '--nats-creds', at('data-zero.jsonl')],
      [at('data-zero.jsonl')],
    ],
    ['worker: unreachable server', ['worker', '--nats', 'nats://127.0.0.1:1'], ['127.0.0.1:1']],
    ['demo: --steps abc', ['demo', '--steps', 'abc'], ['--steps', "'abc'"]],
    ['demo: --dir is a file', ['demo', '--dir', at('out-file')], [`--dir ${at('out-file')}`, 'not a directory']],
  ];
}
