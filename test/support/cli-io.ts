import type { CliIo } from "../../bin/cli/io.ts";

/** An in-memory terminal for CLI tests: collected output and a fixed clock. */
export function memoryIo(
  now = new Date("2026-03-04T10:00:00Z"),
): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    now: () => now,
  };
}
