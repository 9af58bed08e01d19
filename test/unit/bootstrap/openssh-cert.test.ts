import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  parseCertificate,
  parseCertificateLine,
  verifyCertificate,
  type CertificateExpectation,
  type CertificateVerdict,
  type OpenSshCertificate,
} from "../../../shared/bootstrap/openssh-cert.ts";
import { parsePublicKeyLine } from "../../../shared/bootstrap/ssh-keys.ts";
import { SshWireError, wire } from "../../../shared/bootstrap/ssh-wire.ts";
import { missing } from "../../support/services.ts";
import {
  createTestCa,
  sshKeygenInstalled,
  type CaKeyType,
  type TestCa,
} from "../../support/test-ca.ts";

// Certificates made by ssh-keygen -s, verified by our own code. Validity windows are absolute
// (UTC), so `now` is a literal instant and no test reads the clock.

const skip = !sshKeygenInstalled() && missing("ssh-keygen", "apt-get install openssh-client");
const WINDOW = "20260301000000Z:20260302000000Z";
const INSIDE = new Date("2026-03-01T12:00:00Z");
const blobOf = (line: string) => parsePublicKeyLine(line).blob;

/** The reason of a refused verdict; throws (failing the test) when the verdict passed. */
function refusal(verdict: CertificateVerdict): string {
  if (verdict.ok) throw new Error("the certificate was accepted");
  return verdict.reason;
}

describe.skipIf(skip)("OpenSSH certificates", () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let subject: string;

  beforeAll(async () => {
    ca = await createTestCa();
    otherCa = await createTestCa();
    subject = (await ca.newKeyFile("subject")).publicKey;
  });
  afterAll(async () => {
    await ca.remove();
    await otherCa.remove();
  });

  const hostCert = (options: { principals?: string[]; validity?: string } = {}) =>
    ca.signHostKey(subject, {
      principals: options.principals ?? ["10.0.0.5", "compute-1.internal"],
      validity: options.validity ?? WINDOW,
    });
  const expectHost = (overrides: Partial<CertificateExpectation> = {}): CertificateExpectation => ({
    kind: "host",
    principal: "10.0.0.5",
    trustedCaKeys: [blobOf(ca.hostCaKey)],
    now: INSIDE,
    ...overrides,
  });

  it("reads every field of a user certificate", async () => {
    const line = await ca.signUserKeyWith(
      { publicKey: subject, keyId: "vor-power/i-0abc/attempt-1" },
      { principals: ["vor-bootstrap"], validity: WINDOW },
    );

    const cert = parseCertificateLine(line);

    expect(cert).toMatchObject({
      type: "ssh-ed25519-cert-v01@openssh.com",
      kind: "user",
      keyId: "vor-power/i-0abc/attempt-1",
      principals: ["vor-bootstrap"],
      validAfter: BigInt(Date.parse("2026-03-01T00:00:00Z") / 1000),
      validBefore: BigInt(Date.parse("2026-03-02T00:00:00Z") / 1000),
      criticalOptions: [],
    });
    expect(cert.extensions).toContain("permit-pty");
    expect(cert.key.blob.equals(blobOf(subject))).toBe(true);
    expect(cert.signatureKey.equals(blobOf(ca.userCaKey))).toBe(true);
  });

  it("accepts a host certificate from a trusted CA that names the host, inside its window", async () => {
    const cert = parseCertificateLine(await hostCert());

    expect(verifyCertificate(cert, expectHost())).toEqual({ ok: true });
    expect(verifyCertificate(cert, expectHost({ principal: "compute-1.internal" }))).toEqual({
      ok: true,
    });
  });

  it.each<[string, CaKeyType, string | undefined]>([
    ["an RSA CA signing with rsa-sha2-256 (Vault's default)", "rsa", "rsa-sha2-256"],
    ["an RSA CA signing with rsa-sha2-512", "rsa", "rsa-sha2-512"],
    ["an ECDSA P-256 CA", "ecdsa", undefined],
    ["an ECDSA P-384 CA", "ecdsa-384", undefined],
    ["an ECDSA P-521 CA", "ecdsa-521", undefined],
  ])("verifies the signature of %s", async (_name, caType, signatureAlgorithm) => {
    const typedCa = await createTestCa({ caType });
    try {
      const line = await typedCa.signHostKey(subject, {
        principals: ["10.0.0.5"],
        validity: WINDOW,
        ...(signatureAlgorithm ? { signatureAlgorithm } : {}),
      });

      const verdict = verifyCertificate(
        parseCertificateLine(line),
        expectHost({ trustedCaKeys: [blobOf(typedCa.hostCaKey)] }),
      );

      expect(verdict).toEqual({ ok: true });
    } finally {
      await typedCa.remove();
    }
  });

  it.each<[string, CaKeyType]>([
    ["an RSA key", "rsa"],
    ["an ECDSA P-256 key", "ecdsa"],
    ["an ECDSA P-521 key", "ecdsa-521"],
  ])("reads the certified key of %s", async (_name, keyType) => {
    const key = (await ca.newKeyFile(`subject-${keyType}`, keyType)).publicKey;
    const line = await ca.signHostKey(key, { principals: ["10.0.0.5"], validity: WINDOW });

    const cert = parseCertificateLine(line);

    expect(cert.key.blob.equals(blobOf(key))).toBe(true);
    expect(verifyCertificate(cert, expectHost())).toEqual({ ok: true });
  });

  it("refuses an ssh-rsa (SHA-1) CA signature unless it is allowed explicitly", async () => {
    const rsaCa = await createTestCa({ caType: "rsa" });
    try {
      const cert = parseCertificateLine(
        await rsaCa.signHostKey(subject, {
          principals: ["10.0.0.5"],
          validity: WINDOW,
          signatureAlgorithm: "ssh-rsa",
        }),
      );
      const expectation = expectHost({ trustedCaKeys: [blobOf(rsaCa.hostCaKey)] });

      expect(verifyCertificate(cert, expectation)).toEqual({
        ok: false,
        reason: 'CA signature algorithm "ssh-rsa" is not accepted',
      });
      expect(verifyCertificate(cert, { ...expectation, signatureAlgorithms: ["ssh-rsa"] })).toEqual(
        { ok: true },
      );
    } finally {
      await rsaCa.remove();
    }
  });

  describe("refuses", () => {
    it("a tampered signature", async () => {
      const cert = parseCertificateLine(await hostCert());
      const signature = Buffer.from(cert.signature);
      signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;

      const verdict = verifyCertificate({ ...cert, signature }, expectHost());

      expect(refusal(verdict)).toMatch(/^its CA signature does not verify/);
    });

    it("a tampered field (the principals rewritten after signing)", async () => {
      const cert = parseCertificateLine(await hostCert({ principals: ["10.0.0.6"] }));
      const signedData = Buffer.from(cert.signedData);
      const at = signedData.indexOf("10.0.0.6");
      signedData.write("10.0.0.5", at);

      const verdict = verifyCertificate(
        { ...cert, principals: ["10.0.0.5"], signedData },
        expectHost(),
      );

      expect(refusal(verdict)).toMatch(/^its CA signature does not verify/);
    });

    it("a certificate that names the trusted CA but was signed by another (what sshpk 1.18 lets through)", async () => {
      const real = parseCertificateLine(
        await otherCa.signHostKey(subject, { principals: ["10.0.0.5"], validity: WINDOW }),
      );
      const forged = forgeSignatureKey(real, blobOf(ca.hostCaKey));

      const verdict = verifyCertificate(forged, expectHost());

      expect(refusal(verdict)).toMatch(/^its CA signature does not verify/);
    });

    it("a certificate from an untrusted CA", async () => {
      const cert = parseCertificateLine(
        await otherCa.signHostKey(subject, { principals: ["10.0.0.5"], validity: WINDOW }),
      );

      expect(refusal(verifyCertificate(cert, expectHost()))).toMatch(
        /^signed by an untrusted CA \(SHA256:/,
      );
    });

    it.each([
      ["an expired certificate", "2026-03-02T00:00:00Z", "expired at 2026-03-02T00:00:00.000Z"],
      [
        "a certificate not yet valid",
        "2026-02-28T23:59:59Z",
        "not valid before 2026-03-01T00:00:00.000Z",
      ],
    ])("%s", async (_name, now, reason) => {
      const cert = parseCertificateLine(await hostCert());

      expect(verifyCertificate(cert, expectHost({ now: new Date(now) }))).toEqual({
        ok: false,
        reason,
      });
    });

    it("a user certificate where a host certificate is needed", async () => {
      const cert = parseCertificateLine(
        await ca.signUserKeyWith(
          { publicKey: subject, keyId: "user" },
          { principals: ["10.0.0.5"], validity: WINDOW },
        ),
      );

      expect(
        verifyCertificate(cert, expectHost({ trustedCaKeys: [blobOf(ca.userCaKey)] })),
      ).toEqual({
        ok: false,
        reason: "a user certificate where a host certificate is needed",
      });
    });

    it("a certificate that does not name the host dialled", async () => {
      const cert = parseCertificateLine(await hostCert({ principals: ["10.0.0.6"] }));

      expect(verifyCertificate(cert, expectHost())).toEqual({
        ok: false,
        reason: 'it lists principals ["10.0.0.6"], not "10.0.0.5"',
      });
    });

    it("a certificate with no principals (OpenSSH would take it for any host)", async () => {
      const cert = parseCertificateLine(await hostCert({ principals: [] }));

      expect(verifyCertificate(cert, expectHost())).toEqual({
        ok: false,
        reason: 'it lists principals [], not "10.0.0.5"',
      });
    });
  });

  describe("parsing", () => {
    it("fails on a truncated certificate", async () => {
      const blob = parseCertificateLine(await hostCert()).blob;

      expect(() => parseCertificate(blob.subarray(0, blob.length - 10))).toThrow(SshWireError);
    });

    it("fails on trailing bytes", async () => {
      const blob = parseCertificateLine(await hostCert()).blob;

      expect(() => parseCertificate(Buffer.concat([blob, Buffer.from([0])]))).toThrow(SshWireError);
    });

    it("fails on a plain key", () => {
      expect(() => parseCertificate(blobOf(subject))).toThrow(/not a supported certificate type/);
    });
  });
});

/** `cert` with its signature key replaced by `caKey`, its (now wrong) signature kept. */
function forgeSignatureKey(cert: OpenSshCertificate, caKey: Buffer): OpenSshCertificate {
  const prefix = cert.signedData.subarray(0, cert.signedData.length - 4 - cert.signatureKey.length);
  const signedData = Buffer.concat([prefix, wire.string(caKey)]);
  return parseCertificate(Buffer.concat([signedData, wire.string(cert.signature)]));
}
