import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import { connect, type Socket } from "node:net";
import { parseCertificate, type OpenSshCertificate } from "./openssh-cert.ts";
import type { SshEndpoint } from "./ssh-address.ts";
import { SshError } from "./ssh-errors.ts";
import { verifySshSignature } from "./ssh-keys.ts";
import {
  MESSAGE,
  SshPacketReader,
  SshTransportError,
  decodeKexInit,
  encodeDisconnect,
  encodeKexInit,
  framePacket,
  negotiate,
  type KexInit,
} from "./ssh-transport.ts";
import { SshReader, SshWireError, wire } from "./ssh-wire.ts";

// Fetches a host's certificate out of band. ssh2 cannot negotiate certificate host-key algorithms
// (offering one makes connect() throw), so this runs the first round of an SSH key exchange itself,
// as `ssh-keyscan -c` does: version lines, a KEXINIT offering only certificate host-key types with
// curve25519-sha256, KEX_ECDH_INIT with a fresh X25519 key, then the server's KEX_ECDH_REPLY. The
// reply carries the certificate (K_S) and the server's signature of the exchange hash H; that
// signature is verified with the certified key, so the server proved it holds that key's private
// half. It disconnects before NEWKEYS: no session, no user authentication. Verifying the
// certificate against the CA is the caller's (verifyCertificate); the real connection then accepts
// only the key inside it.

/** Host-key algorithms offered: certificates only, so a host without one is found out here. */
export const HOST_CERT_ALGORITHMS = [
  "ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "rsa-sha2-512-cert-v01@openssh.com",
  "rsa-sha2-256-cert-v01@openssh.com",
] as const;

const KEX_ALGORITHMS = ["curve25519-sha256", "curve25519-sha256@libssh.org"];
// Never used (the probe stops before NEWKEYS), but the server closes on a KEXINIT it cannot match.
const CIPHERS = [
  "chacha20-poly1305@openssh.com",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
];
const MACS = [
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512-etm@openssh.com",
  "hmac-sha2-256",
  "hmac-sha2-512",
];
const CLIENT_VERSION = "SSH-2.0-vor_power_probe";
const DISCONNECT_BY_APPLICATION = 11;

export interface HostCertificateProbe {
  /** the negotiated host-key algorithm, e.g. "ssh-ed25519-cert-v01@openssh.com" */
  algorithm: string;
  /** the certificate the server proved it holds the key of; not yet checked against any CA */
  certificate: OpenSshCertificate;
}

/** The signature algorithm inside the reply for a certificate host-key algorithm. */
const signatureAlgorithmOf = (algorithm: string): string =>
  algorithm.replace("-cert-v01@openssh.com", "");

/** The certificate blob's own type for a negotiated algorithm (RSA's are named by hash). */
const certTypeOf = (algorithm: string): string =>
  algorithm.replace(/^rsa-sha2-(256|512)-/, "ssh-rsa-");

/**
 * Fetches and proves the host's certificate; resolves within `timeoutMs` or rejects.
 * @throws SshError unreachable, timeout, host-key-unknown (no certificate offered),
 *   host-cert-invalid (malformed, or its key did not sign the exchange), failed (protocol)
 */
export async function probeHostCertificate(
  endpoint: SshEndpoint,
  options: { timeoutMs: number },
): Promise<HostCertificateProbe> {
  const socket = connect({ host: endpoint.host, port: endpoint.port });
  const reader = new SshPacketReader(socket);
  const timer = setTimeout(
    () => reader.fail(new SshError("timeout", `no certificate within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  let spoke = false;
  try {
    socket.write(`${CLIENT_VERSION}\r\n`);
    const serverVersion = await reader.version();
    spoke = true;
    return await exchange(socket, reader, serverVersion);
  } catch (error) {
    throw probeError(error, spoke);
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

async function exchange(
  socket: Socket,
  reader: SshPacketReader,
  serverVersion: string,
): Promise<HostCertificateProbe> {
  const clientInit = encodeKexInit({
    kex: KEX_ALGORITHMS,
    hostKey: HOST_CERT_ALGORITHMS,
    cipher: CIPHERS,
    mac: MACS,
    compression: ["none"],
  });
  socket.write(framePacket(clientInit));
  const serverInit = decodeKexInit(await nextPacket(reader));
  const kex = negotiate(KEX_ALGORITHMS, serverInit.kex);
  if (!kex) throw new SshError("failed", "the server offers no curve25519-sha256 key exchange");
  const algorithm = negotiate(HOST_CERT_ALGORITHMS, serverInit.hostKey);
  if (!algorithm)
    throw new SshError(
      "host-key-unknown",
      `the server offers no host certificate (only ${serverInit.hostKey.join(", ")})`,
    );

  const ephemeral = generateKeyPairSync("x25519");
  const clientPublic = Buffer.from(
    ephemeral.publicKey.export({ format: "jwk" }).x ?? "",
    "base64url",
  );
  socket.write(
    framePacket(Buffer.concat([wire.byte(MESSAGE.KEX_ECDH_INIT), wire.string(clientPublic)])),
  );
  const reply = await kexReply(reader, serverInit, kex, algorithm);

  const shared = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: reply.serverPublic.toString("base64url") },
      format: "jwk",
    }),
  });
  if (shared.every((byte) => byte === 0))
    throw new SshError("failed", "the server's X25519 key gives an all-zero secret");
  // RFC 8731: H = SHA-256(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K), each a string
  // except K, an mpint.
  const exchangeHash = createHash("sha256")
    .update(
      Buffer.concat([
        wire.string(CLIENT_VERSION),
        wire.string(serverVersion),
        wire.string(clientInit),
        wire.string(serverInit.payload),
        wire.string(reply.hostKey),
        wire.string(clientPublic),
        wire.string(reply.serverPublic),
        wire.mpint(shared),
      ]),
    )
    .digest();

  const certificate = parseProvenCertificate(reply.hostKey, algorithm);
  if (
    !verifySshSignature(certificate.key, reply.signature, exchangeHash, [
      signatureAlgorithmOf(algorithm),
    ])
  )
    throw new SshError(
      "host-cert-invalid",
      "the server's exchange-hash signature does not verify with its certificate's key",
    );
  socket.write(framePacket(encodeDisconnect(DISCONNECT_BY_APPLICATION, "host key probe done")));
  return { algorithm, certificate };
}

interface KexReply {
  hostKey: Buffer;
  serverPublic: Buffer;
  signature: Buffer;
}

async function kexReply(
  reader: SshPacketReader,
  serverInit: KexInit,
  kex: string,
  algorithm: string,
): Promise<KexReply> {
  // A server may guess and send its first key-exchange packet early; a wrong guess is ignored.
  let ignoreGuess =
    serverInit.firstKexPacketFollows &&
    (serverInit.kex[0] !== kex || serverInit.hostKey[0] !== algorithm);
  for (;;) {
    const payload = await nextPacket(reader);
    if (ignoreGuess) {
      ignoreGuess = false;
      continue;
    }
    const body = new SshReader(payload);
    if (body.byte("message") !== MESSAGE.KEX_ECDH_REPLY)
      throw new SshError(
        "failed",
        `unexpected message ${payload[0] ?? -1} instead of KEX_ECDH_REPLY`,
      );
    const reply = {
      hostKey: body.bytes("host key"),
      serverPublic: body.bytes("server ephemeral key"),
      signature: body.bytes("exchange signature"),
    };
    body.end("KEX_ECDH_REPLY");
    if (reply.serverPublic.length !== 32)
      throw new SshError("failed", "the server's X25519 key is not 32 bytes");
    return reply;
  }
}

/** The next packet that is not IGNORE, DEBUG or UNIMPLEMENTED; a DISCONNECT fails the probe. */
async function nextPacket(reader: SshPacketReader): Promise<Buffer> {
  for (;;) {
    const payload = await reader.packet();
    const type = payload[0];
    if (type === MESSAGE.IGNORE || type === MESSAGE.DEBUG || type === MESSAGE.UNIMPLEMENTED)
      continue;
    if (type === MESSAGE.DISCONNECT) {
      const body = new SshReader(payload.subarray(1));
      body.uint32("reason");
      throw new SshError("failed", `the server disconnected: ${body.text("description")}`);
    }
    return payload;
  }
}

function parseProvenCertificate(hostKey: Buffer, algorithm: string): OpenSshCertificate {
  let certificate: OpenSshCertificate;
  try {
    certificate = parseCertificate(hostKey);
  } catch (error) {
    throw new SshError("host-cert-invalid", "the server's host certificate is malformed", {
      cause: error,
    });
  }
  if (certificate.type !== certTypeOf(algorithm))
    throw new SshError(
      "host-cert-invalid",
      `the server sent a ${certificate.type} for ${algorithm}`,
    );
  return certificate;
}

function probeError(error: unknown, spoke: boolean): SshError {
  if (error instanceof SshError) return error;
  if (error instanceof SshTransportError && error.kind === "closed" && !spoke)
    return new SshError("unreachable", "the connection closed before the server spoke SSH", {
      cause: error,
    });
  if (error instanceof SshTransportError || error instanceof SshWireError)
    return new SshError("failed", `the server broke the SSH protocol: ${error.message}`, {
      cause: error,
    });
  const message = error instanceof Error ? error.message : String(error);
  return new SshError("unreachable", `cannot connect: ${message}`, { cause: error });
}
