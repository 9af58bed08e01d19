import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { lineOfBlob } from "./ssh-keys.ts";
import { wire } from "./ssh-wire.ts";

// One ed25519 key pair per bootstrap (DESIGN.md, "Bootstrap hosts that come up"): made in memory,
// used to sign one SSH login, then dropped. The private half stays a node:crypto KeyObject: it is
// never serialised, so it cannot reach a file, a log line or an error message (a KeyObject prints
// as `PrivateKeyObject {}` and JSON-encodes to `{}`). JavaScript cannot wipe memory; dropping the
// last reference is what "dropped" means here.

export interface EphemeralKey {
  /** "ssh-ed25519 AAAA... vor-power": what Vault signs */
  readonly publicKeyLine: string;
  /** the public key's wire blob (what a certificate for it must contain) */
  readonly publicKeyBlob: Buffer;
  /** A raw ed25519 signature of `data` (SSH wraps it in a signature blob). */
  sign(data: Buffer): Buffer;
}

/** An ephemeral key from an existing private KeyObject (tests pass their own to observe it). */
export function ephemeralKeyFrom(privateKey: KeyObject): EphemeralKey {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519")
    throw new TypeError("an ephemeral key must be an ed25519 private key");
  const x = createPublicKey(privateKey).export({ format: "jwk" }).x;
  if (x === undefined) throw new TypeError("the public key has no ed25519 point");
  const publicKeyBlob = Buffer.concat([
    wire.string("ssh-ed25519"),
    wire.string(Buffer.from(x, "base64url")),
  ]);
  return {
    publicKeyLine: lineOfBlob(publicKeyBlob, "vor-power"),
    publicKeyBlob,
    sign: (data) => sign(null, data, privateKey),
  };
}

/** A new ephemeral ed25519 key, in memory only. */
export function generateEphemeralKey(): EphemeralKey {
  return ephemeralKeyFrom(generateKeyPairSync("ed25519").privateKey);
}
