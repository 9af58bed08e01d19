import { constants } from "node:os";
import ssh2, { type BaseAgent, type ClientChannel, type ServerHostKeyAlgorithm } from "ssh2";
import type { SshEndpoint } from "./ssh-address.ts";
import { SshError } from "./ssh-errors.ts";
import type { KeyType } from "./ssh-keys.ts";

// One ssh2 session: connect, accept only the host keys the caller verified, log in through the
// agent (the signed certificate), run a POSIX shell script as `sh -s` with the script on stdin (no
// quoting of the script into a command line), collect its exit code and output, then close.

/** Output kept per stream: a check's output is small, and a runaway one must not fill memory. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export interface SessionRequest {
  endpoint: SshEndpoint;
  user: string;
  agent: BaseAgent;
  /** the plain host key blobs the server may present (verified by the caller) */
  hostKeys: readonly Buffer[];
  /** restricts negotiation to those keys' types, so the server presents one of them */
  hostKeyTypes: readonly KeyType[];
  script: string;
  timeoutMs: number;
  /** told which host key the server presented and whether it was accepted (for the trace) */
  onHostKey?: (key: Buffer, accepted: boolean) => void;
  /** told when the login succeeded, before the script runs (for the trace) */
  onReady?: () => void;
}

export interface SessionResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const HOST_KEY_ALGORITHMS: Record<KeyType, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  // ssh-rsa (SHA-1) left out, as OpenSSH does by default since 8.8
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
};

/** Collects a stream's output up to MAX_OUTPUT_BYTES, then marks it truncated. */
class Output {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;

  add(chunk: Buffer): void {
    const room = MAX_OUTPUT_BYTES - this.#bytes;
    if (chunk.length > room) this.#truncated = true;
    const kept = chunk.subarray(0, Math.max(0, room));
    this.#chunks.push(kept);
    this.#bytes += kept.length;
  }

  text(): string {
    const text = Buffer.concat(this.#chunks).toString("utf8");
    return this.#truncated ? `${text}\n[output truncated at ${MAX_OUTPUT_BYTES} bytes]` : text;
  }
}

/** An exit by signal reads as 128 + its number, as in a shell. */
const exitCodeOf = (code: number | null | undefined, signal: string | undefined): number => {
  if (typeof code === "number") return code;
  const number = signal
    ? constants.signals[`SIG${signal}` as keyof typeof constants.signals]
    : undefined;
  return number === undefined ? 255 : 128 + number;
};

interface Ssh2Error extends Error {
  level?: string;
  code?: string;
}

function classify(error: Ssh2Error, ready: boolean, hostKeyRefused: boolean): SshError {
  const options = { cause: error };
  if (hostKeyRefused)
    return new SshError(
      "host-key-mismatch",
      "the server presented a host key that was not verified",
      options,
    );
  switch (error.level) {
    case "client-authentication":
      return new SshError("key-refused", "the server refused the certificate", options);
    case "client-timeout":
      return new SshError("timeout", "no SSH handshake in time", options);
    case "client-socket":
    case "client-dns":
      return new SshError(
        ready ? "failed" : "unreachable",
        `connection failed: ${error.message}`,
        options,
      );
    default:
      return new SshError("failed", `SSH failed: ${error.message}`, options);
  }
}

/**
 * Runs `script` on the host; a non-zero exit is a result.
 * @throws SshError unreachable, timeout (within `timeoutMs`, connection included), key-refused,
 *   host-key-mismatch (the server presented another key than the verified ones), failed
 */
export function runSession(request: SessionRequest): Promise<SessionResult> {
  const client = new ssh2.Client();
  return new Promise<SessionResult>((resolve, reject) => {
    let ready = false;
    let hostKeyRefused = false;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      client.destroy();
      outcome();
    };
    const timer = setTimeout(() => {
      const what = ready
        ? `the command ran past ${request.timeoutMs} ms`
        : `no SSH session within ${request.timeoutMs} ms`;
      settle(() => reject(new SshError("timeout", what)));
    }, request.timeoutMs);

    client.on("ready", () => {
      ready = true;
      request.onReady?.();
      client.exec("sh -s", (error, stream) => {
        if (error)
          settle(() =>
            reject(new SshError("failed", `cannot start sh: ${error.message}`, { cause: error })),
          );
        else collect(stream, request.script, (result) => settle(() => resolve(result)));
      });
    });
    client.on("error", (error: Ssh2Error) =>
      settle(() => reject(classify(error, ready, hostKeyRefused))),
    );
    client.on("close", () =>
      settle(() =>
        reject(
          new SshError(
            ready ? "failed" : "unreachable",
            ready
              ? "the connection closed while the command ran"
              : "the connection closed before the handshake",
          ),
        ),
      ),
    );
    client.connect({
      host: request.endpoint.host,
      port: request.endpoint.port,
      username: request.user,
      agent: request.agent,
      hostVerifier: (key: Buffer): boolean => {
        hostKeyRefused = !request.hostKeys.some((accepted) => accepted.equals(key));
        request.onHostKey?.(key, !hostKeyRefused);
        return !hostKeyRefused;
      },
      algorithms: {
        serverHostKey: [
          ...new Set(request.hostKeyTypes.flatMap((type) => HOST_KEY_ALGORITHMS[type])),
        ],
      },
      // Our own timer bounds the whole run; ssh2's would only bound the handshake.
      readyTimeout: request.timeoutMs + 1000,
      tryKeyboard: false,
    });
  });
}

function collect(
  stream: ClientChannel,
  script: string,
  done: (result: SessionResult) => void,
): void {
  const stdout = new Output();
  const stderr = new Output();
  let code: number | null | undefined;
  let signal: string | undefined;
  stream.on("data", (chunk: Buffer) => stdout.add(chunk));
  stream.stderr.on("data", (chunk: Buffer) => stderr.add(chunk));
  stream.on("exit", (exitCode: number | null, exitSignal?: string) => {
    code = exitCode;
    signal = exitSignal;
  });
  stream.on("close", () =>
    done({ exitCode: exitCodeOf(code, signal), stdout: stdout.text(), stderr: stderr.text() }),
  );
  stream.end(script);
}
