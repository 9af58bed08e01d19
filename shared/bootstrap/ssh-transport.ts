import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { SshReader, SshWireError, wire } from "./ssh-wire.ts";

// The unencrypted start of the SSH transport (RFC 4253, sections 4.2 and 6), as much as the
// host-key probe needs: version lines, then binary packets read from a socket before NEWKEYS.

/** The peer closed the connection, or its bytes are not SSH. */
export class SshTransportError extends Error {
  override name = "SshTransportError";
  /** "closed": the peer closed before answering; "protocol": it answered something else */
  readonly kind: "closed" | "protocol";

  constructor(kind: "closed" | "protocol", message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

const MAX_LINE_BYTES = 8192;
const MAX_PREAMBLE_LINES = 64;
/** RFC 4253 asks for 35000 at least; a KEXINIT or a reply carrying an RSA certificate fits. */
const MAX_PACKET_BYTES = 256 * 1024;

/** Reads lines and packets from a socket in order, waiting for bytes as they arrive. */
export class SshPacketReader {
  #buffered: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#notify();
    });
    socket.on("end", () =>
      this.fail(new SshTransportError("closed", "the server closed the connection")),
    );
    socket.on("close", () => this.fail(new SshTransportError("closed", "the connection closed")));
    socket.on("error", (error) => this.fail(error));
  }

  /** Makes every pending and later read fail with `error` (the first failure wins). */
  fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #waitFor(length: number): Promise<void> {
    while (this.#buffered.length < length) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #take(length: number): Buffer {
    const out = this.#buffered.subarray(0, length);
    this.#buffered = this.#buffered.subarray(length);
    return out;
  }

  /**
   * The server's identification line (without CR LF); lines before it are skipped, as RFC 4253
   * allows. Only SSH 2.0 (or 1.99) is accepted.
   */
  async version(): Promise<string> {
    for (let lines = 0; lines < MAX_PREAMBLE_LINES; lines += 1) {
      let end = this.#buffered.indexOf(0x0a);
      while (end < 0) {
        if (this.#buffered.length > MAX_LINE_BYTES)
          throw new SshTransportError("protocol", "the server sent an overlong line");
        await this.#waitFor(this.#buffered.length + 1);
        end = this.#buffered.indexOf(0x0a);
      }
      const line = this.#take(end + 1)
        .toString("latin1")
        .replace(/\r?\n$/, "");
      if (/^SSH-(2\.0|1\.99)-/.test(line)) return line;
      if (line.startsWith("SSH-"))
        throw new SshTransportError("protocol", `unsupported SSH version ${JSON.stringify(line)}`);
    }
    throw new SshTransportError("protocol", "no SSH identification line");
  }

  /** The next packet's payload (no cipher and no MAC yet: before NEWKEYS). */
  async packet(): Promise<Buffer> {
    await this.#waitFor(4);
    const length = this.#buffered.readUInt32BE(0);
    if (length < 5 || length > MAX_PACKET_BYTES)
      throw new SshTransportError("protocol", `bad packet length ${length}`);
    await this.#waitFor(4 + length);
    const body = this.#take(4 + length).subarray(4);
    const padding = body.readUInt8(0);
    if (padding < 4 || padding > length - 2)
      throw new SshTransportError("protocol", `bad padding length ${padding}`);
    return body.subarray(1, length - padding);
  }
}

/** Frames `payload` as an unencrypted packet (block size 8, at least 4 bytes of padding). */
export function framePacket(payload: Buffer): Buffer {
  let padding = 8 - ((4 + 1 + payload.length) % 8);
  if (padding < 4) padding += 8;
  return Buffer.concat([
    wire.uint32(1 + payload.length + padding),
    wire.byte(padding),
    payload,
    randomBytes(padding),
  ]);
}

export const MESSAGE = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  KEXINIT: 20,
  KEX_ECDH_INIT: 30,
  KEX_ECDH_REPLY: 31,
} as const;

export interface KexInit {
  /** the whole payload, for the exchange hash */
  payload: Buffer;
  kex: string[];
  hostKey: string[];
  firstKexPacketFollows: boolean;
}

/** Algorithm lists a KEXINIT offers, in preference order. */
export interface KexOffer {
  kex: readonly string[];
  hostKey: readonly string[];
  cipher: readonly string[];
  mac: readonly string[];
  compression: readonly string[];
}

export function encodeKexInit(offer: KexOffer): Buffer {
  return Buffer.concat([
    wire.byte(MESSAGE.KEXINIT),
    randomBytes(16),
    wire.nameList(offer.kex),
    wire.nameList(offer.hostKey),
    wire.nameList(offer.cipher),
    wire.nameList(offer.cipher),
    wire.nameList(offer.mac),
    wire.nameList(offer.mac),
    wire.nameList(offer.compression),
    wire.nameList(offer.compression),
    wire.nameList([]),
    wire.nameList([]),
    wire.boolean(false),
    wire.uint32(0),
  ]);
}

/** @throws SshWireError when the payload is not a KEXINIT */
export function decodeKexInit(payload: Buffer): KexInit {
  const reader = new SshReader(payload);
  if (reader.byte("message") !== MESSAGE.KEXINIT) throw new SshWireError("not a KEXINIT");
  reader.fixed(16, "cookie");
  const kex = reader.nameList("kex algorithms");
  const hostKey = reader.nameList("host key algorithms");
  // ciphers, MACs and compression both ways, then languages both ways: the probe uses none
  for (let list = 0; list < 8; list += 1) reader.nameList("algorithm list");
  const firstKexPacketFollows = reader.boolean("first kex packet follows");
  reader.uint32("reserved");
  return { payload, kex, hostKey, firstKexPacketFollows };
}

/** RFC 4253 7.1: the first of the client's algorithms the server also offers. */
export const negotiate = (
  client: readonly string[],
  server: readonly string[],
): string | undefined => client.find((name) => server.includes(name));

export function encodeDisconnect(reason: number, description: string): Buffer {
  return Buffer.concat([
    wire.byte(MESSAGE.DISCONNECT),
    wire.uint32(reason),
    wire.string(description),
    wire.string(""),
  ]);
}
