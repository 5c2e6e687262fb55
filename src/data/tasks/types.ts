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
  | { kind: 'text'; answers: string[]; metric: 'exact' | 'f1' };

export interface TaskRecord {
  instruction: string;
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
