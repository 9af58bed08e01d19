import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { SshReader, SshWireError } from "./ssh-wire.ts";

// SSH public keys and signatures (RFC 4253 6.6, RFC 5656, RFC 8332, RFC 8709), checked with
// node:crypto alone: a certificate's CA signature and the host's exchange-hash signature are
// verified here, never by a library that only compares fingerprints.

/** The plain (non-certificate) key types vor-power reads. */
export type KeyType = "ssh-ed25519" | "ssh-rsa" | EcdsaKeyType;
type EcdsaKeyType = "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521";

/** A plain public key: its type, its wire blob (what SSH compares) and a node:crypto key. */
export interface SshPublicKey {
  type: KeyType;
  blob: Buffer;
  keyObject: KeyObject;
}

const CURVES: Record<EcdsaKeyType, { curve: string; jwk: string; hash: string; size: number }> = {
  "ecdsa-sha2-nistp256": { curve: "nistp256", jwk: "P-256", hash: "sha256", size: 32 },
  "ecdsa-sha2-nistp384": { curve: "nistp384", jwk: "P-384", hash: "sha384", size: 48 },
  "ecdsa-sha2-nistp521": { curve: "nistp521", jwk: "P-521", hash: "sha512", size: 66 },
};

const isEcdsa = (type: string): type is EcdsaKeyType => type in CURVES;

export const isKeyType = (type: string): type is KeyType =>
  type === "ssh-ed25519" || type === "ssh-rsa" || isEcdsa(type);

const b64url = (bytes: Buffer): string => bytes.toString("base64url");

/** Left-pads `bytes` with zeros to `size` (fixed-width fields for JWK and IEEE P1363). */
function padStart(bytes: Buffer, size: number, what: string): Buffer {
  if (bytes.length > size) throw new SshWireError(`${what} longer than ${size} bytes`);
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}

/**
 * Reads the fields of a `type` key (everything after the type name) and returns its KeyObject.
 * Certificates embed the same fields after their nonce, so the certificate parser calls this too.
 */
export function readKeyFields(reader: SshReader, type: KeyType): KeyObject {
  if (type === "ssh-ed25519") {
    const x = reader.bytes("ed25519 key");
    if (x.length !== 32) throw new SshWireError("ed25519 key is not 32 bytes");
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(x) }, format: "jwk" });
  }
  if (type === "ssh-rsa") {
    const e = reader.mpint("rsa exponent");
    const n = reader.mpint("rsa modulus");
    if (n.length * 8 < 1024) throw new SshWireError("rsa modulus shorter than 1024 bits");
    return createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
  }
  const curve = CURVES[type];
  if (reader.text("ecdsa curve") !== curve.curve)
    throw new SshWireError(`${type} key names another curve`);
  const point = reader.bytes("ecdsa point");
  if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04)
    throw new SshWireError(`${type} point is not uncompressed`);
  const x = point.subarray(1, 1 + curve.size);
  const y = point.subarray(1 + curve.size);
  return createPublicKey({
    key: { kty: "EC", crv: curve.jwk, x: b64url(x), y: b64url(y) },
    format: "jwk",
  });
}

/**
 * Parses a plain public key blob ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-*").
 * @throws SshWireError when the blob is malformed or of another type (a certificate included)
 */
export function parsePublicKeyBlob(blob: Buffer): SshPublicKey {
  const reader = new SshReader(blob);
  const type = reader.text("key type");
  if (!isKeyType(type)) throw new SshWireError(`unsupported key type ${JSON.stringify(type)}`);
  const keyObject = readKeyFields(reader, type);
  reader.end("public key");
  return { type, blob, keyObject };
}

/** The blob of one OpenSSH public key line ("type base64 [comment]"), and its type name. */
export function blobOfLine(line: string): { type: string; blob: Buffer } {
  const [type, data] = line.trim().split(/\s+/);
  if (type === undefined || data === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(data))
    throw new SshWireError("not an OpenSSH public key line");
  const blob = Buffer.from(data, "base64");
  if (new SshReader(blob).text("key type") !== type)
    throw new SshWireError("the line's type differs from its blob's");
  return { type, blob };
}

/** Parses one OpenSSH public key line of a plain key. */
export const parsePublicKeyLine = (line: string): SshPublicKey =>
  parsePublicKeyBlob(blobOfLine(line).blob);

/** The OpenSSH line of a plain key blob. */
export const lineOfBlob = (blob: Buffer, comment?: string): string =>
  [new SshReader(blob).text(), blob.toString("base64"), comment].filter(Boolean).join(" ");

/** Signature algorithms and the hash each uses, per key type (RFC 8332: one RSA key, three). */
const SIGNATURE_HASH: Record<string, { keyType: KeyType; hash: string | null }> = {
  "ssh-ed25519": { keyType: "ssh-ed25519", hash: null },
  "rsa-sha2-256": { keyType: "ssh-rsa", hash: "sha256" },
  "rsa-sha2-512": { keyType: "ssh-rsa", hash: "sha512" },
  "ssh-rsa": { keyType: "ssh-rsa", hash: "sha1" },
  "ecdsa-sha2-nistp256": { keyType: "ecdsa-sha2-nistp256", hash: "sha256" },
  "ecdsa-sha2-nistp384": { keyType: "ecdsa-sha2-nistp384", hash: "sha384" },
  "ecdsa-sha2-nistp521": { keyType: "ecdsa-sha2-nistp521", hash: "sha512" },
};

/** The algorithm named inside a signature blob ("rsa-sha2-256", "ssh-ed25519", ...). */
export const signatureAlgorithm = (signature: Buffer): string =>
  new SshReader(signature).text("signature algorithm");

/**
 * Whether `signature` (an SSH signature blob: algorithm name, then the signature) is `key`'s
 * signature of `data`. A malformed blob, an algorithm that does not fit the key, or one outside
 * `allowed` is simply false.
 */
export function verifySshSignature(
  key: SshPublicKey,
  signature: Buffer,
  data: Buffer,
  allowed: readonly string[] = Object.keys(SIGNATURE_HASH),
): boolean {
  try {
    const reader = new SshReader(signature);
    const algorithm = reader.text("signature algorithm");
    const raw = reader.bytes("signature");
    reader.end("signature");
    const scheme = SIGNATURE_HASH[algorithm];
    if (!scheme || scheme.keyType !== key.type || !allowed.includes(algorithm)) return false;
    if (key.type === "ssh-rsa") {
      // OpenSSH may send a signature shorter than the modulus; OpenSSL wants it full width.
      const width = Math.ceil((key.keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      return verify(scheme.hash, data, key.keyObject, padStart(raw, width, "rsa signature"));
    }
    if (isEcdsa(key.type)) {
      const size = CURVES[key.type].size;
      const rs = new SshReader(raw);
      const r = padStart(rs.mpint("ecdsa r"), size, "ecdsa r");
      const s = padStart(rs.mpint("ecdsa s"), size, "ecdsa s");
      rs.end("ecdsa signature");
      return verify(
        scheme.hash,
        data,
        { key: key.keyObject, dsaEncoding: "ieee-p1363" },
        Buffer.concat([r, s]),
      );
    }
    return verify(null, data, key.keyObject, raw);
  } catch (error) {
    if (error instanceof SshWireError) return false;
    throw error;
  }
}

/** OpenSSH's fingerprint of a key blob ("SHA256:..."): public, safe in messages. */
export const fingerprint = (blob: Buffer): string =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
