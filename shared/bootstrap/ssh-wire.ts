// The SSH wire encoding (RFC 4251, section 5): what certificates, public keys, signatures and the
// host-key probe's packets are made of. Reading never trusts a length: every field is bounds-checked.

/** A blob that does not follow the SSH wire encoding (truncated, trailing bytes, a bad length). */
export class SshWireError extends Error {
  override name = "SshWireError";
}

/** Reads SSH wire fields from a buffer, front to back. */
export class SshReader {
  readonly #buffer: Buffer;
  #offset = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  /** Bytes read so far (for slicing out the signed part of a certificate). */
  get offset(): number {
    return this.#offset;
  }

  get atEnd(): boolean {
    return this.#offset === this.#buffer.length;
  }

  #take(length: number, what: string): Buffer {
    if (length > this.#buffer.length - this.#offset)
      throw new SshWireError(`truncated ${what}: ${length} bytes wanted`);
    const slice = this.#buffer.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return slice;
  }

  /** `length` raw bytes (a KEXINIT cookie). */
  fixed(length: number, what: string): Buffer {
    return this.#take(length, what);
  }

  byte(what = "byte"): number {
    return this.#take(1, what).readUInt8(0);
  }

  boolean(what = "boolean"): boolean {
    return this.byte(what) !== 0;
  }

  uint32(what = "uint32"): number {
    return this.#take(4, what).readUInt32BE(0);
  }

  uint64(what = "uint64"): bigint {
    return this.#take(8, what).readBigUInt64BE(0);
  }

  /** A `string` field as raw bytes. */
  bytes(what = "string"): Buffer {
    return this.#take(this.uint32(`${what} length`), what);
  }

  /** A `string` field as UTF-8 text. */
  text(what = "string"): string {
    return this.bytes(what).toString("utf8");
  }

  /** A `name-list`: comma-separated names. */
  nameList(what = "name-list"): string[] {
    const text = this.text(what);
    return text === "" ? [] : text.split(",");
  }

  /** A positive `mpint` as unsigned big-endian bytes without leading zeros. */
  mpint(what = "mpint"): Buffer {
    const raw = this.bytes(what);
    if (raw.length > 0 && (raw[0] ?? 0) & 0x80) throw new SshWireError(`negative ${what}`);
    let start = 0;
    while (start < raw.length && raw[start] === 0) start += 1;
    return raw.subarray(start);
  }

  /** Fails unless every byte was read: trailing data means a blob is not what it claims. */
  end(what: string): void {
    if (!this.atEnd)
      throw new SshWireError(`${this.#buffer.length - this.#offset} trailing bytes in ${what}`);
  }
}

/** Encodes SSH wire fields. */
export const wire = {
  byte: (value: number): Buffer => Buffer.from([value]),
  boolean: (value: boolean): Buffer => Buffer.from([value ? 1 : 0]),
  uint32(value: number): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out;
  },
  string(value: Buffer | string): Buffer {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    return Buffer.concat([wire.uint32(bytes.length), bytes]);
  },
  nameList: (names: readonly string[]): Buffer => wire.string(names.join(",")),
  /** An unsigned big-endian integer as an `mpint` (a leading zero when the top bit is set). */
  mpint(unsigned: Buffer): Buffer {
    let start = 0;
    while (start < unsigned.length && unsigned[start] === 0) start += 1;
    const trimmed = unsigned.subarray(start);
    const body =
      trimmed.length > 0 && (trimmed[0] ?? 0) & 0x80
        ? Buffer.concat([Buffer.from([0]), trimmed])
        : trimmed;
    return wire.string(body);
  },
};
