/**
 * A broken assumption inside the schedule module: a bug, never bad input. Bad input comes
 * back as a `Compiled` result with issues instead.
 */
export class InvariantError extends Error {
  /** @param cause whatever revealed the bug, if anything did */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvariantError";
  }
}
