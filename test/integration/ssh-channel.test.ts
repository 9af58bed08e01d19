import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TraceEntry } from "../../shared/bootstrap/bootstrap-trace.ts";
import { ChannelBootstrap } from "../../shared/bootstrap/channel-bootstrap.ts";
import type { HostTarget } from "../../shared/bootstrap/host-channel.ts";
import type { KeySigner } from "../../shared/bootstrap/key-signer.ts";
import { parseCertificateLine } from "../../shared/bootstrap/openssh-cert.ts";
import { SshChannel, type SshConfig } from "../../shared/bootstrap/ssh-channel.ts";
import { VaultSigner, type VaultConfig } from "../../shared/bootstrap/vault-signer.ts";
import { MemoryStateStore } from "../../shared/state/memory-state-store.ts";
import {
  BAO_FIX,
  HOST_CA_MOUNT,
  HOST_PRINCIPALS,
  PRINCIPAL,
  SIGN_ROLE,
  USER_CA_MOUNT,
  fingerprintOf,
  openBaoInstalled,
  startOpenBao,
  type AppRoleName,
  type OpenBao,
} from "../support/openbao.ts";
import { missing, waitFor } from "../support/services.ts";
import { plannerConfig } from "../support/snapshot-builder.ts";
import {
  createTestUser,
  sshdUnavailable,
  startSshd,
  type Sshd,
  type TestUser,
} from "../support/sshd.ts";
import { createTestCa, type TestCa } from "../support/test-ca.ts";
import { faultOf } from "../support/access-fault.ts";

// The SSH channel end to end: a real OpenSSH sshd on a free loopback port that trusts only
// OpenBao's user CA (no authorized keys, no passwords) and presents a host certificate from
// OpenBao's host signer; the channel logs in with a key OpenBao signed a moment before (AppRole,
// inside the namespace `vor`) and runs a script. Every refusal is a named AccessFault. Hosts are
// reached through `address: tag:vor:ssh` holding 127.0.0.1:PORT: the private address below is
// never dialled.

const skip =
  (!openBaoInstalled() && missing("OpenBao (.venv/bin/bao)", BAO_FIX)) || sshdUnavailable();

const ADDRESS_TAG = "vor:ssh";
const TIMEOUT_MS = 15_000;

const hostAt = (sshd: Sshd, id = "i-0ssh000000000001"): HostTarget => ({
  id,
  pool: "compute",
  privateAddress: "172.31.7.9",
  tags: { "vor:pool": "compute", [ADDRESS_TAG]: `${sshd.host}:${sshd.port}` },
});

describe.skipIf(skip)("SshChannel against sshd and OpenBao", () => {
  let user: TestUser;
  let bao: OpenBao;
  let sshd: Sshd;
  let secretId: string;
  const cleanups: (() => Promise<void>)[] = [];

  const sshConfig = (overrides: Partial<SshConfig> = {}): SshConfig => ({
    user: user.name,
    port: 22,
    address: `tag:${ADDRESS_TAG}`,
    hostKey: { mode: "ca", mount: HOST_CA_MOUNT },
    ...overrides,
  });

  /** The VaultSigner the wiring builds, on the test server (a fresh secret id unless given). */
  const signerFor = (
    options: { role?: AppRoleName; vault?: Partial<VaultConfig>; secretId?: string } = {},
  ): VaultSigner => {
    const secret = options.secretId ?? secretId;
    return new VaultSigner({
      config: bao.vaultConfig(options.role ?? "signer", options.vault),
      hostCaMount: HOST_CA_MOUNT,
      secretId: () => Promise.resolve(secret),
    });
  };

  /** Signs for the login user (the principal sshd wants). */
  const userSign = (ttl = 5 * 60_000) => ({
    sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [user.name], ttl },
  });

  const channelWith = (signer: KeySigner, ssh: Partial<SshConfig> = {}, pinned?: string[]) =>
    new SshChannel({
      ssh: sshConfig(ssh),
      signer,
      ...(pinned === undefined ? {} : { pinnedKeys: () => Promise.resolve(pinned) }),
    });

  const run = (channel: SshChannel, target: HostTarget, script = "id -un", runId = "test") =>
    channel.run(target, script, { timeoutMs: TIMEOUT_MS, runId });

  beforeAll(async () => {
    user = await createTestUser();
    cleanups.push(() => user.remove());
    bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
    cleanups.push(() => bao.stop());
    sshd = await startSshd({
      userCaKey: bao.userCaPublicKey,
      user: user.name,
      hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
    });
    cleanups.push(() => sshd.stop());
    secretId = await bao.newSecretId();
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("logs in with a certificate OpenBao just signed and answers the script's exit code and output", async () => {
    const channel = channelWith(signerFor({ vault: userSign() }));

    const result = await run(
      channel,
      hostAt(sshd),
      "id -un\necho to-out\necho to-err >&2\nexit 3\n",
      "vor-power/i-0ssh000000000001/attempt-1",
    );

    expect(result).toMatchObject({
      exitCode: 3,
      stdout: `${user.name}\nto-out\n`,
      stderr: "to-err\n",
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    // sshd accepted a user certificate from OpenBao's CA, with the run's key id.
    await waitFor(
      () => Promise.resolve(sshd.log().includes("Accepted publickey")),
      5_000,
      "sshd's log line",
    );
    const accepted = sshd
      .log()
      .split("\n")
      .find((line) => line.includes("Accepted publickey"));
    expect(accepted).toContain(`for ${user.name} from 127.0.0.1`);
    expect(accepted).toContain("ED25519-CERT");
    expect(accepted).toContain("ID vor-power/i-0ssh000000000001/attempt-1");
    expect(accepted).toContain(`CA ED25519 ${fingerprintOf(bao.userCaPublicKey)}`);
  });

  it("runs each script over a new session with a new key, and stdin carries the script", async () => {
    const keys: string[] = [];
    const signer = signerFor({ vault: userSign() });
    const observing: KeySigner = {
      signUserKey: (request) => {
        keys.push(request.publicKey);
        return signer.signUserKey(request);
      },
      hostCaKeys: () => signer.hostCaKeys(),
    };
    const channel = channelWith(observing);

    const first = await run(
      channel,
      hostAt(sshd),
      // quotes and a command substitution reach sh intact: nothing is quoted into a command line
      'printf \'%s\' "it\'s \\"$(echo quoted)\\""',
    );
    const second = await run(channel, hostAt(sshd), "true");

    expect(first).toMatchObject({ exitCode: 0, stdout: `it's "quoted"`, stderr: "" });
    expect(second.exitCode).toBe(0);
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });

  describe("refusals, each a named AccessFault", () => {
    it("ssh:key-refused for an expired certificate", async () => {
      const signer = signerFor({ vault: userSign(1_000) });
      const issued: string[] = [];
      // Signs for one second, then hands the certificate over once it has expired.
      const expiring: KeySigner = {
        signUserKey: async (request) => {
          const certificate = await signer.signUserKey(request);
          issued.push(certificate);
          const expiresMs = Number(parseCertificateLine(certificate).validBefore) * 1000;
          await waitFor(
            () => Promise.resolve(Date.now() > expiresMs + 1_000),
            10_000,
            "the certificate to expire",
          );
          return certificate;
        },
        hostCaKeys: () => signer.hostCaKeys(),
      };

      const fault = await faultOf(() => run(channelWith(expiring), hostAt(sshd)));

      expect(fault.code).toBe("ssh:key-refused");
      expect(fault.message).toContain(`SSH to host i-0ssh000000000001 at 127.0.0.1:${sshd.port}`);
      // Neither the certificate nor the secret id reaches the fault, its causes included.
      const text = inspect(fault, { depth: Infinity, showHidden: true });
      expect(issued).toHaveLength(1);
      expect(text).not.toContain(issued[0]?.split(" ")[1]);
      expect(text).not.toContain(secretId);
      await waitFor(
        () => Promise.resolve(/Certificate invalid: expired/.test(sshd.log())),
        5_000,
        "sshd to log the expired certificate",
      );
    });

    it("ssh:key-refused for a certificate naming another principal", async () => {
      const signer = signerFor({
        vault: {
          sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [PRINCIPAL], ttl: 60_000 },
        },
      });

      const fault = await faultOf(() => run(channelWith(signer), hostAt(sshd)));

      expect(fault.code).toBe("ssh:key-refused");
      await waitFor(
        () =>
          Promise.resolve(/Certificate invalid: name is not a listed principal/.test(sshd.log())),
        5_000,
        "sshd to log the wrong principal",
      );
    });

    it("ssh:key-refused for a key nobody signed", async () => {
      const vault = signerFor({ vault: userSign() });
      const unsigned: KeySigner = {
        signUserKey: (request) => Promise.resolve(request.publicKey),
        hostCaKeys: () => vault.hostCaKeys(),
      };

      const fault = await faultOf(() => run(channelWith(unsigned), hostAt(sshd)));

      expect(fault.code).toBe("ssh:key-refused");
    });

    it("ssh:host-key-unknown for a host that presents no certificate", async () => {
      const plain = await startSshd({ userCaKey: bao.userCaPublicKey, user: user.name });
      try {
        const fault = await faultOf(() =>
          run(channelWith(signerFor({ vault: userSign() })), hostAt(plain)),
        );

        expect(fault.code).toBe("ssh:host-key-unknown");
        expect(fault.message).toMatch(/offers no host certificate/);
      } finally {
        await plain.stop();
      }
    });

    it("ssh:host-cert-invalid for a host certificate from another CA", async () => {
      const otherCa: TestCa = await createTestCa({ user: user.name });
      const forged = await startSshd({
        userCaKey: bao.userCaPublicKey,
        user: user.name,
        hostCertificate: (publicKey) =>
          otherCa.signHostKey(publicKey, { principals: HOST_PRINCIPALS }),
      });
      try {
        const fault = await faultOf(() =>
          run(channelWith(signerFor({ vault: userSign() })), hostAt(forged)),
        );

        expect(fault.code).toBe("ssh:host-cert-invalid");
        expect(fault.message).toMatch(/its host certificate is not valid/);
      } finally {
        await forged.stop();
        await otherCa.remove();
      }
    });

    it("hostKey mode pinned: the right pinned key gets in, a wrong one is ssh:host-key-mismatch", async () => {
      const otherCa = await createTestCa();
      try {
        const wrongKey = (await otherCa.newKeyFile("not-the-host")).publicKey;
        const signer = signerFor({ vault: userSign() });
        const pinned = { hostKey: { mode: "pinned" as const } };

        const right = await run(channelWith(signer, pinned, [sshd.hostKey]), hostAt(sshd));
        const wrong = await faultOf(() =>
          run(channelWith(signer, pinned, [wrongKey]), hostAt(sshd)),
        );
        const none = await faultOf(() => run(channelWith(signer, pinned, []), hostAt(sshd)));

        expect(right).toMatchObject({ exitCode: 0, stdout: `${user.name}\n` });
        expect(wrong.code).toBe("ssh:host-key-mismatch");
        expect(none.code).toBe("ssh:host-keys-pending");
      } finally {
        await otherCa.remove();
      }
    });
  });

  describe("the trace of each part (vor-power bootstrap --host)", () => {
    const traced = async (channel: SshChannel, target: HostTarget) => {
      const entries: TraceEntry[] = [];
      const outcome = await channel
        .run(target, "id -un", {
          timeoutMs: TIMEOUT_MS,
          runId: "vor-power/trace",
          trace: (entry) => entries.push(entry),
        })
        .then(
          () => "ran",
          (error: unknown) => (error instanceof Error ? error.message : "?"),
        );
      return { outcome, entries, steps: entries.map((e) => `${e.step}:${e.outcome}:${e.code}`) };
    };

    it("mode ca: login, signing, the CA that matched, the SSH login; no key or certificate", async () => {
      const { outcome, entries, steps } = await traced(
        channelWith(signerFor({ vault: userSign() })),
        hostAt(sshd),
      );

      expect(outcome).toBe("ran");
      expect(steps).toEqual([
        "vault-login:passed:ok",
        "vault-sign:passed:ok",
        "host-key:passed:ok",
        "ssh-login:passed:ok",
      ]);
      expect(entries[2]?.facts).toEqual({
        mode: "ca",
        ca: fingerprintOf(bao.hostCaPublicKey),
        hostKey: fingerprintOf(sshd.hostKey),
      });
      expect(entries[3]?.facts).toEqual({ user: user.name, address: `${sshd.host}:${sshd.port}` });
      const text = JSON.stringify(entries);
      expect(text).not.toContain(secretId);
      expect(text).not.toContain("cert-v01@openssh.com");
      expect(text).not.toContain(sshd.hostKey.split(" ")[1]);
    });

    it("mode pinned: names the key the host presented, matched or not; a mismatch logs in nothing", async () => {
      const otherCa = await createTestCa();
      try {
        const wrongKey = (await otherCa.newKeyFile("not-the-host")).publicKey;
        const signer = signerFor({ vault: userSign() });
        const pinned = { hostKey: { mode: "pinned" as const } };

        const right = await traced(channelWith(signer, pinned, [sshd.hostKey]), hostAt(sshd));
        const wrong = await traced(channelWith(signer, pinned, [wrongKey]), hostAt(sshd));

        expect(right.steps).toEqual([
          "vault-login:passed:ok",
          "vault-sign:passed:ok",
          "host-key:passed:ok",
          "ssh-login:passed:ok",
        ]);
        expect(right.entries[2]?.detail).toContain(
          `presented ${fingerprintOf(sshd.hostKey)}, one of the pinned keys`,
        );
        expect(wrong.steps).toEqual([
          "vault-sign:passed:ok",
          "host-key:failed:ssh:host-key-mismatch",
        ]);
        expect(wrong.entries[1]?.facts).toEqual({
          mode: "pinned",
          hostKey: fingerprintOf(sshd.hostKey),
        });
      } finally {
        await otherCa.remove();
      }
    });

    it("a refused certificate fails at ssh-login with ssh:key-refused", async () => {
      const signer = signerFor({
        vault: {
          sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [PRINCIPAL], ttl: 60_000 },
        },
      });

      const { steps } = await traced(channelWith(signer), hostAt(sshd));

      expect(steps).toEqual([
        "vault-login:passed:ok",
        "vault-sign:passed:ok",
        "host-key:passed:ok",
        "ssh-login:failed:ssh:key-refused",
      ]);
    });
  });

  describe("Vault's faults reach the bootstrap as named outside faults", () => {
    it("vault:sealed while OpenBao is sealed", async () => {
      const channel = channelWith(signerFor({ vault: userSign() }));
      await bao.seal();
      try {
        const fault = await faultOf(() => run(channel, hostAt(sshd)));

        expect(fault.code).toBe("vault:sealed");
      } finally {
        await bao.unseal();
      }
      expect((await run(channel, hostAt(sshd))).exitCode).toBe(0);
    });

    it("vault:denied when the AppRole's policy lacks the signing path", async () => {
      const secret = await bao.newSecretId({ role: "denied" });
      const channel = channelWith(
        signerFor({ role: "denied", secretId: secret, vault: userSign() }),
      );

      const fault = await faultOf(() => run(channel, hostAt(sshd)));

      expect(fault.code).toBe("vault:denied");
      expect(fault.message).not.toContain(secret);
    });

    it("vault:secret-id when a single-use secret id was used up", async () => {
      const once = await bao.newSecretId({ numUses: 1 });
      const first = channelWith(signerFor({ secretId: once, vault: userSign() }));
      const second = channelWith(signerFor({ secretId: once, vault: userSign() }));

      expect((await run(first, hostAt(sshd))).exitCode).toBe(0);
      const fault = await faultOf(() => run(second, hostAt(sshd)));

      expect(fault.code).toBe("vault:secret-id");
      expect(fault.message).not.toContain(once);
    });

    it("vault:unreachable once the Vault server has stopped", async () => {
      const other = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
      const signer = new VaultSigner({
        config: other.vaultConfig("signer", userSign()),
        hostCaMount: HOST_CA_MOUNT,
        secretId: () => Promise.resolve("unused"),
      });
      await other.stop();

      const fault = await faultOf(() => run(channelWith(signer), hostAt(sshd)));

      expect(fault.code).toBe("vault:unreachable");
    });
  });

  it("as the bootstrap step: proves access over the channel and records a pass for the planner", async () => {
    const store = new MemoryStateStore();
    const target = hostAt(sshd, "i-0ssh0000000000b1");
    const now = new Date();
    const step = new ChannelBootstrap({
      config: plannerConfig(),
      store,
      compute: {
        listHosts: () =>
          Promise.resolve([
            {
              id: target.id,
              cloudState: "running" as const,
              address: "172.31.7.9",
              tags: { ...target.tags },
            },
          ]),
      },
      channelFor: () => channelWith(signerFor({ vault: userSign() })),
      checks: [],
      owner: "ssh-channel-test",
      log: () => undefined,
    });

    await step.begin("compute", target.id, { reference: false }, now);

    expect((await store.readPool("compute")).bootstrapResults[target.id]).toEqual([
      expect.objectContaining({ outcome: "passed", step: "all", code: "ok" }),
    ]);
  });
});
