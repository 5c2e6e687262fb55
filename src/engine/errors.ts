// The one base class of user-facing errors. Every problem with what a user handed us (a file, a
// flag, a config, a checkpoint, a dataset) is a UserError whose message names the file or flag and
// the problem; the CLI prints it as one line and exits 2, never with a stack trace. Anything else
// that escapes is a bug and keeps its stack.

export class UserError extends Error {
  override name = 'UserError';
}

/** A failure inside the engine: an ORT error, a dead worker, a weight set it could not restore. */
export class EngineError extends Error {
  override name = 'EngineError';
}
