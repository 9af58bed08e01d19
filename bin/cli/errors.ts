/** A mistake in how the command was called or in its input: exit code 2, nothing was run. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit codes (DESIGN.md, "The CLI"): 0 done, 1 failed at run time, 2 bad usage, config or input. */
export const EXIT = { done: 0, failed: 1, usage: 2 } as const;
