// Built-in benchmark tasks: records are plain JSON (so split files can be written and read back as
// ordinary instruction records) and carry what the scorer needs in `reference`.

/** One unit test of a code exercise: the arguments and the expected result, as JSON values. */
export interface CodeTest {
  args: unknown[];
  expected: unknown;
}

/** How a generated answer is scored. */
export type Reference =
  /** GSM8K rule: the number after "the answer is", else the last number, equals value. */
  | { kind: 'number'; value: number }
  /**
   * pass@1: the generated JS function `entry` passes every test, run in a sandbox. `stub` is the
   * start of the answer the model is given, as HumanEval's prompt gives the signature: generation
   * continues it and the program scored is stub + generation.
   */
  | { kind: 'code'; entry: string; tests: CodeTest[]; stub?: string }
  /** HELM-like: exact match (normalised) or token F1 against any of the answers. */
  | { kind: 'text'; answers: string[]; metric: 'exact' | 'f1' }
  /**
   * pass@1 by test code (HumanEval-style JavaScript, e.g. MultiPL-E humaneval-js, HumanEval-X js):
   * the program is `prefix` (the record's prompt) + generation, cut to its definitions; `test` is
   * JavaScript that calls `entry` and checks it with node:assert or console.assert, run with the
   * program in the sandbox (runScriptTest).
   */
  | { kind: 'script'; entry: string; test: string; prefix: string }
  /** Nothing generated is scored: loss and token accuracy only (records of no known task format). */
  | { kind: 'none' };

export interface TaskRecord {
  instruction: string;
  /**
   * The model's prompt verbatim, instead of the instruction template over instruction/input:
   * a code-completion prompt (HumanEval's), or a `{prompt, completion}` record's prompt.
   */
  prompt?: string;
  input?: string;
  output: string;
  /** The meta field that splits clients (task family, category). */
  category: string;
  reference: Reference;
}

export interface TaskData {
  train: TaskRecord[];
  validation: TaskRecord[];
  test: TaskRecord[];
}

export type TaskSplit = keyof TaskData;

export interface TaskInfo {
  name: string;
  description: string;
  /** Like which reference dataset. */
  like: string;
  clients: number;
  /** How clients are formed: uniformly at random, or one per category. */
  splitter: 'iid' | 'meta';
  categories: string[];
  score: 'accuracy' | 'pass@1' | 'helm';
  generate(seed: number): TaskData;
}
