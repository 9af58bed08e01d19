import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KeySigner, SignRequest } from "../../shared/bootstrap/key-signer.ts";

// A test CA made with ssh-keygen (a user CA and a host CA in a temp dir) that implements the
// KeySigner port, so SSH tests need no Vault. Only public keys and certificates are written here:
// ssh-keygen -s signs a public key file. The CAs' own private keys are test fixtures.

const run = promisify(execFile);
export const SSH_KEYGEN = "/usr/bin/ssh-keygen";

export const sshKeygenInstalled = (): boolean => existsSync(SSH_KEYGEN);

export type CaKeyType = "ed25519" | "rsa" | "ecdsa" | "ecdsa-384" | "ecdsa-521";

export interface SignOptions {
  principals?: readonly string[];
  /** ssh-keygen -V, e.g. "-1m:+5m" or "-20m:-10m" (expired) */
  validity?: string;
  /** ssh-keygen -t for an RSA CA: rsa-sha2-256 (default), rsa-sha2-512 or ssh-rsa */
  signatureAlgorithm?: string;
}

export interface TestCa extends KeySigner {
  dir: string;
  /** the user CA's public key line (sshd's TrustedUserCAKeys) */
  userCaKey: string;
  /** the host CA's public key line */
  hostCaKey: string;
  /** A user certificate with explicit principals or validity (expired, wrong principal). */
  signUserKeyWith(request: SignRequest, options: SignOptions): Promise<string>;
  /** A host certificate for the public key line `publicKey`. */
  signHostKey(
    publicKey: string,
    options: SignOptions & { principals: readonly string[] },
  ): Promise<string>;
  /** Generates a key pair in the CA's dir (test fixtures only): its private key path and public line. */
  newKeyFile(name: string, type?: CaKeyType): Promise<{ path: string; publicKey: string }>;
  remove(): Promise<void>;
}

const KEYGEN_TYPE: Record<CaKeyType, string[]> = {
  ed25519: ["-t", "ed25519"],
  rsa: ["-t", "rsa", "-b", "3072"],
  ecdsa: ["-t", "ecdsa", "-b", "256"],
  "ecdsa-384": ["-t", "ecdsa", "-b", "384"],
  "ecdsa-521": ["-t", "ecdsa", "-b", "521"],
};

export async function createTestCa(
  options: { user?: string; caType?: CaKeyType } = {},
): Promise<TestCa> {
  const user = options.user ?? "vor-bootstrap";
  const caType = options.caType ?? "ed25519";
  const dir = await mkdtemp(join(tmpdir(), "vor-power-test-ca-"));
  let serial = 0;

  const newKeyFile = async (name: string, type: CaKeyType = "ed25519") => {
    const path = join(dir, name);
    await run(SSH_KEYGEN, ["-q", ...KEYGEN_TYPE[type], "-N", "", "-C", name, "-f", path]);
    return { path, publicKey: (await readFile(`${path}.pub`, "utf8")).trim() };
  };
  const userCa = await newKeyFile("user-ca", caType);
  const hostCa = await newKeyFile("host-ca", caType);

  const sign = async (
    caPath: string,
    publicKey: string,
    keyId: string,
    signOptions: SignOptions & { host: boolean },
  ): Promise<string> => {
    serial += 1;
    const file = join(dir, `request-${serial}.pub`);
    await writeFile(file, `${publicKey}\n`);
    const principals = signOptions.principals ?? [user];
    await run(SSH_KEYGEN, [
      "-q",
      "-s",
      caPath,
      ...(caType === "rsa" ? ["-t", signOptions.signatureAlgorithm ?? "rsa-sha2-256"] : []),
      ...(signOptions.host ? ["-h"] : []),
      "-I",
      keyId,
      "-z",
      String(serial),
      ...(principals.length > 0 ? ["-n", principals.join(",")] : []),
      "-V",
      signOptions.validity ?? "-1m:+5m",
      file,
    ]);
    return (await readFile(join(dir, `request-${serial}-cert.pub`), "utf8")).trim();
  };

  return {
    dir,
    userCaKey: userCa.publicKey,
    hostCaKey: hostCa.publicKey,
    signUserKey: (request) => sign(userCa.path, request.publicKey, request.keyId, { host: false }),
    signUserKeyWith: (request, signOptions) =>
      sign(userCa.path, request.publicKey, request.keyId, { ...signOptions, host: false }),
    hostCaKeys: () => Promise.resolve([hostCa.publicKey]),
    signHostKey: (publicKey, signOptions) =>
      sign(hostCa.path, publicKey, "test-host", {
        validity: "-1m:+1h",
        ...signOptions,
        host: true,
      }),
    newKeyFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
