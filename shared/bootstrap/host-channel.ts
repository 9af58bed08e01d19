// How vor-power runs a command on a host (DESIGN.md, "The core flow": the HostChannel port): SSH
// with a Vault-signed certificate, SSM Run Command, later Azure Run Command. Every channel answers
// with the same result shape, and fails with an AccessFault whose code the planner classifies
// (shared/plan/bootstrap-step.ts): booting, host-caused, or an outside fault.

import type { Trace } from "./bootstrap-trace.ts";

/** The host as a channel needs it: its id (SSM, Azure), its addresses and tags (SSH). */
export interface HostTarget {
  id: string;
  pool: string;
  /** the private address the cloud reports (never dialled by tests) */
  privateAddress?: string;
  publicAddress?: string;
  tags: Readonly<Record<string, string>>;
}

/** What a command did on the host. A non-zero exit is a result, not an error. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  /** the whole run, connection included (the pool's checkTimeout) */
  timeoutMs: number;
  /** an audit id for the run, e.g. "i-0abc/attempt-2" (Vault's key_id, SSM's comment) */
  runId: string;
  /** where the channel reports its parts (signing, host verification, login); absent: silent */
  trace?: Trace;
}

export interface HostChannel {
  /**
   * Runs a POSIX shell script on the host and answers its exit code and output.
   * @throws AccessFault when the host could not be reached or the command not run
   */
  run(host: HostTarget, script: string, options: RunOptions): Promise<CommandResult>;
}

/**
 * Why a host could not be reached or a command not run, as a short code (DESIGN.md, `vor:failure`
 * and `vor:blocked`): `ssh:unreachable`, `ssh:timeout`, `ssh:host-keys-pending`,
 * `ssm:not-registered` (booting within bootGrace); `ssh:key-refused`, `ssh:host-key-unknown`, `ssh:host-key-mismatch`,
 * `ssh:host-cert-invalid`, `ssm:failed` (host-caused); `vault:sealed`, `vault:unreachable`,
 * `vault:timeout`, `vault:denied`, `vault:secret-id`, `vault:error`, `throttled`, `channel:*`
 * (outside faults). The message names the host and the cause and never carries key material,
 * tokens or secret ids.
 */
export class AccessFault extends Error {
  override name = "AccessFault";
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
