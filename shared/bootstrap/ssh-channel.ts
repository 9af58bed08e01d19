import type { Config } from "../config/index.ts";
import { elapsedMs, faultCode, faultDetail, type Trace } from "./bootstrap-trace.ts";
import { generateEphemeralKey, type EphemeralKey } from "./ephemeral-key.ts";
import {
  AccessFault,
  type CommandResult,
  type HostChannel,
  type HostTarget,
  type RunOptions,
} from "./host-channel.ts";
import { probeHostCertificate } from "./host-key-probe.ts";
import type { KeySigner } from "./key-signer.ts";
import { certifiedKeyType, parseCertificateLine, verifyCertificate } from "./openssh-cert.ts";
import { resolveEndpoint, type SshEndpoint } from "./ssh-address.ts";
import { CertificateAgent } from "./ssh-cert-agent.ts";
import { SshError, toAccessFault } from "./ssh-errors.ts";
import {
  blobOfLine,
  fingerprint,
  parsePublicKeyLine,
  type KeyType,
  type SshPublicKey,
} from "./ssh-keys.ts";
import { runSession } from "./ssh-session.ts";

// The SSH HostChannel (DESIGN.md, "Bootstrap hosts that come up"). Each run: a new ed25519 key in
// memory; the signer (Vault) signs it for a few minutes; the host is verified (a host certificate
// from the host CA, fetched out of band by host-key-probe.ts, or a pinned key); ssh2 logs in with
// the certificate and runs the script; the key is dropped. Every failure is an AccessFault whose
// code the planner classifies; the signer's own faults pass through unchanged.

export type SshConfig = NonNullable<Config["bootstrap"]["ssh"]>;

export interface SshChannelOptions {
  ssh: SshConfig;
  signer: KeySigner;
  /**
   * The host's pinned public keys (OpenSSH lines) for hostKey mode `pinned`, e.g. what cloud-init
   * printed on its console; empty while none are known yet. Its AccessFaults pass through.
   */
  pinnedKeys?: (host: HostTarget) => Promise<string[]>;
  /** the clock that host certificates' validity is checked against (default: the system's) */
  now?: () => Date;
  /** a new key per run (default generateEphemeralKey; tests pass their own to observe it) */
  newKey?: () => EphemeralKey;
}

/** The host keys the session may accept, once verified. */
interface TrustedHost {
  keys: Buffer[];
  types: KeyType[];
  /** pinned mode: which key matched is known in the handshake; its step is traced there */
  pinnedSinceMs?: number;
}

export class SshChannel implements HostChannel {
  readonly #options: SshChannelOptions;

  constructor(options: SshChannelOptions) {
    if (options.ssh.hostKey.mode === "pinned" && !options.pinnedKeys)
      throw new TypeError("hostKey mode pinned needs a pinnedKeys source");
    this.#options = options;
  }

  /**
   * @throws AccessFault `ssh:*` (see SshFailure), `channel:bad-certificate` when the signer's
   *   answer is not for this run's key, and the signer's and pinnedKeys' own faults unchanged
   */
  async run(host: HostTarget, script: string, options: RunOptions): Promise<CommandResult> {
    const startedAt = performance.now();
    const remainingMs = () => Math.max(0, startedAt + options.timeoutMs - performance.now());
    const { ssh, signer } = this.#options;
    const endpoint = resolveEndpoint(host, ssh);
    const where = `SSH to host ${host.id} at ${endpoint.host}:${endpoint.port}`;

    const key = (this.#options.newKey ?? generateEphemeralKey)();
    const { trace } = options;
    const identity = await signer.signUserKey({
      publicKey: key.publicKeyLine,
      // The run's audit id as it is (ChannelBootstrap's names vor-power, the host and the instant),
      // so Vault's audit log and sshd's "Accepted publickey ... ID" line show the same string.
      keyId: options.runId,
      ...(trace === undefined ? {} : { trace }),
    });
    checkIdentity(identity, key, where);
    const login = { user: ssh.user, address: `${endpoint.host}:${endpoint.port}` };
    let step = "host-key";
    let stepStartedAt = performance.now();
    try {
      if (remainingMs() === 0)
        throw new SshError("timeout", `signing the key used all of ${options.timeoutMs} ms`);
      const trusted = await this.#trustedHost(host, endpoint, remainingMs(), trace);
      step = "ssh-login";
      stepStartedAt = performance.now();
      const result = await runSession({
        endpoint,
        user: ssh.user,
        agent: new CertificateAgent(identity, key),
        hostKeys: trusted.keys,
        hostKeyTypes: trusted.types,
        script,
        timeoutMs: remainingMs(),
        onHostKey: (presented, accepted) => {
          const facts = { mode: ssh.hostKey.mode, hostKey: fingerprint(presented) };
          if (trusted.pinnedSinceMs !== undefined)
            traceHostKey(trace, trusted.pinnedSinceMs, {
              ok: accepted,
              detail: `pinned: the host presented ${facts.hostKey}${accepted ? ", one of the pinned keys" : ", none of the pinned keys"}`,
              facts,
            });
          // mode ca: the session's key must be the certified one the probe verified
          else if (!accepted)
            traceHostKey(trace, stepStartedAt, {
              ok: false,
              detail: `ca: the session's host key ${facts.hostKey} is not the certified key the probe saw`,
              facts,
            });
        },
        onReady: () => {
          trace?.({
            step,
            outcome: "passed",
            code: "ok",
            durationMs: elapsedMs(stepStartedAt),
            detail: `logged in as ${ssh.user} at ${login.address} with the certificate`,
            facts: login,
          });
          step = "ssh-command";
        },
      });
      return { ...result, durationMs: Math.round(performance.now() - startedAt) };
    } catch (error) {
      const fault = error instanceof SshError ? toAccessFault(error, where) : error;
      // The host key's own failure was traced where it was decided (CA or pinned).
      if (step === "ssh-login" && faultCode(fault) !== "ssh:host-key-mismatch")
        trace?.({
          step,
          outcome: "failed",
          code: faultCode(fault),
          durationMs: elapsedMs(stepStartedAt),
          detail: faultDetail(fault),
          facts: login,
        });
      throw fault;
    }
  }

  /** The verified host keys; a failure is traced as step `host-key` before it is thrown. */
  async #trustedHost(
    host: HostTarget,
    endpoint: SshEndpoint,
    timeoutMs: number,
    trace: Trace | undefined,
  ): Promise<TrustedHost> {
    const startedAt = performance.now();
    const mode = this.#options.ssh.hostKey.mode;
    try {
      const trusted = await this.#verifiedHost(host, endpoint, timeoutMs);
      if (trusted.pinnedSinceMs === undefined)
        traceHostKey(trace, startedAt, {
          ok: true,
          detail: `ca: the host certificate for ${endpoint.host} is signed by the host CA ${trusted.caFingerprint ?? "?"}; host key ${fingerprint(trusted.keys[0] ?? Buffer.alloc(0))}`,
          facts: {
            mode,
            ca: trusted.caFingerprint ?? "",
            hostKey: fingerprint(trusted.keys[0] ?? Buffer.alloc(0)),
          },
        });
      return trusted;
    } catch (error) {
      const fault = error instanceof SshError ? toAccessFault(error, `host ${host.id}`) : error;
      traceHostKey(trace, startedAt, { ok: false, fault, facts: { mode } });
      throw error;
    }
  }

  async #verifiedHost(
    host: HostTarget,
    endpoint: SshEndpoint,
    timeoutMs: number,
  ): Promise<TrustedHost & { caFingerprint?: string }> {
    const { ssh, signer, pinnedKeys } = this.#options;
    if (ssh.hostKey.mode === "pinned") {
      const pinnedSinceMs = performance.now();
      const pinned = (await pinnedKeys?.(host)) ?? [];
      const keys = pinned.flatMap((line) => parsedOrNothing(line));
      // cloud-init prints the keys late in the first boot, and EC2 publishes the console output
      // some minutes after it on older instance types: until then the host is still booting.
      if (keys.length === 0)
        throw new SshError(
          "host-keys-pending",
          "no pinned host key is known for it yet (its console output shows none)",
        );
      return {
        keys: keys.map((k) => k.blob),
        types: [...new Set(keys.map((k) => k.type))],
        pinnedSinceMs,
      };
    }
    const caKeys = (await signer.hostCaKeys()).flatMap((line) => parsedOrNothing(line));
    if (caKeys.length === 0)
      throw new AccessFault(
        "vault:error",
        "the signer published no usable host CA key (an OpenSSH public key line)",
      );
    const probe = await probeHostCertificate(endpoint, { timeoutMs });
    const verdict = verifyCertificate(probe.certificate, {
      kind: "host",
      principal: endpoint.host,
      trustedCaKeys: caKeys.map((k) => k.blob),
      now: (this.#options.now ?? (() => new Date()))(),
    });
    if (!verdict.ok)
      throw new SshError(
        "host-cert-invalid",
        `its host certificate is not valid: ${verdict.reason}`,
      );
    return {
      keys: [probe.certificate.key.blob],
      types: [probe.certificate.key.type],
      caFingerprint: fingerprint(probe.certificate.signatureKey),
    };
  }
}

/** Step `host-key`: which key or CA matched, or why none did. */
function traceHostKey(
  trace: Trace | undefined,
  startedAt: number,
  verdict:
    | { ok: true; detail: string; facts: Record<string, string> }
    | { ok: false; fault?: unknown; detail?: string; facts: Record<string, string> },
): void {
  if (trace === undefined) return;
  const failed = !verdict.ok;
  const fault = failed ? verdict.fault : undefined;
  trace({
    step: "host-key",
    outcome: failed ? "failed" : "passed",
    code: failed ? (fault === undefined ? "ssh:host-key-mismatch" : faultCode(fault)) : "ok",
    durationMs: elapsedMs(startedAt),
    detail: verdict.detail ?? faultDetail(fault),
    facts: verdict.facts,
  });
}

function parsedOrNothing(line: string): SshPublicKey[] {
  try {
    return [parsePublicKeyLine(line)];
  } catch {
    return [];
  }
}

/**
 * The signer's answer must be a certificate for this run's key; a plain line of the same key is
 * passed on too (the server refuses it: only the CA's certificates get in). Anything else is the
 * signer's fault, not the host's.
 */
function checkIdentity(identity: string, key: EphemeralKey, where: string): void {
  const fault = (why: string) =>
    new AccessFault("channel:bad-certificate", `${where}: the signer's answer ${why}`);
  let type: string;
  try {
    type = blobOfLine(identity).type;
  } catch {
    throw fault("is not an OpenSSH key line");
  }
  if (!certifiedKeyType(type)) {
    if (!blobOfLine(identity).blob.equals(key.publicKeyBlob)) throw fault("is another key");
    return;
  }
  let certified: Buffer;
  try {
    certified = parseCertificateLine(identity).key.blob;
  } catch {
    throw fault("is a malformed certificate");
  }
  if (!certified.equals(key.publicKeyBlob)) throw fault("certifies another key");
}
