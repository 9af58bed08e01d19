import ssh2, { type IdentityCallback, type SignCallback, type SigningRequestOptions } from "ssh2";
import type { EphemeralKey } from "./ephemeral-key.ts";

// ssh2 signs user authentication through an agent when given one: this in-process agent offers
// exactly one identity, the signed certificate, and signs with the ephemeral key's KeyObject, so
// the private key is never serialised for ssh2 to parse. It needs patches/ssh2+1.17.0.patch: ssh2
// 1.17 misreads a certificate line (it takes the nonce for the key) and names the certificate type
// inside the signature blob, where OpenSSH wants the plain key type.

export class CertificateAgent extends ssh2.BaseAgent {
  readonly #identity: string;
  readonly #key: EphemeralKey;

  /** @param identity the OpenSSH line to log in with: the certificate (or, in tests, a plain key) */
  constructor(identity: string, key: EphemeralKey) {
    super();
    this.#identity = identity;
    this.#key = key;
  }

  getIdentities(cb: IdentityCallback): void {
    cb(null, [this.#identity]);
  }

  sign(
    _publicKey: unknown,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const done = typeof options === "function" ? options : cb;
    try {
      done?.(null, this.#key.sign(data));
    } catch (error) {
      done?.(error instanceof Error ? error : new Error("signing failed"));
    }
  }
}
