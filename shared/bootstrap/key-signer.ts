// The KeySigner port (DESIGN.md, "The core flow"): Vault's SSH secrets engine signs an ephemeral
// public key for one bootstrap, and publishes the CA that signs host keys (hostKey mode `ca`).

import type { Trace } from "./bootstrap-trace.ts";

export interface SignRequest {
  /** the ephemeral public key, one OpenSSH line: "ssh-ed25519 AAAA..." */
  publicKey: string;
  /** the audit trail's id, naming the host and attempt: "vor-power/i-0abc/2026-11-25T10:00:00Z" */
  keyId: string;
  /** where the signer reports its login (when it logs in) and the signing */
  trace?: Trace;
}

export interface KeySigner {
  /**
   * A user certificate for `publicKey`, with the configured principals and TTL.
   * @throws AccessFault with a `vault:*` code (sealed, unreachable, timeout, denied, secret-id, error)
   */
  signUserKey(request: SignRequest): Promise<string>;
  /**
   * The public keys of the CA that signs host keys (OpenSSH lines), for hostKey mode `ca`.
   * @throws AccessFault with a `vault:*` code
   */
  hostCaKeys(): Promise<string[]>;
}
