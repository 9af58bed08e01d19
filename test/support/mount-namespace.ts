import { execFile, spawnSync } from "node:child_process";
import type { CommandResult, HostChannel } from "../../shared/bootstrap/host-channel.ts";

// Private mount namespaces for the playpen tests: each run mounts what it needs (`unshare -m`,
// util-linux makes the namespace's mounts private), so nothing leaks into this machine's mounts.

/** Whether this process may make mount namespaces (root, and unshare present). */
export const canUnshare = (): boolean =>
  process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;

/**
 * Runs `setup` (as root; any failure aborts) then the script read from stdin, in a private mount
 * namespace; what it answered. `shell` is how the script is started: `sh -s` with this machine's
 * PATH by default.
 */
export function inNamespace(
  setup: string,
  script: string,
  shell = "sh -s",
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      "unshare",
      ["-m", "sh", "-c", `set -e\n${setup}\nset +e\nexec ${shell}`],
      { encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : undefined;
        if (code === undefined) {
          reject(error ?? new Error("no exit code"));
          return;
        }
        resolve({ exitCode: code, stdout, stderr, durationMs: Date.now() - started });
      },
    );
    child.stdin?.end(script);
  });
}

/** A channel to "a host" that is a fresh mount namespace prepared by `setup` for every run. */
export class NamespaceChannel implements HostChannel {
  readonly scripts: string[] = [];
  readonly #setup: string;

  constructor(setup: string) {
    this.#setup = setup;
  }

  run(_host: unknown, script: string): Promise<CommandResult> {
    this.scripts.push(script);
    return inNamespace(this.#setup, script);
  }
}
