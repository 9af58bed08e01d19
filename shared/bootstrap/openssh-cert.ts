import {
  blobOfLine,
  fingerprint,
  isKeyType,
  parsePublicKeyBlob,
  readKeyFields,
  signatureAlgorithm,
  verifySshSignature,
  type KeyType,
  type SshPublicKey,
} from "./ssh-keys.ts";
import { SshReader, SshWireError, wire } from "./ssh-wire.ts";

// OpenSSH certificates (PROTOCOL.certkeys in openssh-portable), parsed and verified here with
// node:crypto. Libraries fall short: sshpk 1.18's isSignedByKey compares the CA's fingerprint and
// never checks the signature, so a forged certificate naming the right CA would pass.

const CERT_SUFFIX = "-cert-v01@openssh.com";

export type CertificateKind = "user" | "host";

export interface OpenSshCertificate {
  /** e.g. "ssh-ed25519-cert-v01@openssh.com" */
  type: string;
  /** the certified key, as a plain key */
  key: SshPublicKey;
  serial: bigint;
  kind: CertificateKind;
  keyId: string;
  principals: string[];
  /** seconds since the epoch; validBefore 2^64-1 means forever */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  extensions: string[];
  /** the CA's public key blob */
  signatureKey: Buffer;
  /** the CA's signature blob over `signedData` */
  signature: Buffer;
  /** every byte before the signature field */
  signedData: Buffer;
  /** the whole certificate blob */
  blob: Buffer;
}

/** The plain key type a certificate type certifies ("ssh-ed25519" for an ed25519 certificate). */
export function certifiedKeyType(certType: string): KeyType | undefined {
  if (!certType.endsWith(CERT_SUFFIX)) return undefined;
  const base = certType.slice(0, -CERT_SUFFIX.length);
  return isKeyType(base) ? base : undefined;
}

/** Reads a packed list of strings (principals), each a `string` inside the outer `string`. */
function readPacked(reader: SshReader, what: string, withData: boolean): string[] {
  const inner = new SshReader(reader.bytes(what));
  const names: string[] = [];
  while (!inner.atEnd) {
    const name = inner.text(`${what} name`);
    if (withData) inner.bytes(`${what} data`);
    if (withData && names.includes(name)) throw new SshWireError(`${what} repeat ${name}`);
    names.push(name);
  }
  return names;
}

/**
 * Parses a certificate blob; it checks the layout only, not the signature or any field.
 * @throws SshWireError when the blob is not a v01 certificate of a supported key type
 */
export function parseCertificate(blob: Buffer): OpenSshCertificate {
  const reader = new SshReader(blob);
  const type = reader.text("certificate type");
  const keyType = certifiedKeyType(type);
  if (!keyType) throw new SshWireError(`not a supported certificate type: ${JSON.stringify(type)}`);
  reader.bytes("nonce");
  const keyStart = reader.offset;
  const keyObject = readKeyFields(reader, keyType);
  const keyBlob = Buffer.concat([wire.string(keyType), blob.subarray(keyStart, reader.offset)]);
  const serial = reader.uint64("serial");
  const kindCode = reader.uint32("certificate kind");
  if (kindCode !== 1 && kindCode !== 2)
    throw new SshWireError(`unknown certificate kind ${kindCode}`);
  const keyId = reader.text("key id");
  const principals = readPacked(reader, "principals", false);
  const validAfter = reader.uint64("valid after");
  const validBefore = reader.uint64("valid before");
  const criticalOptions = readPacked(reader, "critical options", true);
  const extensions = readPacked(reader, "extensions", true);
  reader.bytes("reserved");
  const signatureKey = reader.bytes("signature key");
  const signedData = blob.subarray(0, reader.offset);
  const signature = reader.bytes("signature");
  reader.end("certificate");
  return {
    type,
    key: { type: keyType, blob: keyBlob, keyObject },
    serial,
    kind: kindCode === 1 ? "user" : "host",
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
    signature,
    signedData,
    blob,
  };
}

/** Parses a certificate's OpenSSH line ("ssh-ed25519-cert-v01@openssh.com AAAA... comment"). */
export const parseCertificateLine = (line: string): OpenSshCertificate =>
  parseCertificate(blobOfLine(line).blob);

/**
 * CA signature algorithms accepted by default: OpenSSH's own default since 8.2, which refuses
 * `ssh-rsa` (SHA-1) signatures on certificates. Vault signs with rsa-sha2-256 unless a role's
 * `algorithm_signer` says otherwise.
 */
export const DEFAULT_CA_SIGNATURE_ALGORITHMS: readonly string[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-256",
  "rsa-sha2-512",
];

export interface CertificateExpectation {
  kind: CertificateKind;
  /** the name the certificate must list: the user name, or the host name or address dialled */
  principal: string;
  /** the trusted CAs' plain public key blobs */
  trustedCaKeys: readonly Buffer[];
  now: Date;
  signatureAlgorithms?: readonly string[];
}

export type CertificateVerdict = { ok: true } | { ok: false; reason: string };

const FOREVER = 0xffff_ffff_ffff_ffffn;

const formatInstant = (seconds: bigint): string =>
  seconds === FOREVER ? "forever" : new Date(Number(seconds) * 1000).toISOString();

/**
 * Verifies `cert` the way sshd and ssh do: its kind, a trusted signing CA, the CA's signature over
 * the certificate, its validity window at `now`, and that it lists `principal` (an empty list is
 * refused: OpenSSH would take it as "any host", which pins nothing). Host certificates may carry
 * no critical option, since none is defined for them. Reasons name fingerprints, never keys.
 */
export function verifyCertificate(
  cert: OpenSshCertificate,
  expect: CertificateExpectation,
): CertificateVerdict {
  const fail = (reason: string): CertificateVerdict => ({ ok: false, reason });
  if (cert.kind !== expect.kind)
    return fail(`a ${cert.kind} certificate where a ${expect.kind} certificate is needed`);
  if (!expect.trustedCaKeys.some((ca) => ca.equals(cert.signatureKey)))
    return fail(`signed by an untrusted CA (${fingerprint(cert.signatureKey)})`);
  let caKey: SshPublicKey;
  try {
    caKey = parsePublicKeyBlob(cert.signatureKey);
  } catch {
    return fail("its CA key is malformed");
  }
  const algorithms = expect.signatureAlgorithms ?? DEFAULT_CA_SIGNATURE_ALGORITHMS;
  const algorithm = safeSignatureAlgorithm(cert.signature);
  if (!algorithms.includes(algorithm))
    return fail(`CA signature algorithm ${JSON.stringify(algorithm)} is not accepted`);
  if (!verifySshSignature(caKey, cert.signature, cert.signedData, algorithms))
    return fail(`its CA signature does not verify (${fingerprint(cert.signatureKey)})`);
  const now = BigInt(Math.floor(expect.now.getTime() / 1000));
  if (now < cert.validAfter) return fail(`not valid before ${formatInstant(cert.validAfter)}`);
  if (now >= cert.validBefore) return fail(`expired at ${formatInstant(cert.validBefore)}`);
  if (!cert.principals.includes(expect.principal))
    return fail(
      `it lists principals ${JSON.stringify(cert.principals)}, not ${JSON.stringify(expect.principal)}`,
    );
  if (cert.kind === "host" && cert.criticalOptions.length > 0)
    return fail(`unknown critical options ${JSON.stringify(cert.criticalOptions)}`);
  return { ok: true };
}

function safeSignatureAlgorithm(signature: Buffer): string {
  try {
    return signatureAlgorithm(signature);
  } catch {
    return "(malformed)";
  }
}
