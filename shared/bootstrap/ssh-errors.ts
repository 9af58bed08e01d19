import { AccessFault } from "./host-channel.ts";

// The SSH channel's failures, one kind per AccessFault code (host-channel.ts): the probe and the
// session say what went wrong, and the channel names the host once, at the port.

/**
 * `ssh:<kind>`: unreachable, timeout and host-keys-pending (pinned mode: the console shows no host
 * keys yet) are booting within bootGrace; key-refused, host-key-unknown,
 * host-key-mismatch, host-cert-invalid, and failed (the server broke the protocol, or the command
 * could not be started).
 */
export type SshFailure =
  | "unreachable"
  | "timeout"
  | "host-keys-pending"
  | "key-refused"
  | "host-key-unknown"
  | "host-key-mismatch"
  | "host-cert-invalid"
  | "failed";

/** A failure inside the SSH channel; `cause` holds the socket's, ssh2's or the parser's error. */
export class SshError extends Error {
  override name = "SshError";
  readonly failure: SshFailure;

  constructor(failure: SshFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/** The port's form of `error`: code `ssh:<failure>`, the message prefixed with where it happened. */
export const toAccessFault = (error: SshError, where: string): AccessFault =>
  new AccessFault(`ssh:${error.failure}`, `${where}: ${error.message}`, { cause: error });
