/** What a schedule asks for at an instant; `any` means "no opinion" (a one-sided period). */
export type ScheduleState = "running" | "stopped" | "any";

/**
 * One problem with an input. `path` is relative to the object passed in, e.g.
 * `["periods", 0, "weekdays"]` or `["cron"]`; `message` reads
 * "expected <what>, found <what>; <how to fix>".
 */
export interface ScheduleIssue {
  path: (string | number)[];
  message: string;
}

/** The outcome of compiling an input: the value with warnings, or every issue found. */
export type Compiled<T> =
  { ok: true; value: T; warnings: ScheduleIssue[] } | { ok: false; issues: ScheduleIssue[] };

/** Quotes a user value for a message, so that `""` and `" mon"` stay visible. */
export function quote(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : describeValue(value);
}

/** Names the type of a value that is not what we expected, for "found ..." in a message. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value === "object" ? "an object" : typeof value;
}
